"""What the SLA overview shows: the tiles for every SLO, then the services that need attention
worst first, a page at a time, and the others counted per team.

The period is each SLO's own window (its rolling window, or its calendar period so far), or
one the reader picks: the last 7 or 30 days, this month or last month (UTC). Over it, an SLO's
attainment is its SLI and its budget is spent as ``(1 - SLI) / (1 - objective)``.

The cost grows with what the page shows, not with the SLOs or minutes stored: over each SLO's
window the numbers are the summary evaluation kept (no bucket is read); another period reads
each SLO's running totals at its two ends. Only the rows on the page get a sparkline, the
budget burn-down: what is left of the period's budget at twelve instants across it, read in
one batch.
"""

import functools
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlmodel import Session

from slo_service.domain import budget as math
from slo_service.domain.blocks import BLOCK_SECONDS, Layout, epoch
from slo_service.domain.gate import Policy
from slo_service.domain.kinds import Budgeting
from slo_service.domain.windows import Span, align, parse_timezone, parse_window, period
from slo_service.models import GateFreeze
from slo_service.repositories import alerts as alert_repo
from slo_service.repositories import policy as policy_repo
from slo_service.repositories import slos as slo_repo
from slo_service.repositories.slos import Listed
from slo_service.services import buckets, listing
from slo_service.services.gate import state as gate
from slo_service.services.listing import Filter, Group, Page

PERIODS: dict[str, str] = {
    "window": "each SLO's window",
    "7d": "last 7 days",
    "30d": "last 30 days",
    "this-month": "this month",
    "last-month": "last month",
}
POINTS = 12
_RANK = {"exhausted": 0, "warning": 1, "no_data": 2, "ok": 3}


class Windowed(Protocol):
    @property
    def window(self) -> str: ...

    @property
    def timezone(self) -> str: ...


@dataclass(frozen=True)
class Row:
    slo: Listed
    span: Span
    attainment: float | None
    remaining: float | None
    burn_rate: float | None  # over the last hour
    state: str  # ok, warning, exhausted, no_data
    policy: Policy
    freezing: bool  # this SLO's budget freezes its service
    alerts: int  # its firing alerts
    sparkline: list[float | None] = field(default_factory=list)  # rows on the page only


@dataclass(frozen=True)
class ServiceRows:
    service: str
    team: str  # its SLOs' team label (the first in order when they differ; "" for none)
    teams: frozenset[str]
    rows: list[Row]
    freezes: list[GateFreeze]
    flags: frozenset[str]  # listing.flags: breached, at-risk, frozen, firing, no-data


@dataclass(frozen=True)
class Overview:
    period: str
    at: datetime
    tiles: dict[str, int]  # of every SLO within the search and the team
    filter: Filter
    services: list[ServiceRows]  # this page's, worst first
    page: Page
    others: list[Group]  # the services the state filter leaves out, per team
    teams: list[str]  # every team label value, for the filter

    def href(self, **changes: str | int | None) -> str:
        """This view's address with some filter fields changed (a new filter: page 1)."""
        if "page" not in changes:
            changes["page"] = 1
        query = self.filter.query(**changes)
        period = "" if self.period == "window" else f"period={self.period}"
        joined = "&".join(part for part in (period, query) if part)
        return f"/?{joined}" if joined else "/"


def month_start(at: datetime, months_back: int = 0) -> datetime:
    """The first instant (UTC) of ``at``'s month, or of a month before it."""
    year, month = at.year, at.month - months_back
    while month < 1:
        year, month = year - 1, month + 12
    return datetime(year, month, 1, tzinfo=UTC)


def span_of(key: str, slo: Windowed, at: datetime) -> Span:
    """The period ``key`` as it applies to ``slo`` at ``at`` (its calendar period so far)."""
    return _span(key, slo.window, slo.timezone, at)


@functools.lru_cache(maxsize=1024)
def _span(key: str, window: str, timezone: str, at: datetime) -> Span:
    """Most of a fleet shares a few windows and was summarized at the same minute."""
    if key == "window":
        whole = period(parse_window(window), at, parse_timezone(timezone))
        return Span(whole.start, min(whole.end, at))
    if key in ("7d", "30d"):
        return Span(at - timedelta(days=int(key[:-1])), at)
    if key == "this-month":
        return Span(month_start(at), at)
    return Span(month_start(at, 1), month_start(at))


def overview(
    session: Session,
    *,
    key: str,
    now: datetime,
    layout: Layout,
    wanted: Filter = Filter(),
    team_label: str = "team",
) -> Overview:
    slos = slo_repo.listing(session, team_label=team_label)
    teams = sorted({s.team for s in slos if s.team})
    every = build(session, slos, key=key, now=now, layout=layout)
    searched = [s for s in every if listing.searched(s.service, s.teams, wanted)]
    chosen = [s for s in searched if listing.in_state(s.flags, wanted.state)]
    shown, page = listing.page_of(chosen, wanted.page)
    curves = burn_downs(session, [row for s in shown for row in s.rows], layout=layout)
    shown = [_with_sparklines(s, curves) for s in shown]
    left_out = [s for s in searched if not listing.in_state(s.flags, wanted.state)]
    others = listing.groups((s.team, [row.state for row in s.rows]) for s in left_out)
    return Overview(key, now, tiles(searched), wanted, shown, page, others, teams)


def build(
    session: Session,
    slos: Sequence[Listed],
    *,
    key: str,
    now: datetime,
    layout: Layout,
) -> list[ServiceRows]:
    """Every SLO's row over the period ``key`` (without sparklines), grouped by service, worst
    first."""
    rows = _measured(session, slos, key=key, now=now, layout=layout)
    services = sorted({s.service for s in slos})
    policies = policy_repo.policies(session, None)  # every service's: the page lists them all
    freezes = policy_repo.active_freezes_of(session, None)
    firing = alert_repo.firing_counts(session)
    grouped: dict[str, list[Row]] = {service: [] for service in services}
    effective: dict[tuple[str, str], Policy] = {}  # most SLOs have the default policy
    for slo in slos:
        layers = (slo.service if slo.service in policies else "", slo.gate_text)
        policy = effective.get(layers)
        if policy is None:
            policy = effective[layers] = gate.effective(slo, policies.get(slo.service))
        freezing = any(f.slo_id == slo.id for f in freezes.get(slo.service, []))
        span, attainment, remaining, burn, paging = rows[slo.id]
        state: str = math.state(remaining, warn_threshold=policy.warn_threshold, paging=paging)
        if remaining is not None and remaining <= policy.freeze_threshold:
            state = "exhausted"
        grouped[slo.service].append(Row(slo, span, attainment, remaining, burn, state, policy,
                                        freezing, firing.get(slo.id, 0)))  # fmt: skip
    blocks = []
    for service, these in grouped.items():
        these.sort(key=_worst_first)
        labels = [row.slo.team or listing.NO_TEAM for row in these]
        frozen = freezes.get(service, [])
        flags = listing.flags((r.state for r in these), frozen=bool(frozen),
                              alerts=sum(r.alerts for r in these))  # fmt: skip
        team = min((t for t in labels if t), default=listing.NO_TEAM)
        blocks.append(ServiceRows(service, team, frozenset(labels), these, frozen, flags))
    return sorted(blocks, key=lambda b: (_worst_first(b.rows[0]), b.service))


Measured = tuple[Span, float | None, float | None, float | None, bool]


def _measured(
    session: Session, slos: Sequence[Listed], *, key: str, now: datetime, layout: Layout
) -> dict[int, Measured]:
    """Each SLO's (span, attainment, budget left, burn rate over the last hour, whether a page
    fires): over its window, from its kept summary (a page firing puts it at risk, as in its
    status); over another period, from its totals at the two ends."""
    found: dict[int, Measured] = {}
    ends: dict[int, Span] = {}
    for slo in slos:
        span = span_of(key, slo, as_of(slo, now=now, layout=layout))
        burn = slo.burn_rate_1h
        if key == "window" and slo.summarized:
            found[slo.id] = (span, slo.sli, slo.remaining, burn, bool(slo.paging))
        else:
            ends[slo.id] = span
            found[slo.id] = (span, None, None, burn, False)
    stamps = {slo_id: [epoch(span.start), epoch(span.end)] for slo_id, span in ends.items()}
    totals = buckets.totals_at_many(session, stamps, layout=layout)
    for slo in slos:
        if slo.id in ends:
            start, end = totals[slo.id]
            span, _, _, burn, _ = found[slo.id]
            counts = end - start
            found[slo.id] = (span, math.sli(counts), _left(counts, slo, span), burn, False)
    return found


def as_of(slo: Listed, *, now: datetime, layout: Layout) -> datetime:
    """The instant an SLO's row describes: where its kept summary ends (the start of the
    current bucket before any)."""
    if slo.summarized_until is not None:
        return slo.summarized_until
    if slo.source != "push" and slo.evaluated_until is not None:
        return slo.evaluated_until
    return align(now, timedelta(seconds=layout.bucket_seconds))


def _left(counts: math.Counts, slo: Listed, span: Span) -> float | None:
    timeslices = slo.budgeting == Budgeting.TIMESLICES
    return math.budget(counts, slo.objective, length=span.length, timeslices=timeslices).remaining


def _worst_first(row: Row) -> tuple[int, float, str]:
    remaining = row.remaining if row.remaining is not None else float("inf")
    return (_RANK[row.state], remaining, row.slo.name)


def _with_sparklines(service: ServiceRows, curves: Mapping[int, list[float | None]]) -> ServiceRows:
    rows = [
        Row(r.slo, r.span, r.attainment, r.remaining, r.burn_rate, r.state, r.policy,
            r.freezing, r.alerts, curves[r.slo.id])
        for r in service.rows
    ]  # fmt: skip
    return ServiceRows(service.service, service.team, service.teams, rows, service.freezes,
                       service.flags)  # fmt: skip


def marks(span: Span, *, layout: Layout) -> list[int]:
    """The instants of a sparkline: the span's start, ``POINTS - 1`` across it (on the hour
    when the span is long enough: those read no bucket), and its end."""
    start, end = epoch(span.start), epoch(span.end)
    inner = [start + (end - start) * i // POINTS for i in range(1, POINTS)]
    step = BLOCK_SECONDS if end - start >= POINTS * BLOCK_SECONDS else layout.bucket_seconds
    return [start, *(m - m % step for m in inner), end]


def burn_downs(
    session: Session, rows: Sequence[Row], *, layout: Layout
) -> dict[int, list[float | None]]:
    """For each row, the budget left at ``POINTS`` instants across its span, the last at its
    end: their totals in one batched read."""
    wanted = {row.slo.id: marks(row.span, layout=layout) for row in rows}
    totals = buckets.totals_at_many(session, wanted, layout=layout)
    curves = {}
    for row in rows:
        first, *rest = totals[row.slo.id]
        curves[row.slo.id] = [_left(t - first, row.slo, row.span) for t in rest]
    return curves


def tiles(services: Sequence[ServiceRows]) -> dict[str, int]:
    """The top row: SLOs meeting, at risk and breached; services frozen; alerts firing."""
    rows = [row for block in services for row in block.rows]
    states = Counter(row.state for row in rows)
    return {
        "meeting": states["ok"], "at_risk": states["warning"], "breached": states["exhausted"],
        "no_data": states["no_data"], "frozen": sum(1 for block in services if block.freezes),
        "alerts": sum(row.alerts for row in rows),
    }  # fmt: skip
