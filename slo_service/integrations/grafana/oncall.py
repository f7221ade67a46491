"""The on-call dashboard (``slo-service-oncall``): what burns now, over 6 hours, for the
on-call: the golden signals of the models and the burn-rate alerts.

Rows, top to bottom: the headline (worst error rate and p99 latency, QPS, pages and alerts
firing, frozen models); error rate and p99 latency; QPS and burn rates; the firing alerts and
each SLO's budget left. Deploys show as annotations.
"""

from slo_service.integrations.grafana.colours import (
    BUDGET,
    BURN_RATE,
    ERROR_RATE,
    LATENCY,
    NONE_BAD,
    NONE_RISKY,
    TRAFFIC,
)
from slo_service.integrations.grafana.layout import TAG, Row, dashboard, deploy_annotation
from slo_service.integrations.grafana.panels import Json, bargauge, stat, table, target, timeseries
from slo_service.integrations.grafana.promql import (
    MODEL_VERSION,
    SLO_LABELS,
    error_ratio,
    p99,
    per_slo,
    rate,
)

# The labels of one burn-rate alert: its SLO, severity and windows.
_FIRING_BY = f"{SLO_LABELS}, severity, long_window, short_window"


def oncall() -> Json:
    """What burns now, for the on-call: the golden signals of the models and the alerts."""
    return dashboard(
        uid=f"{TAG}-oncall",
        title="slo-service: on-call",
        description="Error rate, p99 latency, QPS and firing burn-rate alerts of the ML models.",
        time_from="now-6h",
        refresh="30s",
        rows=[_headline(), _signals(), _traffic_and_burn(), _alerts_and_budgets()],
        annotations=[deploy_annotation()],
    )


def _headline() -> Row:
    """The top row: the worst error rate and latency, the QPS, and what fires or is frozen."""
    return 4, (*_signal_cells(), *_alert_cells())


def _signal_cells() -> tuple[tuple[int, Json], ...]:
    """The worst model's error rate and p99 latency, and the predictions per second."""
    return (
        (
            4,
            stat(
                "Error rate (worst model)",
                "The highest share of failed predictions among the selected models, over "
                "the last 5 minutes.",
                f"max(\n{error_ratio('model_name', '5m')}\n)",
                unit="percentunit",
                steps=ERROR_RATE,
            ),
        ),
        (
            4,
            stat(
                "p99 latency (worst model)",
                "The highest 99th percentile of prediction latency among the selected models, "
                "over the last 5 minutes.",
                f"max({p99('le, model_name', '5m')})",
                unit="s",
                steps=LATENCY,
            ),
        ),
        (
            4,
            stat(
                "QPS",
                "Predictions per second of the selected models and versions (5 minutes).",
                f"sum({rate(MODEL_VERSION, '5m')})",
                unit="reqps",
                steps=TRAFFIC,
            ),
        ),
    )


def _alert_cells() -> tuple[tuple[int, Json], ...]:
    """The pages and alerts firing, and the models whose deploys are frozen."""
    pages = per_slo("slo_alert_firing", ',severity="page"', _FIRING_BY)
    return (
        (
            4,
            stat(
                "Pages firing",
                "Burn-rate alerts of severity page firing now.",
                f"sum({pages}) or vector(0)",
                unit="none",
                steps=NONE_BAD,
            ),
        ),
        (
            4,
            stat(
                "Alerts firing",
                "Burn-rate alerts of every severity firing now.",
                f"sum({per_slo('slo_alert_firing', by=_FIRING_BY)}) or vector(0)",
                unit="none",
                steps=NONE_RISKY,
            ),
        ),
        (
            4,
            stat(
                "Models frozen",
                "Models whose deploys are frozen, by an exhausted budget or by hand.",
                f"count({per_slo('slo_service_frozen', by='service')} > 0) or vector(0)",
                unit="none",
                steps=NONE_BAD,
            ),
        ),
    )


def _signals() -> Row:
    """Error rate and p99 latency of each model over time."""
    errors = timeseries(
        "Error rate",
        'Share of failed predictions (status="error") of each model.',
        [target(error_ratio("model_name", "$__rate_interval"), "{{model_name}}")],
        unit="percentunit",
        steps=ERROR_RATE,
        low=0,
        show_thresholds="line+area",
    )
    latency = timeseries(
        "p99 latency",
        "99th percentile of the prediction latency of each model.",
        [target(p99("le, model_name", "$__rate_interval"), "{{model_name}}")],
        unit="s",
        steps=LATENCY,
        low=0,
        show_thresholds="line+area",
    )
    return 8, ((12, errors), (12, latency))


def _traffic_and_burn() -> Row:
    """Predictions per second of each version, and each SLO's burn rates."""
    qps = timeseries(
        "QPS",
        "Predictions per second of each model and version.",
        [
            target(
                f"sum by (model_name, model_version) ({rate(MODEL_VERSION, '$__rate_interval')})",
                "{{model_name}} {{model_version}}",
            )
        ],
        unit="reqps",
        steps=TRAFFIC,
        low=0,
        show_thresholds="off",
    )
    burn = timeseries(
        "Burn rates",
        "Burn rate of each SLO over the windows of the page tiers; 14.4 and 6 page at a "
        "30-day period (with the short window).",
        [
            target(
                per_slo("slo_burn_rate", ',window=~"5m|30m|1h|6h"', f"{SLO_LABELS}, window"),
                "{{service}} / {{slo}} {{window}}",
            )
        ],
        unit="none",
        steps=BURN_RATE,
        low=0,
        show_thresholds="dashed",
    )
    return 8, ((12, qps), (12, burn))


def _alerts_and_budgets() -> Row:
    """The burn-rate alerts firing now, and each SLO's budget left."""
    alerts = table(
        "Firing alerts",
        "Every burn-rate tier firing now, by SLO.",
        [
            target(
                f"{per_slo('slo_alert_firing', by=_FIRING_BY)} == 1",
                ref="A",
                instant=True,
                table=True,
            )
        ],
        unit="none",
        steps=NONE_BAD,
        rename={
            "service": "Model",
            "slo": "SLO",
            "kind": "Kind",
            "severity": "Severity",
            "long_window": "Long window",
            "short_window": "Short window",
        },
        hide=["Value"],
        sort_by="Severity",
    )
    budgets = bargauge(
        "Error budget left",
        "Fraction of each SLO's error budget left now (an overspent budget shows empty).",
        f"clamp_min({per_slo('slo_error_budget_remaining')}, 0)",
        "{{service}} / {{slo}}",
        unit="percentunit",
        steps=BUDGET,
        low=0,
        high=1,
    )
    return 8, ((12, alerts), (12, budgets))
