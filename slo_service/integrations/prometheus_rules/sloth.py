"""The recordings Sloth writes and ours lack, which its Grafana dashboards read
(``rules export --labels sloth``); they follow the recordings group's own, which they read.

Per SLO, labelled like the meta recordings (``sloth_id``, ``sloth_service``, ``sloth_slo``
and the SLO's labels), with Sloth's expressions:

- ``slo:current_burn_rate:ratio``: the error ratio over the short window of the fastest page
  tier (Sloth's "page quick" tier: 5m for a 30d SLO, 1m for a 7d SLO's scaled tiers; 5m when
  the SLO has no page tier) divided by ``slo:error_budget:ratio``; like Sloth's, it keeps the
  ratio's ``sloth_window``.
- ``slo:period_burn_rate:ratio``: the same over the SLO's own window (30d for ``month``).
- ``slo:period_error_budget_remaining:ratio``: ``1 - slo:period_burn_rate:ratio``, the share of
  the window's budget left (below 0 once it is spent).
- ``sloth_slo_info``: 1, with ``sloth_objective`` (the objective in percent, as Sloth writes
  it: ``99.9``), ``sloth_version`` (slo-service's), ``sloth_mode`` (``slo-service``) and
  ``sloth_spec`` (``slo-service/v1``).
"""

from datetime import timedelta

from slo_service import __version__
from slo_service.domain.alert_settings import AlertSettings
from slo_service.integrations.prometheus_rules.common import (
    Rule,
    alerting_tiers,
    identity,
    own_labels,
    period_of,
)
from slo_service.integrations.prometheus_rules.labels import SLOTH
from slo_service.integrations.prometheus_rules.promql import duration, number
from slo_service.integrations.prometheus_rules.recordings import ERROR_RATIO
from slo_service.models import SLO

CURRENT_BURN_RATE = "slo:current_burn_rate:ratio"
PERIOD_BURN_RATE = "slo:period_burn_rate:ratio"
PERIOD_BUDGET_REMAINING = "slo:period_error_budget_remaining:ratio"
INFO = "sloth_slo_info"
ERROR_BUDGET = "slo:error_budget:ratio"
# Without a page tier, the current burn rate is over the shortest window always recorded.
DEFAULT_CURRENT_WINDOW = timedelta(minutes=5)
MODE = "slo-service"
SPEC = "slo-service/v1"


def current_window(settings: AlertSettings) -> timedelta:
    """The window of the current burn rate: the short window of the fastest page tier."""
    pages = [tier for tier in alerting_tiers(settings) if tier.severity == "page"]
    if not pages:
        return DEFAULT_CURRENT_WINDOW
    return min(pages, key=lambda tier: (tier.long_window, tier.short_window)).short_window


def _burn_rate(slo: SLO, window: timedelta) -> str:
    """The error ratio over ``window`` divided by the error budget, matched as Sloth does."""
    matchers = _matchers(slo)
    ratio = ERROR_RATIO.format(window=duration(window))
    on = f"on({SLOTH.id}, {SLOTH.slo}, {SLOTH.service})"
    return f"{ratio}{matchers}\n/ {on} group_left\n{ERROR_BUDGET}{matchers}"


def _matchers(slo: SLO) -> str:
    pairs = identity(slo, SLOTH)
    return "{" + ",".join(f'{name}="{value}"' for name, value in pairs.items()) + "}"


def sloth_recordings(slo: SLO, settings: AlertSettings) -> list[Rule]:
    """Sloth's burn-rate, remaining-budget and info recordings of the SLO."""
    labels = {**identity(slo, SLOTH), **own_labels(slo, SLOTH)}
    info = {
        **labels,
        "sloth_objective": number(slo.objective * 100),
        "sloth_version": __version__,
        "sloth_mode": MODE,
        "sloth_spec": SPEC,
    }
    return [
        {
            "record": CURRENT_BURN_RATE,
            "expr": _burn_rate(slo, current_window(settings)),
            "labels": labels,
        },
        {"record": PERIOD_BURN_RATE, "expr": _burn_rate(slo, period_of(slo)), "labels": labels},
        {
            "record": PERIOD_BUDGET_REMAINING,
            "expr": f"1 - {PERIOD_BURN_RATE}{_matchers(slo)}",
            "labels": labels,
        },
        {"record": INFO, "expr": "vector(1)", "labels": info},
    ]
