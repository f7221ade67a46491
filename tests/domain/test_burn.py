from datetime import timedelta

import pytest

from slo_service.domain.burn import BURN_WINDOWS, DEFAULT_TIERS, Tier


@pytest.mark.parametrize(
    ("period", "factors"),
    [
        (timedelta(days=30), [14.4, 6.0, 3.0, 1.0]),
        (timedelta(days=28), [13.44, 5.6, 2.8, 28 / 30]),
        (timedelta(days=7), [3.36, 1.4, 0.7, 7 / 30]),
    ],
    ids=["30d-workbook", "28d", "7d"],
)
def test_default_tier_factors(period: timedelta, factors: list[float]) -> None:
    assert [tier.factor(period) for tier in DEFAULT_TIERS] == pytest.approx(factors)


PAGE = DEFAULT_TIERS[0]


@pytest.mark.parametrize(
    ("long_burn", "short_burn", "fires"),
    [
        (15.0, 20.0, True),
        (15.0, 14.0, False),
        (14.0, 20.0, False),
        (14.4, 14.4, False),
        (None, 20.0, False),
        (20.0, None, False),
    ],
    ids=["both-over", "short-recovered", "long-under", "at-factor", "no-long", "no-short"],
)
def test_a_tier_fires_only_when_both_windows_burn(
    long_burn: float | None, short_burn: float | None, fires: bool
) -> None:
    assert PAGE.fires(long_burn, short_burn, timedelta(days=30)) is fires


def test_tier_windows_are_reported_windows() -> None:
    reported = set(BURN_WINDOWS.values())
    for tier in DEFAULT_TIERS:
        assert {tier.long_window, tier.short_window} <= reported
    assert isinstance(PAGE, Tier)
