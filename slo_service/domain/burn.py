"""Multi-window burn-rate tiers (Google SRE workbook, "Alerting on SLOs").

A tier spending fraction ``x`` of the budget in its long window ``L`` of a period ``P`` has the
factor ``f = x * P / L``; it fires when the burn rate over both its long and its short window
exceeds ``f``.
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

Severity = Literal["page", "ticket"]

# Windows the status reports burn rates over; every default tier's windows are among them.
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
    budget_spent: float

    def factor(self, period: timedelta) -> float:
        return self.budget_spent * (period / self.long_window)

    def fires(self, long_burn: float | None, short_burn: float | None, period: timedelta) -> bool:
        threshold = self.factor(period)
        return (
            long_burn is not None
            and short_burn is not None
            and long_burn > threshold
            and short_burn > threshold
        )


DEFAULT_TIERS = (
    Tier("page", timedelta(hours=1), timedelta(minutes=5), 0.02),
    Tier("page", timedelta(hours=6), timedelta(minutes=30), 0.05),
    Tier("ticket", timedelta(days=1), timedelta(hours=2), 0.10),
    Tier("ticket", timedelta(days=3), timedelta(hours=6), 0.10),
)
