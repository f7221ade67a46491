from datetime import timedelta

import pytest

from slo_service.domain.budget import (
    Counts,
    State,
    budget,
    burn_rate,
    sli,
    state,
    time_to_exhaustion,
)

DAYS_30 = timedelta(days=30)


@pytest.mark.parametrize(
    ("counts", "objective", "expected_sli", "expected_burn"),
    [
        (Counts(999, 1000), 0.999, 0.999, 1.0),
        (Counts(1000, 1000), 0.999, 1.0, 0.0),
        (Counts(990, 1000), 0.999, 0.99, 10.0),
        (Counts(0, 1000), 0.99, 0.0, 100.0),
        (Counts(0, 0), 0.99, None, None),
        (Counts(95.5, 100.25), 0.95, 95.5 / 100.25, (1 - 95.5 / 100.25) / 0.05),
    ],
    ids=["exactly-sustainable", "perfect", "ten-times", "all-bad", "no-data", "fractional"],
)
def test_sli_and_burn_rate(
    counts: Counts, objective: float, expected_sli: float | None, expected_burn: float | None
) -> None:
    assert sli(counts) == pytest.approx(expected_sli)
    assert burn_rate(counts, objective) == pytest.approx(expected_burn)


@pytest.mark.parametrize(
    ("counts", "timeslices", "consumed", "remaining", "minutes"),
    [
        (Counts(43_157, 43_200), True, 43 / 43.2, 1 - 43 / 43.2, 0.2),
        (Counts(43_200, 43_200), True, 0.0, 1.0, 43.2),
        (Counts(43_100, 43_200), True, 100 / 43.2, 1 - 100 / 43.2, -56.8),
        (Counts(9_995, 10_000), False, 0.5, 0.5, None),
        (Counts(0, 0), True, None, None, None),
    ],
    ids=["timeslices-nearly-spent", "untouched", "overspent-negative", "occurrences", "empty"],
)
def test_budget(
    counts: Counts,
    timeslices: bool,
    consumed: float | None,
    remaining: float | None,
    minutes: float | None,
) -> None:
    result = budget(counts, 0.999, length=DAYS_30, timeslices=timeslices)
    assert result.total == pytest.approx(0.001)
    assert result.consumed == pytest.approx(consumed)
    assert result.remaining == pytest.approx(remaining)
    assert result.remaining_minutes == pytest.approx(minutes)


@pytest.mark.parametrize(
    ("remaining", "burn", "expected"),
    [
        (0.5, 1.0, 0.5 * 30 * 86400),
        (0.12, 0.9, 0.12 * 30 * 86400 / 0.9),
        (1.0, 14.4, 30 * 86400 / 14.4),
        (0.0, 3.0, 0.0),
        (-0.2, 3.0, 0.0),
        (0.5, 0.0, None),
        (0.5, None, None),
        (None, 2.0, None),
    ],
    ids=[
        "steady",
        "design-example",
        "page-tier",
        "spent",
        "overspent",
        "not-burning",
        "no-burn-data",
        "no-data",
    ],
)
def test_time_to_exhaustion(
    remaining: float | None, burn: float | None, expected: float | None
) -> None:
    assert time_to_exhaustion(remaining, burn, length=DAYS_30) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("remaining", "paging", "expected"),
    [
        (0.8, False, State.OK),
        (0.25, False, State.WARNING),
        (0.1, False, State.WARNING),
        (0.8, True, State.WARNING),
        (0.0, False, State.EXHAUSTED),
        (-1.5, True, State.EXHAUSTED),
        (None, False, State.NO_DATA),
    ],
    ids=["ok", "at-warn", "below-warn", "paging", "zero", "negative", "no-data"],
)
def test_state(remaining: float | None, paging: bool, expected: State) -> None:
    assert state(remaining, warn_threshold=0.25, paging=paging) is expected


def test_counts_add_and_subtract() -> None:
    assert Counts(3, 4) + Counts(1.5, 2) == Counts(4.5, 6)
    assert Counts(10, 12) - Counts(3, 4) == Counts(7, 8)
