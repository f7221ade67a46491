"""Grafana dashboards of the SLOs and the ML metrics, one per audience, as plain dicts in
Grafana's dashboard JSON model (schema version 39: Grafana 10.3 and later).

- executive: SLA compliance and error budgets over 30 days (7 to 30 days by the time picker);
- ml: accuracy, drift and the freshness of the features and of the model, over 7 days;
- oncall: error rate, p99 latency, QPS and firing alerts over 6 hours, stats in the top row.

Every dashboard has three template variables: ``datasource`` (a Prometheus), ``model`` (the
``model_name`` label of ``ml_predictions_total``) and ``version`` (its ``model_version``). The
service's own gauges (``/metrics``) name the model in their ``service`` label, which is the
model's name unless an SLO says otherwise (kinds.py), so ``$model`` filters them with
``service=~"$model"``. Each replica of slo-service exports the same SLO gauges: the panels take
``max by`` the SLO's labels so that replicas do not count twice.

The builders are pure (no I/O): ``dashboards()`` gives every dashboard by file stem, and
``render()`` the JSON text that ``slo-service dashboards export`` writes.
"""

import json
from collections.abc import Callable, Sequence
from typing import Any

Json = dict[str, Any]

SCHEMA_VERSION = 39
COLUMNS = 24
DATASOURCE: Json = {"type": "prometheus", "uid": "${datasource}"}
TAG = "slo-service"

# Selectors of the template variables.
MODEL = 'model_name=~"$model"'
MODEL_VERSION = 'model_name=~"$model",model_version=~"$version"'
SERVICE = 'service=~"$model"'
ML_KINDS = "accuracy|drift|data_freshness|model_freshness"

PREDICTIONS = "ml_predictions_total"
LATENCY_BUCKETS = "ml_prediction_duration_seconds_bucket"
ACCURACY = "ml_model_accuracy"
IS_LATEST = "ml_model_is_latest"
DEPLOYED_AT = "ml_model_deployed_timestamp_seconds"
FEATURES_UPDATED_AT = "ml_feature_last_updated_timestamp_seconds"
PSI = "ml_feature_psi"

# Grafana colours a value with the highest step at or below it; the gate's boundaries are
# inclusive the other way (spent when remaining <= 0, at risk when <= 0.25), so the steps sit
# just above them.
_ABOVE = 1e-9
_SLO_LABELS = "service, slo, kind"

Steps = tuple[str, tuple[tuple[float, str], ...]]


def _steps(base: str, *marks: tuple[float, str]) -> Steps:
    return base, marks


BUDGET = _steps("red", (_ABOVE, "orange"), (0.25 + _ABOVE, "green"))
COMPLIANCE = _steps("red", (0.9, "orange"), (1.0, "green"))
AVAILABILITY = _steps("red", (0.99, "orange"), (0.999, "green"))
ERROR_RATE = _steps("green", (0.001, "orange"), (0.01, "red"))
LATENCY = _steps("green", (0.5, "orange"), (1.0, "red"))
TRAFFIC = _steps("red", (0.001, "green"))  # no traffic at all is an outage too
BURN_RATE = _steps("green", (6.0, "orange"), (14.4, "red"))  # the page tiers at 30 days
ACCURACY_STEPS = _steps("red", (0.8, "orange"), (0.9, "green"))
DRIFT = _steps("green", (0.1, "orange"), (0.2, "red"))  # PSI: stable, moderate, significant
FEATURE_AGE = _steps("green", (900.0, "orange"), (1800.0, "red"))  # data_freshness: 30 min
MODEL_AGE = _steps("green", (7 * 86400.0, "orange"), (30 * 86400.0, "red"))
EVALUATION_AGE = _steps("green", (600.0, "orange"), (3600.0, "red"))
LATEST = _steps("red", (1.0, "green"))
NONE_BAD = _steps("green", (1.0, "red"))  # counts where any is bad
NONE_RISKY = _steps("green", (1.0, "orange"))
NEUTRAL = _steps("blue")


def thresholds(steps: Steps) -> Json:
    base, marks = steps
    return {
        "mode": "absolute",
        "steps": [{"color": base, "value": None}]
        + [{"color": color, "value": value} for value, color in marks],
    }


def per_slo(metric: str, extra: str = "", by: str = _SLO_LABELS) -> str:
    """``metric`` of the SLOs of ``$model``, once per SLO whatever the replicas."""
    return f"max by ({by}) ({metric}{{{SERVICE}{extra}}})"


def _rate(selector: str, window: str) -> str:
    return f"rate({PREDICTIONS}{{{selector}}}[{window}])"


def error_ratio(by: str, window: str, func: str = "rate") -> str:
    """Errors over all predictions of each ``by`` group; 0 (not nothing) without any error."""
    errors = f'{func}({PREDICTIONS}{{{MODEL_VERSION},status="error"}}[{window}])'
    every = f"{func}({PREDICTIONS}{{{MODEL_VERSION}}}[{window}])"
    return f"(sum by ({by}) ({errors}) or sum by ({by}) ({every}) * 0)\n/\nsum by ({by}) ({every})"


def p99(by: str, window: str) -> str:
    buckets = f"rate({LATENCY_BUCKETS}{{{MODEL_VERSION}}}[{window}])"
    return f"histogram_quantile(0.99, sum by ({by}) ({buckets}))"


def target(
    expr: str, legend: str = "", *, ref: str = "A", instant: bool = False, table: bool = False
) -> Json:
    return {
        "datasource": DATASOURCE,
        "editorMode": "code",
        "expr": expr,
        "format": "table" if table else "time_series",
        "instant": instant,
        "legendFormat": legend,
        "range": not instant,
        "refId": ref,
    }


def _field_config(
    unit: str,
    steps: Steps,
    *,
    custom: Json | None = None,
    color: str = "thresholds",
    extra: Json | None = None,
    overrides: Sequence[Json] = (),
) -> Json:
    defaults: Json = {
        "color": {"mode": color},
        "mappings": [],
        "thresholds": thresholds(steps),
        "unit": unit,
    }
    if custom is not None:
        defaults["custom"] = custom
    return {"defaults": defaults | (extra or {}), "overrides": list(overrides)}


def _panel(kind: str, title: str, description: str, targets: Sequence[Json]) -> Json:
    return {
        "datasource": DATASOURCE,
        "description": description,
        "targets": list(targets),
        "title": title,
        "type": kind,
    }


def _reduce() -> Json:
    return {"calcs": ["lastNotNull"], "fields": "", "values": False}


def stat(
    title: str,
    description: str,
    expr: str,
    *,
    unit: str,
    steps: Steps,
    mappings: Sequence[Json] = (),
    graph: bool = True,
) -> Json:
    panel = _panel("stat", title, description, [target(expr, title)])
    extra: Json = {"mappings": list(mappings)} if mappings else {}
    panel["fieldConfig"] = _field_config(unit, steps, extra=extra)
    panel["options"] = {
        "colorMode": "background",
        "graphMode": "area" if graph else "none",
        "justifyMode": "auto",
        "orientation": "auto",
        "reduceOptions": _reduce(),
        "showPercentChange": False,
        "textMode": "value",
        "wideLayout": True,
    }
    return panel


def gauge(
    title: str, description: str, expr: str, *, unit: str, steps: Steps, low: float, high: float
) -> Json:
    panel = _panel("gauge", title, description, [target(expr, title)])
    panel["fieldConfig"] = _field_config(unit, steps, extra={"max": high, "min": low})
    panel["options"] = {
        "minVizHeight": 75,
        "minVizWidth": 75,
        "orientation": "auto",
        "reduceOptions": _reduce(),
        "showThresholdLabels": False,
        "showThresholdMarkers": True,
        "sizing": "auto",
    }
    return panel


def timeseries(
    title: str,
    description: str,
    targets: Sequence[Json],
    *,
    unit: str,
    steps: Steps,
    low: float | None = None,
    high: float | None = None,
    show_thresholds: str = "dashed",
    stepped: bool = False,
    overrides: Sequence[Json] = (),
) -> Json:
    panel = _panel("timeseries", title, description, targets)
    custom = {
        "axisBorderShow": False,
        "axisPlacement": "auto",
        "drawStyle": "line",
        "fillOpacity": 0,
        "lineInterpolation": "stepAfter" if stepped else "linear",
        "lineWidth": 1,
        "pointSize": 4,
        "showPoints": "never",
        "spanNulls": False,
        "thresholdsStyle": {"mode": show_thresholds},
    }
    limits = {key: value for key, value in (("min", low), ("max", high)) if value is not None}
    panel["fieldConfig"] = _field_config(
        unit, steps, custom=custom, color="palette-classic", extra=limits, overrides=overrides
    )
    panel["options"] = {
        "legend": {"calcs": [], "displayMode": "list", "placement": "bottom", "showLegend": True},
        "tooltip": {"mode": "multi", "sort": "desc"},
    }
    return panel


def bargauge(
    title: str,
    description: str,
    expr: str,
    legend: str,
    *,
    unit: str,
    steps: Steps,
    low: float,
    high: float,
) -> Json:
    panel = _panel("bargauge", title, description, [target(expr, legend, instant=True)])
    panel["fieldConfig"] = _field_config(unit, steps, extra={"max": high, "min": low})
    panel["options"] = {
        "displayMode": "gradient",
        "maxVizHeight": 300,
        "minVizHeight": 16,
        "minVizWidth": 8,
        "namePlacement": "left",
        "orientation": "horizontal",
        "reduceOptions": _reduce(),
        "showUnfilled": True,
        "sizing": "auto",
        "valueMode": "color",
    }
    return panel


def column(name: str, unit: str | None = None, steps: Steps | None = None) -> Json:
    """A table column's override: its unit, and cells coloured by ``steps``."""
    properties: list[Json] = []
    if unit is not None:
        properties.append({"id": "unit", "value": unit})
    if steps is not None:
        properties.append({"id": "thresholds", "value": thresholds(steps)})
        properties.append({"id": "custom.cellOptions", "value": {"type": "color-background"}})
    return {"matcher": {"id": "byName", "options": name}, "properties": properties}


def table(
    title: str,
    description: str,
    targets: Sequence[Json],
    *,
    unit: str,
    steps: Steps,
    rename: dict[str, str],
    hide: Sequence[str] = (),
    columns: Sequence[Json] = (),
    sort_by: str | None = None,
) -> Json:
    """Instant queries, one column each (``Value #<refId>``), merged into one row per series."""
    panel = _panel("table", title, description, targets)
    custom = {"align": "auto", "cellOptions": {"type": "auto"}, "inspect": False}
    panel["fieldConfig"] = _field_config(unit, steps, custom=custom, overrides=columns)
    panel["options"] = {
        "cellHeight": "sm",
        "footer": {"countRows": False, "fields": "", "reducer": ["sum"], "show": False},
        "showHeader": True,
        "sortBy": [{"desc": False, "displayName": sort_by}] if sort_by else [],
    }
    panel["transformations"] = [
        {"id": "merge", "options": {}},
        {
            "id": "organize",
            "options": {
                "excludeByName": {"Time": True, **dict.fromkeys(hide, True)},
                "indexByName": {},
                "renameByName": rename,
            },
        },
    ]
    return panel


Row = tuple[int, Sequence[tuple[int, Json]]]


def grid(rows: Sequence[Row]) -> list[Json]:
    """Lay rows of ``(width, panel)`` out top to bottom; gives each panel its id and gridPos."""
    panels: list[Json] = []
    y = 0
    for height, cells in rows:
        x = 0
        for width, panel in cells:
            if x + width > COLUMNS:
                raise ValueError(f"row at y={y} is wider than {COLUMNS} columns")
            gridpos = {"h": height, "w": width, "x": x, "y": y}
            panels.append({**panel, "gridPos": gridpos, "id": len(panels) + 1})
            x += width
        y += height
    return panels


def _query_variable(name: str, label: str, query: str, description: str) -> Json:
    return {
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "datasource": DATASOURCE,
        "definition": query,
        "description": description,
        "hide": 0,
        "includeAll": True,
        "label": label,
        "multi": True,
        "name": name,
        "options": [],
        "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "refresh": 2,  # on time range change: new models and versions appear
        "regex": "",
        "skipUrlSync": False,
        "sort": 1,
        "type": "query",
    }


def variables() -> list[Json]:
    return [
        {
            "current": {},
            "description": "The Prometheus that scrapes the models and slo-service's /metrics.",
            "hide": 0,
            "includeAll": False,
            "label": "Data source",
            "multi": False,
            "name": "datasource",
            "options": [],
            "query": "prometheus",
            "refresh": 1,
            "regex": "",
            "skipUrlSync": False,
            "type": "datasource",
        },
        _query_variable(
            "model",
            "Model",
            f"label_values({PREDICTIONS}, model_name)",
            "model_name of the predictions; the service of the SLOs.",
        ),
        _query_variable(
            "version",
            "Version",
            f"label_values({PREDICTIONS}{{{MODEL}}}, model_version)",
            "model_version of the predictions of the selected models.",
        ),
    ]


def _builtin_annotation() -> Json:
    return {
        "builtIn": 1,
        "datasource": {"type": "grafana", "uid": "-- Grafana --"},
        "enable": True,
        "hide": True,
        "iconColor": "rgba(0, 211, 255, 1)",
        "name": "Annotations & Alerts",
        "type": "dashboard",
    }


def deploy_annotation() -> Json:
    """A mark where a model's deployed timestamp changes (one per 5-minute step)."""
    return {
        "datasource": DATASOURCE,
        "enable": True,
        "expr": f"max by (model_name) (changes({DEPLOYED_AT}{{{MODEL}}}[5m])) > 0",
        "iconColor": "purple",
        "name": "Deploys",
        "step": "5m",
        "tagKeys": "model_name",
        "textFormat": "{{model_name}} deployed",
        "titleFormat": "Deploy",
        "useValueForTime": False,
    }


def dashboard(
    *,
    uid: str,
    title: str,
    description: str,
    time_from: str,
    refresh: str,
    rows: Sequence[Row],
    annotations: Sequence[Json] = (),
) -> Json:
    return {
        "annotations": {"list": [_builtin_annotation(), *annotations]},
        "description": description,
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": [
            {
                "asDropdown": False,
                "icon": "external link",
                "includeVars": True,
                "keepTime": False,
                "tags": [TAG],
                "targetBlank": False,
                "title": "slo-service",
                "type": "dashboards",
            }
        ],
        "liveNow": False,
        "panels": grid(rows),
        "refresh": refresh,
        "schemaVersion": SCHEMA_VERSION,
        "tags": [TAG, uid.removeprefix(f"{TAG}-")],
        "templating": {"list": variables()},
        "time": {"from": time_from, "to": "now"},
        "timepicker": {},
        "timezone": "",
        "title": title,
        "uid": uid,
        "version": 1,
        "weekStart": "",
    }


def executive() -> Json:
    """SLA compliance and error budgets, for executives and PMs: readable in 5 seconds."""
    remaining = per_slo("slo_error_budget_remaining")
    meets = f"{per_slo('slo_sli')} >= bool {per_slo('slo_objective')}"
    top = (
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
                f"count({remaining} > 0.25) or vector(0)",
                unit="none",
                steps=_steps("green"),
            ),
        ),
        (
            4,
            stat(
                "SLOs at risk",
                "SLOs with at most 25% of their error budget left: deploys get a warning.",
                f"count(({remaining} > 0) <= 0.25) or vector(0)",
                unit="none",
                steps=NONE_RISKY,
            ),
        ),
        (
            4,
            stat(
                "SLOs breached",
                "SLOs whose error budget is spent (0 or less left).",
                f"count({remaining} <= 0) or vector(0)",
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
                f"min({remaining})",
                unit="percentunit",
                steps=BUDGET,
            ),
        ),
    )
    slo_table = table(
        "SLOs",
        "Every SLO of the selected models: its objective, its SLI over its window and the "
        "error budget left (red: spent, amber: 25% or less).",
        [
            target(per_slo("slo_objective"), ref="A", instant=True, table=True),
            target(per_slo("slo_sli"), ref="B", instant=True, table=True),
            target(remaining, ref="C", instant=True, table=True),
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
    budget_bars = bargauge(
        "Error budget left",
        "Fraction of each SLO's error budget left now (an overspent budget shows empty).",
        f"clamp_min({remaining}, 0)",
        "{{service}} / {{slo}}",
        unit="percentunit",
        steps=BUDGET,
        low=0,
        high=1,
    )
    budget_history = timeseries(
        "Error budget left over time",
        "Each SLO's error budget left at each evaluation; negative when overspent.",
        [target(remaining, "{{service}} / {{slo}}")],
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
    time_in_compliance = bargauge(
        "Time meeting the objective",
        "Share of the dashboard's time range (30 days by default) during which each SLO met "
        "its objective, sampled every 10 minutes.",
        f"avg_over_time(({meets})[$__range:10m])",
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
    return dashboard(
        uid=f"{TAG}-executive",
        title="slo-service: SLA compliance",
        description="SLA compliance and error budgets of the ML models, over 7 to 30 days.",
        time_from="now-30d",
        refresh="15m",
        rows=[
            (5, top),
            (10, ((14, slo_table), (10, budget_bars))),
            (9, ((12, budget_history), (12, sli_history))),
            (8, ((12, time_in_compliance), (12, availability))),
        ],
    )


def ml() -> Json:
    """Model quality and the health of its inputs, for the ML team."""
    ml_slos = f',kind=~"{ML_KINDS}"'
    # Accuracy may or may not carry the version: "$version|" also keeps series without it.
    accuracy = f'{ACCURACY}{{{MODEL},model_version=~"$version|"}}'
    psi = f"max by (model_name, feature_name) ({PSI}{{{MODEL}}})"
    feature_age = f"time() - max by (model_name) ({FEATURES_UPDATED_AT}{{{MODEL}}})"
    model_age = f"time() - max by (model_name) ({DEPLOYED_AT}{{{MODEL}}})"
    latest = [{"options": {"0": {"text": "stale"}, "1": {"text": "latest"}}, "type": "value"}]
    top = (
        (
            4,
            stat(
                "Lowest accuracy",
                "The lowest accuracy of the selected models and versions (red under 0.8, "
                "amber under 0.9: compare with each model's baseline).",
                f"min({accuracy})",
                unit="percentunit",
                steps=ACCURACY_STEPS,
            ),
        ),
        (
            4,
            stat(
                "Highest drift (PSI)",
                "The largest PSI among the features: under 0.1 stable, 0.1 to 0.2 moderate, "
                "over 0.2 significant.",
                f"max({PSI}{{{MODEL}}})",
                unit="none",
                steps=DRIFT,
            ),
        ),
        (
            4,
            stat(
                "Features drifting",
                "Features whose PSI is over 0.2.",
                f"count({psi} > 0.2) or vector(0)",
                unit="none",
                steps=NONE_BAD,
            ),
        ),
        (
            4,
            stat(
                "Oldest features",
                "Age of the least recently updated features (the data_freshness default "
                "allows 30 minutes).",
                f"time() - min({FEATURES_UPDATED_AT}{{{MODEL}}})",
                unit="s",
                steps=FEATURE_AGE,
            ),
        ),
        (
            4,
            stat(
                "Latest version serving",
                "Whether every selected model serves its latest version.",
                f"min({IS_LATEST}{{{MODEL}}})",
                unit="none",
                steps=LATEST,
                mappings=latest,
                graph=False,
            ),
        ),
        (
            4,
            stat(
                "Oldest deployed model",
                "Time since the least recently deployed model was deployed.",
                f"time() - min({DEPLOYED_AT}{{{MODEL}}})",
                unit="s",
                steps=MODEL_AGE,
            ),
        ),
    )
    accuracy_history = timeseries(
        "Accuracy",
        "Accuracy of each model (and version, when the gauge has it).",
        [target(accuracy, "{{model_name}} {{model_version}}")],
        unit="percentunit",
        steps=ACCURACY_STEPS,
        high=1,
        show_thresholds="line+area",
    )
    slis = timeseries(
        "SLIs of the ML SLOs",
        f"SLI over each SLO's window, for the SLOs of kind {ML_KINDS.replace('|', ', ')}.",
        [target(per_slo("slo_sli", ml_slos), "{{service}} / {{slo}}")],
        unit="percentunit",
        steps=NEUTRAL,
        high=1,
        show_thresholds="off",
    )
    drift_history = timeseries(
        "Drift (PSI) by feature",
        "PSI of each feature against its reference: 0.1 moderate, 0.2 significant.",
        [target(psi, "{{model_name}} / {{feature_name}}")],
        unit="none",
        steps=DRIFT,
        low=0,
        show_thresholds="line+area",
    )
    drift_now = bargauge(
        "Most drifted features now",
        "The 20 features with the highest PSI now.",
        f"topk(20, {psi})",
        "{{model_name}} / {{feature_name}}",
        unit="none",
        steps=DRIFT,
        low=0,
        high=0.5,
    )
    feature_history = timeseries(
        "Feature freshness",
        "Age of each model's most recently updated features.",
        [target(feature_age, "{{model_name}}")],
        unit="s",
        steps=FEATURE_AGE,
        low=0,
        show_thresholds="line+area",
    )
    feature_table = table(
        "Feature sources by age",
        "Every series of the feature-update gauge, with its age now (oldest first).",
        [target(f"time() - {FEATURES_UPDATED_AT}{{{MODEL}}}", ref="A", instant=True, table=True)],
        unit="s",
        steps=FEATURE_AGE,
        rename={"model_name": "Model", "Value": "Age"},
        hide=["__name__", "instance", "job"],
        columns=[column("Age", "s", FEATURE_AGE)],
        sort_by="Age",
    )
    model_age_history = timeseries(
        "Model age",
        "Time since each model was last deployed.",
        [target(model_age, "{{model_name}}")],
        unit="s",
        steps=MODEL_AGE,
        low=0,
    )
    latest_history = timeseries(
        "Serving the latest version",
        "1 while the model serves its latest version, 0 while an older one serves.",
        [target(f"min by (model_name) ({IS_LATEST}{{{MODEL}}})", "{{model_name}}")],
        unit="none",
        steps=LATEST,
        low=0,
        high=1,
        stepped=True,
        show_thresholds="area",
    )
    ml_budgets = bargauge(
        "Error budget left of the ML SLOs",
        "Fraction of the error budget left of the accuracy, drift and freshness SLOs.",
        f"clamp_min({per_slo('slo_error_budget_remaining', ml_slos)}, 0)",
        "{{service}} / {{slo}}",
        unit="percentunit",
        steps=BUDGET,
        low=0,
        high=1,
    )
    versions = timeseries(
        "Traffic by version",
        "Predictions per second of each model version: rollouts and rollbacks.",
        [
            target(
                f"sum by (model_name, model_version) ({_rate(MODEL_VERSION, '$__rate_interval')})",
                "{{model_name}} {{model_version}}",
            )
        ],
        unit="reqps",
        steps=TRAFFIC,
        low=0,
        show_thresholds="off",
    )
    return dashboard(
        uid=f"{TAG}-ml",
        title="slo-service: model quality",
        description="Accuracy, drift and the freshness of the features and models, for the "
        "ML team.",
        time_from="now-7d",
        refresh="5m",
        rows=[
            (5, top),
            (8, ((12, accuracy_history), (12, slis))),
            (8, ((12, drift_history), (12, drift_now))),
            (8, ((12, feature_history), (12, feature_table))),
            (8, ((12, model_age_history), (12, latest_history))),
            (8, ((12, ml_budgets), (12, versions))),
        ],
        annotations=[deploy_annotation()],
    )


def oncall() -> Json:
    """What burns now, for the on-call: the golden signals of the models and the alerts."""
    firing_by = f"{_SLO_LABELS}, severity, long_window, short_window"
    pages = per_slo("slo_alert_firing", ',severity="page"', firing_by)
    top = (
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
                f"sum({_rate(MODEL_VERSION, '5m')})",
                unit="reqps",
                steps=TRAFFIC,
            ),
        ),
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
                f"sum({per_slo('slo_alert_firing', by=firing_by)}) or vector(0)",
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
    qps = timeseries(
        "QPS",
        "Predictions per second of each model and version.",
        [
            target(
                f"sum by (model_name, model_version) ({_rate(MODEL_VERSION, '$__rate_interval')})",
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
                per_slo("slo_burn_rate", ',window=~"5m|30m|1h|6h"', f"{_SLO_LABELS}, window"),
                "{{service}} / {{slo}} {{window}}",
            )
        ],
        unit="none",
        steps=BURN_RATE,
        low=0,
        show_thresholds="dashed",
    )
    alerts = table(
        "Firing alerts",
        "Every burn-rate tier firing now, by SLO.",
        [
            target(
                f"{per_slo('slo_alert_firing', by=firing_by)} == 1",
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
    return dashboard(
        uid=f"{TAG}-oncall",
        title="slo-service: on-call",
        description="Error rate, p99 latency, QPS and firing burn-rate alerts of the ML models.",
        time_from="now-6h",
        refresh="30s",
        rows=[
            (4, top),
            (8, ((12, errors), (12, latency))),
            (8, ((12, qps), (12, burn))),
            (8, ((12, alerts), (12, budgets))),
        ],
        annotations=[deploy_annotation()],
    )


BUILDERS: dict[str, Callable[[], Json]] = {
    f"{TAG}-executive": executive,
    f"{TAG}-ml": ml,
    f"{TAG}-oncall": oncall,
}


def dashboards() -> dict[str, Json]:
    """Every dashboard by the stem of its file (its uid)."""
    return {name: build() for name, build in BUILDERS.items()}


def render(board: Json) -> str:
    """The dashboard as the exported file: sorted keys for stable diffs, a final newline."""
    return json.dumps(board, indent=2, sort_keys=True) + "\n"
