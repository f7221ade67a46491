"""Grafana's panels as plain dicts (dashboard JSON model, schema 39): a query ``target``, and
the panel kinds the dashboards use (``stat``, ``gauge``, ``timeseries``, ``bargauge``,
``table`` with its ``column`` overrides), each coloured by a ``colours.Steps``.

Every panel and query reads the data source of the ``datasource`` template variable. The
panels have no ``gridPos`` or ``id``: ``layout.grid`` gives them when it lays the rows out.
"""

from collections.abc import Sequence
from typing import Any

from slo_service.integrations.grafana.colours import Steps

Json = dict[str, Any]

DATASOURCE: Json = {"type": "prometheus", "uid": "${datasource}"}


def thresholds(steps: Steps) -> Json:
    """``steps`` as Grafana's absolute thresholds (the base colour from minus infinity)."""
    base, marks = steps
    return {
        "mode": "absolute",
        "steps": [{"color": base, "value": None}]
        + [{"color": color, "value": value} for value, color in marks],
    }


def target(
    expr: str, legend: str = "", *, ref: str = "A", instant: bool = False, table: bool = False
) -> Json:
    """One PromQL query of a panel: a range query by default, ``instant`` for the value now,
    ``table`` for one row per series (table panels)."""
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
    """A panel's ``fieldConfig``: unit and colours, plus the kind's ``custom`` and ``extra``."""
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
    """The keys every panel kind has."""
    return {
        "datasource": DATASOURCE,
        "description": description,
        "targets": list(targets),
        "title": title,
        "type": kind,
    }


def _reduce() -> Json:
    """Show the last value that is not null (a gap in the data does not blank the panel)."""
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
    """One big number on a coloured background, with its history behind it unless not
    ``graph``; ``mappings`` turn values into words."""
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
    """One value on a dial from ``low`` to ``high``."""
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
    """Lines over time, one per series; ``show_thresholds`` draws the colour steps (``off``,
    ``dashed``, ``line+area``, ``area``); ``stepped`` for values that jump (0 or 1)."""
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
    """One horizontal bar per series, from ``low`` to ``high``, of its value now."""
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
