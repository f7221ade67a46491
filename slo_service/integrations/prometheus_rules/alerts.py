"""The alerts group of an SLO: a burn-rate alert per severity, and the no-data ticket.

A tier's condition holds while the error ratio over both its windows exceeds
``factor x error budget`` (the factor written to 12 significant digits) and, for occurrence
SLIs, its short window holds at least ``min_events`` events (no such guard when it is 0):
a few failed requests on a quiet model page nobody. Timeslice SLIs count minutes, not
requests, and have no guard. There is no ``for:``; the short window is what keeps an alert from
flapping, and it resolves when no tier holds. The annotations name the tiers (``tiers``, e.g.
``14.4x over 1h and 5m, or 6x over 6h and 30m``) and say how fast each spends the budget,
and link the SLO's page (``SLO_PUBLIC_BASE_URL/slos/<id>``); an SLO label ``runbook_url``
becomes an annotation.

``SLONoData`` (``severity: ticket``) fires when the SLI's source has given no sample for
``no_data_for`` (default 30m): ``absent_over_time(TOTAL[D])``, for timeslices
``absent_over_time((QUERY)[D:1m])`` (which fires up to 5m later: the query keeps its last
value through Prometheus's lookback); it resolves with the first sample back. There is none
when the SLO says ``no_data_for: never``. Its rule sets ``slo_id`` and the SLO's labels (its
expression has none of the recordings'); ``absent_over_time`` adds those of the selector's
equality matchers (e.g. ``model_name``).
"""

from collections.abc import Iterable
from datetime import timedelta

from slo_service.domain.alert_settings import AlertSettings
from slo_service.domain.burn import Severity, Tier, share_of_factor
from slo_service.domain.sli import SliSpec, ThresholdSli
from slo_service.integrations.prometheus_rules.common import (
    RUNBOOK_LABEL,
    Rule,
    alerting_tiers,
    guarded,
    identity,
    own_labels,
    period_of,
)
from slo_service.integrations.prometheus_rules.labels import NATIVE, LabelSet
from slo_service.integrations.prometheus_rules.promql import (
    SLICE,
    duration,
    events_selector,
    number,
)
from slo_service.integrations.prometheus_rules.recordings import ERROR_RATIO, EVENTS
from slo_service.models import SLO

ALERT = "SLOBurnRate"
NO_DATA_ALERT = "SLONoData"
SEVERITIES: tuple[Severity, ...] = ("page", "ticket")


def _series(slo: SLO, record: str, window: timedelta, labels: LabelSet) -> str:
    return f"{record.format(window=duration(window))}{labels.matchers(slo)}"


def _over(slo: SLO, window: timedelta, threshold: str, labels: LabelSet) -> str:
    series = _series(slo, ERROR_RATIO, window, labels)
    return f"max without ({labels.window}) ({series} > ({threshold}))"


def condition(slo: SLO, tier: Tier, *, min_events: float | None, labels: LabelSet = NATIVE) -> str:
    """When one tier holds: both windows over its factor, and (with ``min_events``) enough
    events in the short window. Every operand has the recordings' labels less the window's
    (``slo_window``), so ``and`` pairs them one to one."""
    threshold = f"{number(tier.factor)} * {number(1 - slo.objective)}"
    parts = [
        _over(slo, window, threshold, labels) for window in (tier.long_window, tier.short_window)
    ]
    if min_events is not None:
        events = _series(slo, EVENTS, tier.short_window, labels)
        parts.append(f"max without ({labels.window}) ({events} >= {number(min_events)})")
    return "\n  and\n  ".join(parts)


def _literal(text: str) -> str:
    """Text kept out of Prometheus's alert templating."""
    return text.replace("{{", '{{ "{{" }}')


def tiers_text(tiers: Iterable[Tier]) -> str:
    """The tiers in words: ``14.4x over 1h and 5m, or 6x over 6h and 30m``."""
    return ", or ".join(
        f"{number(t.factor)}x over {duration(t.long_window)} and {duration(t.short_window)}"
        for t in tiers
    )


def _pace(slo: SLO, tier: Tier) -> str:
    """What one tier means: the error ratio it needs and the share of the budget it spends."""
    long, short = duration(tier.long_window), duration(tier.short_window)
    share = share_of_factor(tier.factor, tier.long_window, period_of(slo))
    return (
        f"{number(tier.factor * (1 - slo.objective) * 100)}% ({number(tier.factor)}x the "
        f"budget) over both the last {long} and {short}, a pace that spends "
        f"{number(share * 100)}% of the budget in {long}"
    )


def _links(slo: SLO, base_url: str) -> dict[str, str]:
    links = {"slo_url": f"{base_url.rstrip('/')}/slos/{slo.id}"}
    runbook = (slo.labels or {}).get(RUNBOOK_LABEL)
    if runbook:
        links[RUNBOOK_LABEL] = _literal(runbook)
    return links


def _burn_description(slo: SLO, tiers: list[Tier], min_events: float | None) -> str:
    who = f"{slo.service} {slo.name}"
    description = (
        f"The error budget of {who} is {number((1 - slo.objective) * 100)}% over "
        f"{slo.window}. Its error ratio is over " + "; or ".join(_pace(slo, t) for t in tiers) + "."
    )
    if min_events is not None:
        description += (
            f" A tier counts only while its short window holds at least {number(min_events)} "
            "events."
        )
    description += " The SLO page shows the budget left, the burn rates and recent deploys."
    if slo.description:
        description += f" SLO: {slo.description}"
    return _literal(description)


def burn_alert(
    slo: SLO,
    severity: Severity,
    tiers: list[Tier],
    *,
    min_events: float | None,
    base_url: str,
    labels: LabelSet = NATIVE,
) -> Rule:
    """The one alert of a severity: fires while any of its tiers holds."""
    named = tiers_text(tiers)
    expr = "\nor\n".join(
        f"(\n  {condition(slo, t, min_events=min_events, labels=labels)}\n)" for t in tiers
    )
    repeated = {labels.severity: severity} if labels.severity else {}
    return {
        "alert": ALERT,
        "expr": expr,
        "labels": {
            "severity": severity,
            **repeated,
            labels.service: slo.service,
            labels.slo: slo.name,
        },
        "annotations": {
            "summary": f"{slo.service} {slo.name}: error budget burning too fast ({named})",
            "description": _burn_description(slo, tiers, min_events),
            "tiers": named,
            **_links(slo, base_url),
        },
    }


def _absent(sli: SliSpec, length: timedelta) -> tuple[str, str]:
    """The expression that has a value while the SLI's source gave no sample for ``length``,
    and what it watches, in words."""
    window = duration(length)
    total = events_selector(sli)
    if total is not None:
        return f"absent_over_time({total}[{window}])", total
    assert isinstance(sli, ThresholdSli)
    return f"absent_over_time(({sli.query})[{window}:{SLICE}])", sli.query


def no_data_alert(
    slo: SLO, sli: SliSpec, no_data_for: timedelta, *, base_url: str, labels: LabelSet = NATIVE
) -> Rule:
    """The ticket raised while the SLI's source has been silent for ``no_data_for``. It has no
    ``sloth_severity``: Sloth's dashboards count burn alerts by it."""
    expr, watched = _absent(sli, no_data_for)
    who, length = f"{slo.service} {slo.name}", duration(no_data_for)
    description = (
        f"Prometheus has had no sample of {watched} for the last {length}: {who} is not "
        "measured and its burn-rate alerts cannot fire. Check that the model runs and that "
        "Prometheus scrapes it."
    )
    # Unlike a burn alert's, this expression keeps no labels of the recordings: set them here,
    # out of the label templating.
    named = {**identity(slo, labels), **own_labels(slo, labels)}
    return {
        "alert": NO_DATA_ALERT,
        "expr": expr,
        "labels": {"severity": "ticket", **{k: _literal(v) for k, v in named.items()}},
        "annotations": {
            "summary": f"{who}: no data for {length}",
            "description": _literal(description),
            **_links(slo, base_url),
        },
    }


def alerts(
    slo: SLO, sli: SliSpec, settings: AlertSettings, *, base_url: str, labels: LabelSet = NATIVE
) -> list[Rule]:
    """The SLO's alert rules: a burn alert per severity that has tiers, then no data."""
    tiers = alerting_tiers(settings)
    min_events = settings.min_events if guarded(sli, settings) else None
    found = []
    for severity in SEVERITIES:
        chosen = [t for t in tiers if t.severity == severity]
        holds = sorted({t.hold for t in chosen})
        for hold in holds:  # one rule per hold: Prometheus's ``for`` is a rule's, not a tier's
            rule = burn_alert(
                slo,
                severity,
                [t for t in chosen if t.hold == hold],
                min_events=min_events,
                base_url=base_url,
                labels=labels,
            )
            if hold:  # Prometheus's order: alert, expr, for, labels, annotations
                rule = {"alert": rule.pop("alert"), "expr": rule.pop("expr"),
                        "for": duration(hold), **rule}  # fmt: skip
            if len(holds) > 1:  # two rules of one alert must not make the same series
                rule["labels"]["hold"] = duration(hold) if hold else "0m"
            found.append(rule)
    if settings.enabled and settings.no_data_for is not None:
        found.append(
            no_data_alert(slo, sli, settings.no_data_for, base_url=base_url, labels=labels)
        )
    return found
