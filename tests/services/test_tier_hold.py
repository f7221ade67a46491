"""A tier's hold: it fires once both windows have stayed over its factor for that long,
checked at every bucket boundary. ``status.tier_states`` over running totals is compared,
minute by minute, with a brute force over the per-minute counts written independently."""

from datetime import timedelta

import pytest

from slo_service.domain.alert_settings import AlertSettings
from slo_service.domain.budget import Counts
from slo_service.domain.burn import Tier, tier_problem
from slo_service.services.status import Reading, tier_states

MINUTE = timedelta(minutes=1)
OBJECTIVE = 0.99
FACTOR = 5.0  # fires above 5% errors


def series(bad_minutes: set[int], length: int = 60, total: float = 100.0) -> list[Counts]:
    """Per minute: 100 requests, all failing in ``bad_minutes``, 1% failing otherwise."""
    return [Counts(0.0 if m in bad_minutes else total * 0.99, total) for m in range(length)]


def reading(per_minute: list[Counts], at: int, lengths: list[timedelta]) -> Reading:
    """Running totals at minute ``at`` and at ``at`` minus each length (zero before 0)."""

    def cum(minute: int) -> Counts:
        found = Counts()
        for counts in per_minute[: max(0, minute)]:
            found += counts
        return found

    return Reading(cum(at), {length: cum(at - length // MINUTE) for length in lengths})


def brute(per_minute: list[Counts], at: int, tier: Tier) -> bool:
    """Over the factor over both windows at ``at`` and at every minute of the hold before."""

    def over(end: int, window: timedelta) -> bool:
        span = per_minute[max(0, end - window // MINUTE) : end]
        good, total = sum(c.good for c in span), sum(c.total for c in span)
        return total > 0 and (1 - good / total) / (1 - OBJECTIVE) > tier.factor

    return all(
        over(at - k, tier.long_window) and over(at - k, tier.short_window)
        for k in range(tier.hold // MINUTE + 1)
    )


def firing(per_minute: list[Counts], at: int, tier: Tier) -> bool:
    settings = AlertSettings(True, (tier,), True, min_events=0, no_data_for=None)
    lengths = {
        ago + window
        for ago in [timedelta(0), *tier.hold_offsets(MINUTE)]
        for window in (timedelta(0), tier.long_window, tier.short_window)
    }
    (state,) = tier_states(
        settings,
        reading(per_minute, at, sorted(lengths)),
        OBJECTIVE,
        timeslices=False,
        bucket=MINUTE,
    )
    return state.firing


PATTERNS = {
    "step": set(range(20, 60)),
    "blip-2m": {20, 21},
    "blip-4m": set(range(20, 24)),
    "intermittent": {20, 22, 24, 26, 28, 30},
    "two-bursts": set(range(15, 18)) | set(range(30, 40)),
}


@pytest.mark.parametrize("hold_minutes", [0, 1, 3, 5])
@pytest.mark.parametrize("pattern", PATTERNS, ids=list(PATTERNS))
def test_the_hold_matches_a_brute_force_minute_by_minute(pattern: str, hold_minutes: int) -> None:
    tier = Tier("page", timedelta(minutes=10), timedelta(minutes=2), FACTOR,
                hold=timedelta(minutes=hold_minutes))  # fmt: skip
    per_minute = series(PATTERNS[pattern])
    fired = [at for at in range(1, 60) if firing(per_minute, at, tier)]
    assert fired == [at for at in range(1, 60) if brute(per_minute, at, tier)]
    if pattern == "step":  # a steady burn fires, the hold later by exactly its length
        without = Tier("page", tier.long_window, tier.short_window, FACTOR)
        first = next(at for at in range(1, 60) if firing(per_minute, at, without))
        assert fired[0] == first + hold_minutes


def test_a_short_blip_fires_without_a_hold_and_not_with_one() -> None:
    blip = series({20, 21})
    quick = Tier("page", timedelta(minutes=10), timedelta(minutes=2), FACTOR)
    held = Tier("page", timedelta(minutes=10), timedelta(minutes=2), FACTOR, MINUTE * 3)
    assert any(firing(blip, at, quick) for at in range(60))
    assert not any(firing(blip, at, held) for at in range(60))


@pytest.mark.parametrize(
    ("hold", "offsets"),
    [
        (timedelta(0), []),
        (timedelta(minutes=3), [MINUTE, 2 * MINUTE, 3 * MINUTE]),
        (timedelta(seconds=90), [MINUTE, 2 * MINUTE]),  # rounded up to whole buckets
    ],
)
def test_hold_offsets(hold: timedelta, offsets: list[timedelta]) -> None:
    tier = Tier("page", timedelta(hours=1), timedelta(minutes=5), 14.4, hold)
    assert tier.hold_offsets(MINUTE) == offsets


def test_a_hold_longer_than_the_long_window_is_refused() -> None:
    tier = Tier("page", timedelta(hours=1), timedelta(minutes=5), 14.4, timedelta(hours=2))
    problem = tier_problem(tier, timedelta(days=30))
    assert problem is not None
    assert problem.startswith("its hold (2h) is longer than its long window (1h)")
