"""An SLO's SLI and remaining budget over time, for charts and reports."""

from datetime import datetime, timedelta

from sqlmodel import Session

from slo_service.domain import budget as math
from slo_service.domain.blocks import Layout, epoch
from slo_service.domain.kinds import Budgeting
from slo_service.domain.windows import align, parse_timezone, parse_window, period
from slo_service.errors import InvalidInput
from slo_service.models import SLO
from slo_service.schemas import HistoryPointPublic, HistoryPublic
from slo_service.services import buckets
from slo_service.services.status import as_of

MAX_POINTS = 2000
DEFAULT_POINTS = 200


def history(
    session: Session,
    slo: SLO,
    *,
    start: datetime | None,
    end: datetime | None,
    step: timedelta | None,
    now: datetime,
    layout: Layout,
) -> HistoryPublic:
    """Points from ``start`` to ``end`` every ``step``; each is the SLO's window ending then
    (its calendar period so far, for calendar windows)."""
    assert slo.id is not None
    width = timedelta(seconds=layout.bucket_seconds)
    window = parse_window(slo.window)
    zone = parse_timezone(slo.timezone)
    end = align(end or as_of(slo, now=now, layout=layout) or align(now, width), width)
    start = align(start or end - (window.length or timedelta(days=30)), width)
    if start >= end:
        raise InvalidInput.at(("query", "from"), "must be before 'to'")
    step = step or max(width, (end - start) / DEFAULT_POINTS)
    step = max(width, align_step(step, width))
    marks = [start + i * step for i in range(int((end - start) / step) + 1)]
    if len(marks) > MAX_POINTS:
        raise InvalidInput.at(
            ("query", "step"), f"gives {len(marks)} points; at most {MAX_POINTS}: widen the step"
        )
    spans = [period(window, mark, zone) for mark in marks]
    stamps = [epoch(mark) for mark in marks] + [epoch(span.start) for span in spans]
    totals = buckets.totals_over(session, slo.id, stamps, layout=layout)
    timeslices = slo.budgeting == Budgeting.TIMESLICES
    points = []
    for index, (mark, span) in enumerate(zip(marks, spans, strict=True)):
        counts = totals[index] - totals[len(marks) + index]
        result = math.budget(counts, slo.objective, length=span.length, timeslices=timeslices)
        points.append(
            HistoryPointPublic(
                at=mark,
                good=counts.good,
                total=counts.total,
                sli=math.sli(counts),
                budget_remaining=result.remaining,
            )
        )
    return HistoryPublic(
        id=slo.id, window=slo.window, step_seconds=int(step.total_seconds()), points=points
    )


def align_step(step: timedelta, width: timedelta) -> timedelta:
    """``step`` rounded down to whole buckets."""
    return (step // width) * width
