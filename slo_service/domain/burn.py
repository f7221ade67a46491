"""Multi-window burn-rate tiers (Google SRE workbook, "Alerting on SLOs"), for any SLO window.

A tier fires when the burn rate over both its long and its short window exceeds its factor.
The default tiers are the workbook's: factors 14.4, 6, 3 and 1 spend 2%, 5%, 10% and 10% of a
30-day budget in their long windows of 1h, 6h, 1d and 3d. For an SLO window ``P`` other than
30 days the factors stay and the windows scale by ``P / 30d`` (as Pyrra does from its 28 days),
rounded to whole buckets and at least one bucket each. So the default tiers spend the same
share of any budget in their long windows, no default tier fires at a burn rate of 1 or less
(the SLO is being met), and no long window looks back further than the SLO's own window.
Calendar windows count by their nominal length: a month as 30 days, a week as 7.

A tier given by the user keeps its windows; its factor is given, or derived from the share of
the budget it spends in its long window (``factor = share * P / long``). It may also ask to
``hold``: fire only once both windows have stayed over the factor for that long, checked at
each bucket boundary (the defaults hold for no time, as the workbook's alerts).
"""

import functools
import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from slo_service.domain.windows import Window, format_duration

Severity = Literal["page", "ticket"]

REFERENCE_PERIOD = timedelta(days=30)
NOMINAL_CALENDAR = {"month": timedelta(days=30), "week": timedelta(days=7)}

# Windows the status reports burn rates over: the default tiers' windows at 30 days.
BURN_WINDOWS: dict[str, timedelta] = {
    "5m": timedelta(minutes=5),
    "30m": timedelta(minutes=30),
    "1h": timedelta(hours=1),
    "2h": timedelta(hours=2),
    "6h": timedelta(hours=6),
    "1d": timedelta(days=1),
    "3d": timedelta(days=3),
}


@dataclass(frozen=True)
class Tier:
    severity: Severity
    long_window: timedelta
    short_window: timedelta
    factor: float
    # How long both windows must stay over the factor before the tier fires (OpenSLO's
    # alertAfter, Prometheus's ``for``); checked at each bucket boundary of that time.
    hold: timedelta = timedelta(0)

    def hold_offsets(self, bucket: timedelta) -> list[timedelta]:
        """The earlier instants, counted back from now, at which the tier must also have been
        over its factor: every bucket boundary within ``hold`` (rounded up to whole buckets)."""
        steps = -(-self.hold // bucket) if self.hold > timedelta(0) else 0
        return [bucket * k for k in range(1, steps + 1)]

    def fires(self, long_burn: float | None, short_burn: float | None) -> bool:
        return (
            long_burn is not None
            and short_burn is not None
            and long_burn > self.factor
            and short_burn > self.factor
        )

    def detection_time(self, burn: float) -> timedelta | None:
        """How long a steady burn at ``burn``, after a clean history, takes to fire the tier:
        until the long window's average passes the factor (the short window's, which fills
        faster, has passed it by then); None when it never fires."""
        if burn <= self.factor:
            return None
        return self.long_window * (self.factor / burn)


WORKBOOK_TIERS = (
    Tier("page", timedelta(hours=1), timedelta(minutes=5), 14.4),
    Tier("page", timedelta(hours=6), timedelta(minutes=30), 6.0),
    Tier("ticket", timedelta(days=1), timedelta(hours=2), 3.0),
    Tier("ticket", timedelta(days=3), timedelta(hours=6), 1.0),
)
"""The default tiers of a 30-day SLO."""


def nominal_length(window: Window) -> timedelta:
    """A rolling window's length; a calendar window's nominal one (month 30d, week 7d)."""
    if window.length is not None:
        return window.length
    assert window.calendar is not None
    return NOMINAL_CALENDAR[window.calendar]


def scale(length: timedelta, period: timedelta, *, bucket: timedelta) -> timedelta:
    """``length`` (a window of a 30-day SLO) for an SLO of ``period``: ``length * P / 30d``,
    rounded to the nearest whole bucket (halves up), at least one bucket."""
    width = int(bucket.total_seconds())
    scaled = int(length.total_seconds()) * int(period.total_seconds())
    reference = int(REFERENCE_PERIOD.total_seconds()) * width
    buckets = max(1, (2 * scaled + reference) // (2 * reference))
    return timedelta(seconds=buckets * width)


@functools.lru_cache(maxsize=256)  # a few distinct windows in a fleet, asked every evaluation
def default_tiers(period: timedelta, *, bucket: timedelta) -> tuple[Tier, ...]:
    """The workbook's tiers with their windows scaled to an SLO of ``period`` (immutable: the
    same tuple is shared by every SLO of that window)."""
    return tuple(
        Tier(
            tier.severity,
            scale(tier.long_window, period, bucket=bucket),
            scale(tier.short_window, period, bucket=bucket),
            tier.factor,
        )
        for tier in WORKBOOK_TIERS
    )


def factor_of_share(share: float, long_window: timedelta, period: timedelta) -> float:
    """The factor of a tier that spends ``share`` of a ``period``'s budget in ``long_window``."""
    return share * (period / long_window)


def share_of_factor(factor: float, long_window: timedelta, period: timedelta) -> float:
    """The share of a ``period``'s budget a tier of ``factor`` spends in ``long_window``."""
    return factor * (long_window / period)


def tier_problem(tier: Tier, period: timedelta) -> str | None:
    """Why a tier given by the user cannot alert well for an SLO of ``period``, or None."""
    if not math.isfinite(tier.factor) or tier.factor < 1:
        return (
            f"its factor {tier.factor:.4g} is under 1: it would fire while the SLO is met "
            "(a burn rate of 1 spends exactly the budget over the window); raise the factor, "
            "or the share of the budget spent in the long window"
        )
    if tier.long_window > period:
        return (
            f"its long window ({format_duration(tier.long_window)}) is longer than the SLO's "
            f"window ({format_duration(period)}): shorten it"
        )
    if tier.short_window >= tier.long_window:
        return "its short window must be shorter than its long window"
    if tier.hold > tier.long_window:
        return (
            f"its hold ({format_duration(tier.hold)}) is longer than its long window "
            f"({format_duration(tier.long_window)}): a burn that lasts that long is the next "
            "tier's to catch; shorten the hold"
        )
    return None
