"""A whole dashboard around its rows of panels: the grid that places them, the template
variables (``datasource``, ``model``, ``version``), the annotations, the link to the other
dashboards (by their shared tag) and the dashboard's own keys.

Every dashboard has three template variables: ``datasource`` (a Prometheus), ``model`` (the
``model_name`` label of ``ml_predictions_total``) and ``version`` (its ``model_version``).
"""

from collections.abc import Sequence

from slo_service.integrations.grafana.panels import DATASOURCE, Json
from slo_service.integrations.grafana.promql import DEPLOYED_AT, MODEL, PREDICTIONS

SCHEMA_VERSION = 39
COLUMNS = 24
TAG = "slo-service"

# A row of panels: its height and its ``(width, panel)`` cells, left to right.
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
    """A multi-value variable of the label values that ``query`` gives, "All" at first."""
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
    """The template variables of every dashboard: ``datasource``, ``model``, ``version``."""
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
    """Grafana's own annotations and alerts, which every dashboard lists first."""
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
    """The dashboard of ``rows`` laid out by ``grid``, tagged and linked to the other
    dashboards of slo-service, with the shared variables."""
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
