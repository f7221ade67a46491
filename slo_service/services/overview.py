"""What the SLA pages show: every SLO's attainment and budget over a period, worst first.

The period is each SLO's own window (its rolling window, or its calendar period so far), or
one the reader picks: the last 7 or 30 days, this month or last month (UTC). Over it, an SLO's
attainment is its SLI, its budget is spent as ``(1 - SLI) / (1 - objective)``, and its
sparkline is the budget burn-down: what is left of the period's budget at twelve instants
across it. All the SLOs' running totals at those instants are read in one batch.
"""

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from slo_service.domain import budget as math
from slo_service.domain.blocks import Layout, epoch
from slo_service.domain.gate import Policy
from slo_service.domain.kinds import Budgeting
from slo_service.domain.summary import Summary
from slo_service.domain.windows import Span, align, parse_timezone, parse_window, period
from slo_service.models import SLO, GateFreeze
from slo_service.repositories import alerts as alert_repo
from slo_service.repositories import policy as policy_repo
from slo_service.repositories import slos as slo_repo
from slo_service.services import buckets
from slo_service.services.gate import state as gate
from slo_service.services.status import as_of

PERIODS: dict[str, str] = {
    "window": "each SLO's window",
    "7d": "last 7 days",
    "30d": "last 30 days",
    "this-month": "this month",
    "last-month": "last month",
}
POINTS = 12
_RANK = {"exhausted": 0, "warning": 1, "no_data": 2, "ok": 3}


@dataclass(frozen=True)
class Row:
    slo: SLO
    span: Span
    attainment: float | None
    remaining: float | None
    burn_rate: float | None  # over the last hour
    sparkline: list[float | None]
    state: str  # ok, warning, exhausted, no_data
    policy: Policy
    freezing: bool  # this SLO's budget freezes its service
    alerts: int  # its firing alerts


@dataclass(frozen=True)
class ServiceRows:
    service: str
    rows: list[Row]
    freezes: list[GateFreeze]


@dataclass(frozen=True)
class Overview:
    period: str
    at: datetime
    services: list[ServiceRows]
    tiles: dict[str, int]


def month_start(at: datetime, months_back: int = 0) -> datetime:
    """The first instant (UTC) of ``at``'s month, or of a month before it."""
    year, month = at.year, at.month - months_back
    while month < 1:
        year, month = year - 1, month + 12
    return datetime(year, month, 1, tzinfo=UTC)


def span_of(key: str, slo: SLO, at: datetime) -> Span:
    """The period ``key`` as it applies to ``slo`` at ``at`` (its calendar period so far)."""
    if key == "window":
        whole = period(parse_window(slo.window), at, parse_timezone(slo.timezone))
        return Span(whole.start, min(whole.end, at))
    if key in ("7d", "30d"):
        return Span(at - timedelta(days=int(key[:-1])), at)
    if key == "this-month":
        return Span(month_start(at), at)
    return Span(month_start(at, 1), month_start(at))


def overview(session: Session, *, key: str, now: datetime, layout: Layout) -> Overview:
    slos = list(slo_repo.live(session))
    services = build(session, slos, key=key, now=now, layout=layout)
    return Overview(key, now, services, tiles(services))


def build(
    session: Session, slos: Sequence[SLO], *, key: str, now: datetime, layout: Layout
) -> list[ServiceRows]:
    """The rows of ``slos`` over the period ``key``, grouped by service, worst first."""
    width = timedelta(seconds=layout.bucket_seconds)
    spans = {
        s.id: span_of(key, s, as_of(s, now=now, layout=layout) or align(now, width))
        for s in slos
        if s.id is not None
    }
    curves = burn_downs(session, slos, spans, layout=layout)
    services = sorted({s.service for s in slos})
    policies = policy_repo.policies(session, services)
    freezes = policy_repo.active_freezes_of(session, services)
    firing = Counter(a.slo_id for a in alert_repo.firing_of(session, list(spans)))
    grouped: dict[str, list[Row]] = {service: [] for service in services}
    for slo in slos:
        assert slo.id is not None
        policy = gate.effective(slo, policies.get(slo.service))
        freezing = any(f.slo_id == slo.id for f in freezes.get(slo.service, []))
        grouped[slo.service].append(
            _row(slo, spans[slo.id], curves[slo.id], policy, freezing, firing[slo.id])
        )
    blocks = [
        ServiceRows(service, sorted(rows, key=_worst_first), freezes.get(service, []))
        for service, rows in grouped.items()
    ]
    return sorted(blocks, key=lambda b: (_worst_first(b.rows[0]), b.service))


def _row(
    slo: SLO,
    span: Span,
    curve: list[tuple[math.Counts, float | None]],
    policy: Policy,
    freezing: bool,
    alerts: int,
) -> Row:
    counts, remaining = curve[-1]
    summary = Summary.of(slo.summary)
    burn = summary.burn_rates.get("1h") if summary else None
    state: str = math.state(remaining, warn_threshold=policy.warn_threshold)
    if remaining is not None and remaining <= policy.freeze_threshold:
        state = "exhausted"
    return Row(slo, span, math.sli(counts), remaining, burn, [r for _, r in curve], state,
               policy, freezing, alerts)  # fmt: skip


def _worst_first(row: Row) -> tuple[int, float, str]:
    remaining = row.remaining if row.remaining is not None else float("inf")
    return (_RANK[row.state], remaining, row.slo.name)


def burn_downs(
    session: Session, slos: Sequence[SLO], spans: Mapping[int, Span], *, layout: Layout
) -> dict[int, list[tuple[math.Counts, float | None]]]:
    """For each SLO, (counts so far, budget left) at ``POINTS`` instants across its span, the
    last at its end: every SLO's totals in one batched read."""
    width = layout.bucket_seconds
    marks: dict[int, list[int]] = {}
    for slo_id, span in spans.items():
        start, end = epoch(span.start), epoch(span.end)
        inner = [start + (end - start) * i // POINTS for i in range(1, POINTS)]
        marks[slo_id] = [start, *(m - m % width for m in inner), end]
    totals = buckets.totals_at_many(session, marks, layout=layout)
    curves = {}
    for slo in slos:
        assert slo.id is not None
        first, *rest = totals[slo.id]
        length = spans[slo.id].length
        timeslices = slo.budgeting == Budgeting.TIMESLICES
        curves[slo.id] = [
            (t - first, math.budget(t - first, slo.objective, length=length,
                                    timeslices=timeslices).remaining)
            for t in rest
        ]  # fmt: skip
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
