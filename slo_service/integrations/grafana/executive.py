"""The executive dashboard (``slo-service-executive``): SLA compliance and error budgets over
30 days (7 to 30 days by the time picker), for executives and PMs: readable in 5 seconds.

Rows, top to bottom: the headline (the share of SLOs meeting their objective, the SLOs by
budget left, frozen models); every SLO with its budget now; budgets and SLIs over time; time
meeting the objective and successful predictions over the dashboard's range.
"""

from slo_service.integrations.grafana.colours import (
    AVAILABILITY,
    BUDGET,
    COMPLIANCE,
    EVALUATION_AGE,
    NEUTRAL,
    NONE_BAD,
    NONE_RISKY,
    steps,
)
from slo_service.integrations.grafana.layout import TAG, Row, dashboard
from slo_service.integrations.grafana.panels import (
    Json,
    bargauge,
    column,
    gauge,
    stat,
    table,
    target,
    timeseries,
)
from slo_service.integrations.grafana.promql import error_ratio, per_slo

# The error budget left of each SLO, and 1 for each SLO that meets its objective (else 0).
_REMAINING = per_slo("slo_error_budget_remaining")
_MEETS = f"{per_slo('slo_sli')} >= bool {per_slo('slo_objective')}"


def executive() -> Json:
    """SLA compliance and error budgets, for executives and PMs: readable in 5 seconds."""
    return dashboard(
        uid=f"{TAG}-executive",
        title="slo-service: SLA compliance",
        description="SLA compliance and error budgets of the ML models, over 7 to 30 days.",
        time_from="now-30d",
        refresh="15m",
        rows=[_headline(), _budgets_now(), _over_time(), _over_the_range()],
    )


def _headline() -> Row:
    """The top row: how many SLOs meet their objective and how their budgets stand."""
    return 5, (*_compliance_cells(), *_breach_cells())


def _compliance_cells() -> tuple[tuple[int, Json], ...]:
    """SLA compliance, and the SLOs healthy and at risk by their budget left."""
    return (
        (
            4,
            gauge(
                "SLA compliance",
                "Share of the SLOs whose SLI meets its objective over the SLO's own window "
                "(an SLO without data does not).",
                f"(count({per_slo('slo_sli')} >= {per_slo('slo_objective')}) or vector(0))\n"
                f"/\ncount({per_slo('slo_objective')})",
                unit="percentunit",
                steps=COMPLIANCE,
                low=0,
                high=1,
            ),
        ),
        (
            4,
            stat(
                "SLOs healthy",
                "SLOs with more than 25% of their error budget left.",
                f"count({_REMAINING} > 0.25) or vector(0)",
                unit="none",
                steps=steps("green"),
            ),
        ),
        (
            4,
            stat(
                "SLOs at risk",
                "SLOs with at most 25% of their error budget left: deploys get a warning.",
                f"count(({_REMAINING} > 0) <= 0.25) or vector(0)",
                unit="none",
                steps=NONE_RISKY,
            ),
        ),
    )


def _breach_cells() -> tuple[tuple[int, Json], ...]:
    """The SLOs breached, the models frozen and the lowest budget left."""
    return (
        (
            4,
            stat(
                "SLOs breached",
                "SLOs whose error budget is spent (0 or less left).",
                f"count({_REMAINING} <= 0) or vector(0)",
                unit="none",
                steps=NONE_BAD,
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
        (
            4,
            stat(
                "Lowest budget left",
                "The smallest fraction of error budget left among the SLOs; negative when "
                "overspent.",
                f"min({_REMAINING})",
                unit="percentunit",
                steps=BUDGET,
            ),
        ),
    )


def _budgets_now() -> Row:
    """Every SLO with its objective, SLI and budget left; each SLO's budget left as a bar."""
    budget_bars = bargauge(
        "Error budget left",
        "Fraction of each SLO's error budget left now (an overspent budget shows empty).",
        f"clamp_min({_REMAINING}, 0)",
        "{{service}} / {{slo}}",
        unit="percentunit",
        steps=BUDGET,
        low=0,
        high=1,
    )
    return 10, ((14, _slo_table()), (10, budget_bars))


def _slo_table() -> Json:
    """The table of the SLOs: objective, SLI, budget left and the age of the evaluation."""
    return table(
        "SLOs",
        "Every SLO of the selected models: its objective, its SLI over its window and the "
        "error budget left (red: spent, amber: 25% or less).",
        [
            target(per_slo("slo_objective"), ref="A", instant=True, table=True),
            target(per_slo("slo_sli"), ref="B", instant=True, table=True),
            target(_REMAINING, ref="C", instant=True, table=True),
            target(
                f"time() - {per_slo('slo_evaluated_timestamp_seconds')}",
                ref="D",
                instant=True,
                table=True,
            ),
        ],
        unit="percentunit",
        steps=BUDGET,
        rename={
            "service": "Model",
            "slo": "SLO",
            "kind": "Kind",
            "Value #A": "Objective",
            "Value #B": "SLI",
            "Value #C": "Budget left",
            "Value #D": "Evaluated",
        },
        columns=[
            column("Objective", "percentunit"),
            column("SLI", "percentunit"),
            column("Budget left", "percentunit", BUDGET),
            column("Evaluated", "s", EVALUATION_AGE),
        ],
        sort_by="Budget left",
    )


def _over_time() -> Row:
    """Each SLO's budget left, and its SLI against its objective, over time."""
    budget_history = timeseries(
        "Error budget left over time",
        "Each SLO's error budget left at each evaluation; negative when overspent.",
        [target(_REMAINING, "{{service}} / {{slo}}")],
        unit="percentunit",
        steps=BUDGET,
        high=1,
        show_thresholds="line+area",
    )
    sli_history = timeseries(
        "SLI and objective",
        "Each SLO's SLI over its window (solid) and its objective (dashed).",
        [
            target(per_slo("slo_sli"), "{{service}} / {{slo}}", ref="A"),
            target(per_slo("slo_objective"), "{{service}} / {{slo}} objective", ref="B"),
        ],
        unit="percentunit",
        steps=NEUTRAL,
        high=1,
        show_thresholds="off",
        overrides=[
            {
                "matcher": {"id": "byRegexp", "options": ".* objective$"},
                "properties": [
                    {"id": "custom.lineStyle", "value": {"dash": [10, 10], "fill": "dash"}}
                ],
            }
        ],
    )
    return 9, ((12, budget_history), (12, sli_history))


def _over_the_range() -> Row:
    """Over the dashboard's range: the time each SLO met its objective, and the predictions
    that succeeded per model and version."""
    time_in_compliance = bargauge(
        "Time meeting the objective",
        "Share of the dashboard's time range (30 days by default) during which each SLO met "
        "its objective, sampled every 10 minutes.",
        f"avg_over_time(({_MEETS})[$__range:10m])",
        "{{service}} / {{slo}}",
        unit="percentunit",
        steps=COMPLIANCE,
        low=0,
        high=1,
    )
    availability = bargauge(
        "Successful predictions by version",
        "Share of the predictions that did not fail, per model and version, over the "
        "dashboard's time range.",
        f"1 - (\n  {error_ratio('model_name, model_version', '$__range', 'increase')}\n)",
        "{{model_name}} {{model_version}}",
        unit="percentunit",
        steps=AVAILABILITY,
        low=0,
        high=1,
    )
    return 8, ((12, time_in_compliance), (12, availability))
