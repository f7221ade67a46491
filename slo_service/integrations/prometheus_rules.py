"""Prometheus rules for SLOs, named the way Sloth names them (``slo-service rules export``).

Every alerting setting comes from ``domain.alert_settings.effective``: the SLO's own
``alerting`` over its service policy's (``rules export`` passes it), over the defaults. So the
tiers are the user's (each keeping its windows) or the SRE workbook's scaled to the SLO's
window (``month`` counts 30d and ``week`` 7d), rounded to whole minutes.

Per SLO, two rule groups:

- ``slo-service-<service>-<name>-sli-recordings``: the error ratio over each window,
  ``slo:sli_error:ratio_rate<W>`` for 5m 30m 1h 2h 6h 1d 3d, the windows of the SLO's tiers (if
  it alerts) and its own window (a 7d SLO's default tiers add 1m 7m 14m 28m 84m 336m 1008m);
  for occurrence SLIs (ratio, latency) the events of each tier's short window,
  ``slo:sli_events:count<W>`` (``sum(increase(TOTAL[W]))``); and the meta recordings
  ``slo:objective:ratio``, ``slo:error_budget:ratio`` (1 - objective) and
  ``slo:time_period:days``. They carry
  ``slo_id``, ``slo_service``, ``slo_name``, the SLO's own labels, and on the windowed ones
  ``slo_window``: the window, like Sloth's ``sloth_window``. A window is written in the
  largest of d, h, m that states it exactly (``336m``, not ``5h36m``).
- ``slo-service-<service>-<name>-alerts``, Sloth's layout: at most two ``SLOBurnRate`` alerts,
  one labelled ``severity: page`` whose expression is the ``or`` of the page tiers'
  conditions, one ``severity: ticket`` of the ticket tiers' (a severity without tiers has no
  rule); and an ``SLONoData`` ticket. All are labelled ``slo_service`` and ``slo_name`` (and
  carry ``slo_id`` and the SLO's labels), for Alertmanager to route, group and inhibit on: one
  alert name with labels, rather than Sloth's per-SLO names, so one route and one inhibit rule
  (a page holds back the same SLO's burn ticket) serve every SLO. An SLO with alerting disabled
  has no alerts group.

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

Drift-store and pushed SLIs are not in Prometheus: they are skipped, with the reason.

Error ratios, per SLI type (``W`` the window), and ``TOTAL`` (the events):

- ratio with bad: ``sum(rate(BAD[W])) / sum(rate(TOTAL[W]))``; with good:
  ``1 - (sum(rate(GOOD[W])) / sum(rate(TOTAL[W])))``
- latency: ``1 - (sum(rate(H_bucket{M,le="T"}[W])) / sum(rate(H_count{M}[W])))``, where ``T`` is
  the threshold's shortest text (0.5 -> ``0.5``), and ``TOTAL`` is ``H_count{M}``. A whole
  number of seconds is spelt ``1`` by Go clients and ``1.0`` by Python's (and by Prometheus 3,
  which normalizes ``le``), so it is matched as ``le=~"1|1.0"``.
- threshold (timeslices): the fraction of one-minute slices of the window whose value missed the
  condition, ``1 - avg_over_time(((QUERY) OP bool THRESHOLD)[W:1m])``; a minute without data
  is left out (``no_data: ignore``), whatever the SLO's ``no_data`` says.

A one-minute window (the short window of a 7d SLO's fastest tier) needs at least two scrapes a
minute for ``rate`` to have a value: scrape every 15s or so.
"""

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

import yaml

from slo_service.domain import alert_settings
from slo_service.domain.alert_settings import AlertSettings
from slo_service.domain.burn import BURN_WINDOWS, Severity, Tier, nominal_length, share_of_factor
from slo_service.domain.promql import Selector, parse_selector
from slo_service.domain.sli import (
    SLI_ADAPTER,
    DriftStoreSli,
    LatencySli,
    PushSli,
    RatioSli,
    SliSpec,
    ThresholdSli,
)
from slo_service.domain.windows import parse_window
from slo_service.models import SLO

ALERT = "SLOBurnRate"
NO_DATA_ALERT = "SLONoData"
SEVERITIES: tuple[Severity, ...] = ("page", "ticket")
ERROR_RATIO = "slo:sli_error:ratio_rate{window}"
EVENTS = "slo:sli_events:count{window}"
HEADER = "# Generated by slo-service rules export"
# The rules are read by Prometheus, which has no buckets of its own: tiers are rounded to the
# minute, the finest window a rule can state.
BUCKET = timedelta(minutes=1)
SLICE = "1m"
RUNBOOK_LABEL = "runbook_url"
# Labels the rules set themselves; an SLO label of the same name is left out.
RESERVED_LABELS = frozenset(
    ("alertname", "severity", "slo_id", "slo_service", "slo_name", "slo_window")
)
SKIP_REASONS = {
    DriftStoreSli: "measured from the drift store, not from Prometheus",
    PushSli: "pushed to POST /api/v1/events, not in Prometheus",
}

Group = dict[str, Any]
Rule = dict[str, Any]
_NOT_A_LABEL_CHAR = re.compile(r"[^A-Za-z0-9_]")


@dataclass(frozen=True)
class Skipped:
    """An SLO that has no Prometheus rules, and why."""

    service: str
    name: str
    reason: str


@dataclass(frozen=True)
class Export:
    """Rule groups per service (services with rules only), and the SLOs skipped."""

    groups: dict[str, list[Group]]
    skipped: list[Skipped]


def number(value: float) -> str:
    """A float as PromQL text: 12 significant digits, so 0.02 x 720 reads ``14.4``."""
    return f"{value:.12g}"


def duration(length: timedelta) -> str:
    """The largest of d, h, m that states ``length`` exactly: ``30d``, ``7d`` (not ``1w``)."""
    minutes = int(length.total_seconds()) // 60
    for unit, size in (("d", 1440), ("h", 60)):
        if minutes % size == 0:
            return f"{minutes // size}{unit}"
    return f"{minutes}m"


def period_of(slo: SLO) -> timedelta:
    """The length the window's recording uses: a calendar month counts 30d, a week 7d."""
    return nominal_length(parse_window(slo.window))


def settings_of(slo: SLO, service_alerting: Mapping[str, Any] | None = None) -> AlertSettings:
    """The SLO's effective alerting settings, as the service itself alerts by them."""
    return alert_settings.effective(
        slo.alerting, service_alerting, window=slo.window, bucket=BUCKET
    )


def _rate(selector: str, window: str) -> str:
    return f"sum(rate({selector}[{window}]))"


def _increase(selector: str, window: str) -> str:
    return f"sum(increase({selector}[{window}]))"


def _le_matcher(threshold: float) -> str:
    text = repr(threshold)
    if threshold.is_integer():
        return f'le=~"{int(threshold)}|{text}"'
    return f'le="{text}"'


def _histogram_count(sli: LatencySli) -> str:
    histogram = parse_selector(sli.histogram)
    return Selector(f"{histogram.name}_count", histogram.matchers).render()


def error_ratio(sli: SliSpec, window: str) -> str:
    """The PromQL of the SLI's error ratio over ``window``; ValueError for SLIs without one."""
    if isinstance(sli, RatioSli):
        if sli.bad is not None:
            return f"{_rate(sli.bad, window)} / {_rate(sli.total, window)}"
        assert sli.good is not None
        return f"1 - ({_rate(sli.good, window)} / {_rate(sli.total, window)})"
    if isinstance(sli, LatencySli):
        histogram = parse_selector(sli.histogram)
        buckets = Selector(f"{histogram.name}_bucket", histogram.matchers)
        good = _rate(buckets.render(_le_matcher(sli.threshold_seconds)), window)
        return f"1 - ({good} / {_rate(_histogram_count(sli), window)})"
    if isinstance(sli, ThresholdSli):
        return f"1 - avg_over_time(({_slice_condition(sli)})[{window}:{SLICE}])"
    raise ValueError(SKIP_REASONS[type(sli)])


def _slice_condition(sli: ThresholdSli) -> str:
    return f"({sli.query}) {sli.op} bool {number(sli.threshold)}"


def events_selector(sli: SliSpec) -> str | None:
    """The series counting an occurrence SLI's events; None for timeslices (and SLIs not in
    Prometheus)."""
    if isinstance(sli, RatioSli):
        return sli.total
    if isinstance(sli, LatencySli):
        return _histogram_count(sli)
    return None


def skip_reason(sli: SliSpec) -> str | None:
    """Why an SLI has no Prometheus rules; None when it has them."""
    return SKIP_REASONS.get(type(sli))


def own_labels(slo: SLO) -> dict[str, str]:
    """The SLO's labels as Prometheus labels: other characters become ``_``; reserved names,
    names starting ``__`` and ``runbook_url`` (an annotation instead) are left out."""
    found: dict[str, str] = {}
    for key in sorted(slo.labels or {}):
        name = _NOT_A_LABEL_CHAR.sub("_", key)
        if key != RUNBOOK_LABEL and name not in RESERVED_LABELS and not name.startswith("__"):
            found[name] = str(slo.labels[key])
    return found


def _identity(slo: SLO) -> dict[str, str]:
    return {"slo_id": str(slo.id), "slo_service": slo.service, "slo_name": slo.name}


def alerting_tiers(settings: AlertSettings) -> tuple[Tier, ...]:
    """The tiers the rules alert on: none when alerting is disabled."""
    return settings.tiers if settings.enabled else ()


def guarded(sli: SliSpec, settings: AlertSettings) -> bool:
    """Whether the tiers' conditions need ``min_events`` in their short windows."""
    return settings.min_events > 0 and events_selector(sli) is not None


def _windows(slo: SLO, tiers: Iterable[Tier]) -> list[timedelta]:
    tier_windows = {w for tier in tiers for w in (tier.long_window, tier.short_window)}
    return sorted({*BURN_WINDOWS.values(), *tier_windows, period_of(slo)})


@dataclass(frozen=True)
class Labels:
    """An SLO's labels on its recordings: who it is, and its own (``own_labels``)."""

    identity: dict[str, str]
    own: dict[str, str]


def _windowed(record: str, expr: Callable[[str], str], length: timedelta, labels: Labels) -> Rule:
    """A recording over one window; its labels are the SLO's, and ``slo_window``."""
    window = duration(length)
    return {
        "record": record.format(window=window),
        "expr": expr(window),
        "labels": {**labels.identity, "slo_window": window, **labels.own},
    }


def recordings(slo: SLO, sli: SliSpec, settings: AlertSettings) -> Group:
    """The recordings group: error ratios, the guard's event counts, the meta ratios."""
    labels = Labels(_identity(slo), own_labels(slo))
    tiers = alerting_tiers(settings)
    rules = [
        _windowed(ERROR_RATIO, partial(error_ratio, sli), w, labels) for w in _windows(slo, tiers)
    ]
    total = events_selector(sli)
    if total is not None and guarded(sli, settings):
        rules += [
            _windowed(EVENTS, partial(_increase, total), w, labels)
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


def _series(slo: SLO, record: str, window: timedelta) -> str:
    matchers = f'{{slo_service="{slo.service}",slo_name="{slo.name}"}}'
    return f"{record.format(window=duration(window))}{matchers}"


def _over(slo: SLO, window: timedelta, threshold: str) -> str:
    return f"max without (slo_window) ({_series(slo, ERROR_RATIO, window)} > ({threshold}))"


def condition(slo: SLO, tier: Tier, *, min_events: float | None) -> str:
    """When one tier holds: both windows over its factor, and (with ``min_events``) enough
    events in the short window. Every operand has the recordings' labels less ``slo_window``,
    so ``and`` pairs them one to one."""
    threshold = f"{number(tier.factor)} * {number(1 - slo.objective)}"
    parts = [_over(slo, tier.long_window, threshold), _over(slo, tier.short_window, threshold)]
    if min_events is not None:
        events = _series(slo, EVENTS, tier.short_window)
        parts.append(f"max without (slo_window) ({events} >= {number(min_events)})")
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
    slo: SLO, severity: Severity, tiers: list[Tier], *, min_events: float | None, base_url: str
) -> Rule:
    """The one alert of a severity: fires while any of its tiers holds."""
    named = tiers_text(tiers)
    expr = "\nor\n".join(f"(\n  {condition(slo, t, min_events=min_events)}\n)" for t in tiers)
    return {
        "alert": ALERT,
        "expr": expr,
        "labels": {"severity": severity, "slo_service": slo.service, "slo_name": slo.name},
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


def no_data_alert(slo: SLO, sli: SliSpec, no_data_for: timedelta, *, base_url: str) -> Rule:
    """The ticket raised while the SLI's source has been silent for ``no_data_for``."""
    expr, watched = _absent(sli, no_data_for)
    who, length = f"{slo.service} {slo.name}", duration(no_data_for)
    description = (
        f"Prometheus has had no sample of {watched} for the last {length}: {who} is not "
        "measured and its burn-rate alerts cannot fire. Check that the model runs and that "
        "Prometheus scrapes it."
    )
    # Unlike a burn alert's, this expression keeps no labels of the recordings: set them here,
    # out of the label templating.
    labels = {**_identity(slo), **own_labels(slo)}
    return {
        "alert": NO_DATA_ALERT,
        "expr": expr,
        "labels": {"severity": "ticket", **{k: _literal(v) for k, v in labels.items()}},
        "annotations": {
            "summary": f"{who}: no data for {length}",
            "description": _literal(description),
            **_links(slo, base_url),
        },
    }


def alerts(slo: SLO, sli: SliSpec, settings: AlertSettings, *, base_url: str) -> list[Rule]:
    """The SLO's alert rules: a burn alert per severity that has tiers, then no data."""
    tiers = alerting_tiers(settings)
    min_events = settings.min_events if guarded(sli, settings) else None
    found = [
        burn_alert(slo, severity, chosen, min_events=min_events, base_url=base_url)
        for severity in SEVERITIES
        if (chosen := [t for t in tiers if t.severity == severity])
    ]
    if settings.enabled and settings.no_data_for is not None:
        found.append(no_data_alert(slo, sli, settings.no_data_for, base_url=base_url))
    return found


def slo_groups(
    slo: SLO, *, base_url: str, service_alerting: Mapping[str, Any] | None = None
) -> list[Group] | Skipped:
    """The rule groups of one SLO, or why it has none; ``service_alerting`` is its service
    policy's ``alerting`` (defaults for ``min_events`` and ``no_data_for``)."""
    sli = SLI_ADAPTER.validate_python(slo.sli)
    reason = skip_reason(sli)
    if reason is not None:
        return Skipped(slo.service, slo.name, reason)
    settings = settings_of(slo, service_alerting)
    groups = [recordings(slo, sli, settings)]
    found = alerts(slo, sli, settings, base_url=base_url)
    if found:
        groups.append({"name": f"slo-service-{slo.service}-{slo.name}-alerts", "rules": found})
    return groups


def export(
    slos: Iterable[SLO],
    *,
    base_url: str,
    service_alerting: Mapping[str, Mapping[str, Any]] | None = None,
) -> Export:
    """The rule groups of every SLO, by service, in the order given; ``service_alerting``
    holds the ``alerting`` of the services' policies, by service (none: the defaults)."""
    groups: dict[str, list[Group]] = {}
    skipped: list[Skipped] = []
    policies = service_alerting or {}
    for slo in slos:
        found = slo_groups(slo, base_url=base_url, service_alerting=policies.get(slo.service))
        if isinstance(found, Skipped):
            skipped.append(found)
        else:
            groups.setdefault(slo.service, []).extend(found)
    return Export(groups, skipped)


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (alert expressions) as literal blocks; no anchors and aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def render(service: str, groups: list[Group]) -> str:
    """A rule file's text: the header that marks it as generated, then the groups."""
    body = yaml.dump(
        {"groups": groups}, Dumper=_Dumper, sort_keys=False, width=1000, allow_unicode=True
    )
    return (
        f"{HEADER} from the SLOs of {service}: do not edit.\n"
        "# The next export rewrites it, and removes it once the service has no such SLO.\n"
        f"{body}"
    )


def is_generated(text: str) -> bool:
    """Whether a rule file's text was written by ``render``."""
    return text.startswith(HEADER)
