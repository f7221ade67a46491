"""Burn-rate tiers for every SLO window, by table: the workbook's at 30 days, scaled windows
elsewhere, and what steady burns fire when (simulated minute by minute)."""

from datetime import timedelta

import numpy as np
import pytest

from slo_service.domain.burn import (
    BURN_WINDOWS,
    WORKBOOK_TIERS,
    Tier,
    default_tiers,
    factor_of_share,
    nominal_length,
    scale,
    share_of_factor,
    tier_problem,
)
from slo_service.domain.windows import format_duration, parse_window

MINUTE = timedelta(minutes=1)
WINDOWS = ["1h", "12h", "1d", "7d", "28d", "30d", "week", "month"]


def _tiers(window: str) -> tuple[Tier, ...]:
    return default_tiers(nominal_length(parse_window(window)), bucket=MINUTE)


def _shape(tiers: tuple[Tier, ...]) -> list[tuple[str, str, str, float]]:
    return [
        (t.severity, format_duration(t.long_window), format_duration(t.short_window), t.factor)
        for t in tiers
    ]


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        ("30d", [("page", "1h", "5m", 14.4), ("page", "6h", "30m", 6.0),
                 ("ticket", "1d", "2h", 3.0), ("ticket", "3d", "6h", 1.0)]),
        ("month", [("page", "1h", "5m", 14.4), ("page", "6h", "30m", 6.0),
                   ("ticket", "1d", "2h", 3.0), ("ticket", "3d", "6h", 1.0)]),
        ("7d", [("page", "14m", "1m", 14.4), ("page", "84m", "7m", 6.0),
                ("ticket", "336m", "28m", 3.0), ("ticket", "1008m", "84m", 1.0)]),
        ("week", [("page", "14m", "1m", 14.4), ("page", "84m", "7m", 6.0),
                  ("ticket", "336m", "28m", 3.0), ("ticket", "1008m", "84m", 1.0)]),
        ("28d", [("page", "56m", "5m", 14.4), ("page", "336m", "28m", 6.0),
                 ("ticket", "1344m", "112m", 3.0), ("ticket", "4032m", "336m", 1.0)]),
        ("1d", [("page", "2m", "1m", 14.4), ("page", "12m", "1m", 6.0),
                ("ticket", "48m", "4m", 3.0), ("ticket", "144m", "12m", 1.0)]),
        ("1h", [("page", "1m", "1m", 14.4), ("page", "1m", "1m", 6.0),
                ("ticket", "2m", "1m", 3.0), ("ticket", "6m", "1m", 1.0)]),
    ],
    ids=["30d-workbook", "month", "7d", "week", "28d", "1d", "1h"],
)  # fmt: skip
def test_default_tiers_scale_their_windows_and_keep_the_factors(
    window: str, expected: list[tuple[str, str, str, float]]
) -> None:
    assert _shape(_tiers(window)) == expected


def test_a_30_day_slo_keeps_exactly_the_workbook_tiers() -> None:
    assert default_tiers(timedelta(days=30), bucket=MINUTE) == WORKBOOK_TIERS
    reported = set(BURN_WINDOWS.values())
    assert all({t.long_window, t.short_window} <= reported for t in WORKBOOK_TIERS)


@pytest.mark.parametrize(
    ("length", "period", "bucket", "expected"),
    [
        (timedelta(minutes=5), timedelta(days=7), MINUTE, MINUTE),  # 70 s: one bucket
        (timedelta(minutes=5), timedelta(hours=1), MINUTE, MINUTE),  # 0.4 s: at least one
        (timedelta(hours=1), timedelta(days=7), MINUTE, timedelta(minutes=14)),
        (timedelta(hours=1), timedelta(days=9), MINUTE, timedelta(minutes=18)),
        # 45 s is 1.5 buckets of 30 s: halves round up, to two
        (timedelta(minutes=5), timedelta(days=4, hours=12), timedelta(seconds=30),
         timedelta(seconds=60)),
        (timedelta(hours=1), timedelta(days=7), timedelta(minutes=5), timedelta(minutes=15)),
    ],
    ids=["rounds-down", "at-least-one", "7d", "9d", "half-up", "5m-buckets"],
)  # fmt: skip
def test_scale_rounds_to_whole_buckets(
    length: timedelta, period: timedelta, bucket: timedelta, expected: timedelta
) -> None:
    assert scale(length, period, bucket=bucket) == expected


def _every_window() -> list[str]:
    hours = [f"{h}h" for h in range(1, 48)]
    days = [f"{d}d" for d in range(2, 367)]
    return [*hours, *days, "week", "month"]


@pytest.mark.parametrize("bucket", [MINUTE, timedelta(minutes=5)], ids=["1m", "5m"])
def test_invariants_hold_for_every_window_from_1h_to_366d(bucket: timedelta) -> None:
    """No default tier fires at a steady burn of 1 or less, none looks back further than the
    SLO's window, and every window is whole buckets."""
    for window in _every_window():
        period = nominal_length(parse_window(window))
        for tier in default_tiers(period, bucket=bucket):
            assert tier.factor >= 1, (window, tier)
            assert not tier.fires(1.0, 1.0), (window, tier)
            assert tier.long_window <= period, (window, tier)
            assert bucket <= tier.short_window <= tier.long_window, (window, tier)
            assert tier.long_window % bucket == timedelta(0), (window, tier)
            assert tier_problem(tier, period) in (None, _SAME_WINDOWS), (window, tier)


_SAME_WINDOWS = "its short window must be shorter than its long window"


def _first_firing(tiers: tuple[Tier, ...], burn: float, period: timedelta) -> dict[str, int]:
    """Minute by minute: a clean history of one window, then a steady ``burn`` for one window
    at 1,000 requests a minute; the first minute of the burn at which each severity fires."""
    minutes = int(period / MINUTE)
    budget = 0.001
    bad = np.concatenate([np.zeros(minutes), np.full(minutes, burn * budget * 1000)])
    cumulative = np.concatenate([[0.0], np.cumsum(bad)])
    first: dict[str, int] = {}
    for k in range(1, minutes + 1):
        now = minutes + k

        def rate(window: timedelta, now: int = now) -> float:
            width = int(window / MINUTE)
            return float(cumulative[now] - cumulative[now - width]) / (width * 1000) / budget

        for tier in tiers:
            if tier.severity not in first and tier.fires(rate(tier.long_window),
                                                          rate(tier.short_window)):  # fmt: skip
                first[tier.severity] = k
        if len(first) == 2:
            break
    return first


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize(
    ("burn", "fires"),
    [(0.5, set()), (0.99, set()), (1.5, {"ticket"}), (3.5, {"ticket"}), (7.0, {"page", "ticket"}),
     (20.0, {"page", "ticket"})],
    ids=["0.5", "0.99", "1.5", "3.5", "7", "20"],
)  # fmt: skip
def test_steady_burns_fire_what_they_should_and_fast_enough(
    window: str, burn: float, fires: set[str]
) -> None:
    period = nominal_length(parse_window(window))
    tiers = default_tiers(period, bucket=MINUTE)
    first = _first_firing(tiers, burn, period)
    assert set(first) == fires
    if "page" in fires:
        fastest = min(t.detection_time(burn) or period for t in tiers if t.severity == "page")
        assert first["page"] <= int(fastest / MINUTE) + 1, (first, fastest)


@pytest.mark.parametrize(
    ("tier", "period", "problem"),
    [
        (Tier("page", timedelta(hours=1), timedelta(minutes=5), 14.4), timedelta(days=30), None),
        (Tier("ticket", timedelta(days=3), timedelta(hours=6), 1.0), timedelta(days=30), None),
        (Tier("page", timedelta(hours=1), timedelta(minutes=5), 0.7), timedelta(days=7),
         "its factor 0.7 is under 1"),
        (Tier("ticket", timedelta(days=3), timedelta(hours=6), 2.0), timedelta(days=1),
         "its long window (3d) is longer than the SLO's window (1d)"),
    ],
    ids=["workbook-page", "factor-1", "under-1", "longer-than-window"],
)  # fmt: skip
def test_tier_problem_says_what_to_fix(tier: Tier, period: timedelta, problem: str | None) -> None:
    found = tier_problem(tier, period)
    assert (found is None) if problem is None else (found is not None and problem in found)


@pytest.mark.parametrize(
    ("share", "long_window", "period", "factor"),
    [(0.02, timedelta(hours=1), timedelta(days=30), 14.4),
     (0.10, timedelta(days=1), timedelta(days=7), 0.7),
     (0.05, timedelta(hours=6), timedelta(days=30), 6.0)],
    ids=["page-30d", "ticket-7d-too-low", "6h-30d"],
)  # fmt: skip
def test_share_and_factor_convert_both_ways(
    share: float, long_window: timedelta, period: timedelta, factor: float
) -> None:
    assert factor_of_share(share, long_window, period) == pytest.approx(factor)
    assert share_of_factor(factor, long_window, period) == pytest.approx(share)


@pytest.mark.parametrize(
    ("burn", "expected"),
    [(20.0, timedelta(minutes=43, seconds=12)), (14.4, None), (144.0, timedelta(minutes=6))],
    ids=["20x", "at-factor", "144x"],
)
def test_detection_time(burn: float, expected: timedelta | None) -> None:
    assert WORKBOOK_TIERS[0].detection_time(burn) == expected
