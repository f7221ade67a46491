"""The recordings group of an SLO: error ratios over its windows, the events of its tiers'
short windows (the ``min_events`` guard) and the meta ratios."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from slo_service.domain.alert_settings import AlertSettings
from slo_service.domain.burn import BURN_WINDOWS, Tier
from slo_service.domain.sli import SliSpec
from slo_service.integrations.prometheus_rules.common import (
    Group,
    Rule,
    alerting_tiers,
    guarded,
    identity,
    own_labels,
    period_of,
)
from slo_service.integrations.prometheus_rules.labels import NATIVE, LabelSet
from slo_service.integrations.prometheus_rules.promql import (
    duration,
    error_ratio,
    events_selector,
    increase,
    number,
)
from slo_service.models import SLO

ERROR_RATIO = "slo:sli_error:ratio_rate{window}"
EVENTS = "slo:sli_events:count{window}"


def _windows(slo: SLO, tiers: Iterable[Tier]) -> list[timedelta]:
    tier_windows = {w for tier in tiers for w in (tier.long_window, tier.short_window)}
    return sorted({*BURN_WINDOWS.values(), *tier_windows, period_of(slo)})


@dataclass(frozen=True)
class Labels:
    """An SLO's labels on its recordings: who it is, its own (``own_labels``), and the name
    of the window's label."""

    identity: dict[str, str]
    own: dict[str, str]
    window: str = NATIVE.window


def _windowed(record: str, expr: Callable[[str], str], length: timedelta, labels: Labels) -> Rule:
    """A recording over one window; its labels are the SLO's, and the window's
    (``slo_window`` or ``sloth_window``)."""
    window = duration(length)
    return {
        "record": record.format(window=window),
        "expr": expr(window),
        "labels": {**labels.identity, labels.window: window, **labels.own},
    }


def recordings(
    slo: SLO, sli: SliSpec, settings: AlertSettings, label_set: LabelSet = NATIVE
) -> Group:
    """The recordings group: error ratios, the guard's event counts, the meta ratios; labelled
    with ``label_set``'s names."""
    labels = Labels(identity(slo, label_set), own_labels(slo, label_set), label_set.window)
    tiers = alerting_tiers(settings)
    rules = [
        _windowed(ERROR_RATIO, partial(error_ratio, sli), w, labels) for w in _windows(slo, tiers)
    ]
    total = events_selector(sli)
    if total is not None and guarded(sli, settings):
        rules += [
            _windowed(EVENTS, partial(increase, total), w, labels)
            for w in sorted({tier.short_window for tier in tiers})
        ]
    meta = {
        "slo:objective:ratio": number(slo.objective),
        "slo:error_budget:ratio": number(1 - slo.objective),
        "slo:time_period:days": number(period_of(slo) / timedelta(days=1)),
    }
    plain = {**labels.identity, **labels.own}
    rules += [{"record": r, "expr": f"vector({v})", "labels": plain} for r, v in meta.items()]
    return {"name": f"slo-service-{slo.service}-{slo.name}-sli-recordings", "rules": rules}
