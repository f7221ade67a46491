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

The modules, from the bottom up: ``promql`` (metric names, the variables' selectors, the
shared expressions), ``colours`` (the colour steps of values), ``panels`` (a query and each
kind of panel), ``layout`` (the grid, the variables, the annotations and the dashboard around
its rows), then one module per dashboard (``executive``, ``ml``, ``oncall``) with a function
per row of panels. This package holds their registry and imports nothing else of the service.
"""

import json
from collections.abc import Callable

from slo_service.integrations.grafana import executive, ml, oncall
from slo_service.integrations.grafana.layout import COLUMNS, TAG
from slo_service.integrations.grafana.panels import Json

__all__ = ["BUILDERS", "COLUMNS", "dashboards", "render"]

BUILDERS: dict[str, Callable[[], Json]] = {
    f"{TAG}-executive": executive.executive,
    f"{TAG}-ml": ml.ml,
    f"{TAG}-oncall": oncall.oncall,
}


def dashboards() -> dict[str, Json]:
    """Every dashboard by the stem of its file (its uid)."""
    return {name: build() for name, build in BUILDERS.items()}


def render(board: Json) -> str:
    """The dashboard as the exported file: sorted keys for stable diffs, a final newline."""
    return json.dumps(board, indent=2, sort_keys=True) + "\n"
