"""What a history will compute, planned before any point is built (``services.history.plan``),
by table: the range cut to what can hold data and now, the step in whole buckets, and the
point limit refused with the count and the limit named."""

from datetime import UTC, datetime, timedelta

import pytest

from slo_service.domain.windows import parse_window
from slo_service.errors import InvalidInput
from slo_service.services.history import MAX_POINTS, Marks, plan

NOW = datetime(2026, 12, 3, 11, 30, 25, tzinfo=UTC)
LATEST = datetime(2026, 12, 3, 11, 30, tzinfo=UTC)  # NOW's bucket
MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
FAR_PAST = datetime(1, 1, 1, tzinfo=UTC)
FAR_FUTURE = datetime(9999, 12, 31, tzinfo=UTC)


@pytest.mark.parametrize(
    ("window", "start", "end", "step", "oldest", "expected"),
    [
        ("1d", None, None, None, None, Marks(LATEST - DAY, 7 * MINUTE, 206)),
        ("7d", None, None, None, LATEST - 3 * DAY, Marks(LATEST - 7 * DAY, 50 * MINUTE, 202)),
        ("month", None, None, None, None, Marks(LATEST - 30 * DAY, 3 * HOUR + 36 * MINUTE, 201)),
        ("1d", FAR_PAST, FAR_FUTURE, HOUR, LATEST - 3 * DAY, Marks(LATEST - 3 * DAY, HOUR, 73)),
        ("30d", FAR_PAST, FAR_FUTURE, DAY, LATEST - HOUR, Marks(LATEST - 30 * DAY, DAY, 31)),
        ("1d", LATEST - 1999 * MINUTE, None, MINUTE, LATEST - 5 * DAY,
         Marks(LATEST - 1999 * MINUTE, MINUTE, MAX_POINTS)),
        ("1d", LATEST - DAY, LATEST + DAY, 10**6 * DAY, None, Marks(LATEST - DAY, 10**6 * DAY, 1)),
        ("1d", LATEST - DAY - timedelta(seconds=30), None, 90 * timedelta(seconds=1),
         LATEST - 5 * DAY, Marks(LATEST - DAY - MINUTE, MINUTE, 1442)),
        ("1d", LATEST + HOUR, LATEST + DAY, None, None, None),
        ("1d", FAR_PAST, datetime(2000, 1, 1, tzinfo=UTC), MINUTE, LATEST - 5 * DAY, None),
    ],
    ids=[
        "default-one-day",
        "default-a-window-back-before-the-data",
        "default-calendar-month",
        "bomb-with-a-coarse-step-cut-to-the-data",
        "bomb-cut-to-a-window-back",
        "exactly-the-limit",
        "step-longer-than-the-range",
        "ends-and-step-aligned-to-buckets",
        "all-after-now",
        "all-before-the-data",
    ],
)  # fmt: skip
def test_plans(
    window: str,
    start: datetime | None,
    end: datetime | None,
    step: timedelta | None,
    oldest: datetime | None,
    expected: Marks | None,
) -> None:
    planned = plan(
        window=parse_window(window), start=start, end=end, step=step, oldest=oldest, now=NOW,
        width=MINUTE,
    )  # fmt: skip
    assert planned == expected


@pytest.mark.parametrize(
    ("start", "step", "oldest", "count"),
    [
        (FAR_PAST, MINUTE, LATEST - 10 * DAY, 14_401),  # the bomb: cut to its data, still too many
        (LATEST - 2000 * MINUTE, MINUTE, LATEST - 5 * DAY, 2001),  # one over
        (FAR_PAST, 10 * timedelta(seconds=1), LATEST - 2 * DAY, 2881),  # the step is one bucket
    ],
    ids=["bomb", "one-over", "sub-bucket-step"],
)
def test_too_many_points_are_refused_with_the_count_and_the_limit(
    start: datetime, step: timedelta, oldest: datetime, count: int
) -> None:
    with pytest.raises(InvalidInput) as caught:
        plan(
            window=parse_window("1d"), start=start, end=FAR_FUTURE, step=step, oldest=oldest,
            now=NOW, width=MINUTE,
        )  # fmt: skip
    ((loc, reason),) = caught.value.problems
    assert loc == ("query", "step")
    assert reason.startswith(f"from, to and step give {count:,} points (")
    assert "2026-12-03T11:30Z, cut to the SLO's data and now, every 1m)" in reason
    assert reason.endswith("the limit is 2,000: widen step or narrow the range")


def test_marks_are_built_only_when_iterated() -> None:
    """A plan holds three numbers, whatever its count; the instants come one at a time."""
    marks = Marks(LATEST - DAY, HOUR, 25)
    assert list(marks)[:2] == [LATEST - DAY, LATEST - DAY + HOUR]
    assert list(marks)[-1] == LATEST
