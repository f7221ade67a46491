"""An SLO's SLI and remaining budget over time, for charts and reports.

What a history costs is known before any of it is computed: the range is first cut to what
can hold data (from the SLO's oldest bucket, or a window before now when that is earlier, up
to now), then the number of points follows from the range and the step, and more than
``MAX_POINTS`` is refused with a 422 that says so. Only then are the points built and the
blocks they span read: a request costs at most ``MAX_POINTS`` points and the SLO's stored
blocks in its range, whatever ``from``, ``to`` and ``step`` it gives.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from slo_service.domain import budget as math
from slo_service.domain.blocks import Layout, epoch, instant
from slo_service.domain.kinds import Budgeting
from slo_service.domain.windows import (
    Window,
    align,
    format_duration,
    parse_timezone,
    parse_window,
    period,
)
from slo_service.errors import InvalidInput
from slo_service.models import SLO
from slo_service.repositories import blocks as block_repo
from slo_service.schemas.status import HistoryPointPublic, HistoryPublic
from slo_service.services import buckets
from slo_service.services.status import as_of

MAX_POINTS = 2000
DEFAULT_POINTS = 200
CALENDAR_REACH = timedelta(days=30)  # how far back the default range of a calendar window goes


@dataclass(frozen=True)
class Marks:
    """Where the points of a history fall: ``count`` instants ``step`` apart from ``start``."""

    start: datetime
    step: timedelta
    count: int

    def __iter__(self) -> Iterator[datetime]:
        return (self.start + i * self.step for i in range(self.count))


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
    if start is not None and end is not None and start >= end:
        raise InvalidInput.at(("query", "from"), "must be before 'to'")
    width = timedelta(seconds=layout.bucket_seconds)
    oldest = block_repo.oldest_start(session, slo.id)
    marks = plan(
        window=parse_window(slo.window),
        start=start,
        end=end or as_of(slo, now=now, layout=layout),
        step=step,
        oldest=None if oldest is None else instant(oldest),
        now=now,
        width=width,
    )
    points = _points(session, slo, list(marks), layout=layout) if marks else []
    step_seconds = int((marks.step if marks else step or width).total_seconds())
    return HistoryPublic(id=slo.id, window=slo.window, step_seconds=step_seconds, points=points)


def plan(
    *,
    window: Window,
    start: datetime | None,
    end: datetime | None,
    step: timedelta | None,
    oldest: datetime | None,
    now: datetime,
    width: timedelta,
) -> Marks | None:
    """The points to compute, without computing any: the range cut to what can hold data
    (see the module), its ends aligned to buckets, the step whole buckets (about
    ``DEFAULT_POINTS`` points by default); None when the range holds nothing. More than
    ``MAX_POINTS`` points is a 422 naming the limit."""
    reach = window.length or CALENDAR_REACH
    latest = align(now, width)
    floor = align(min(oldest or latest, latest - reach), width)
    end = align(min(end or latest, latest), width)
    if end < floor:
        return None  # the whole range is before anything was measured
    start = align(max(start or end - reach, floor), width)
    if start > end:
        return None  # the whole range is after now
    step = max(width, align_step(step or (end - start) / DEFAULT_POINTS, width))
    count = (end - start) // step + 1
    if count > MAX_POINTS:
        raise InvalidInput.at(
            ("query", "step"),
            f"from, to and step give {count:,} points ({start:%Y-%m-%dT%H:%MZ} to "
            f"{end:%Y-%m-%dT%H:%MZ}, cut to the SLO's data and now, every {_said(step)}); "
            f"the limit is {MAX_POINTS:,}: widen step or narrow the range",
        )
    return Marks(start, step, count)


def _points(
    session: Session, slo: SLO, marks: list[datetime], *, layout: Layout
) -> list[HistoryPointPublic]:
    assert slo.id is not None
    window = parse_window(slo.window)
    zone = parse_timezone(slo.timezone)
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
    return points


def align_step(step: timedelta, width: timedelta) -> timedelta:
    """``step`` rounded down to whole buckets."""
    return (step // width) * width


def _said(step: timedelta) -> str:
    """The step as a duration a user writes (``1h``), or in seconds for a sub-minute bucket."""
    seconds = int(step.total_seconds())
    return format_duration(step) if seconds % 60 == 0 else f"{seconds}s"
