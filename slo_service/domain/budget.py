"""Error-budget math over (good, total) sums. Pure, never rounded.

Objective ``o`` in (0, 1); budget ``E = 1 - o``. Over a window with ``G`` good of ``T``:
SLI = G / T; consumed = (1 - SLI) / E; remaining = 1 - consumed (negative when overspent);
burn rate = (1 - SLI) / E over any window; time to exhaustion = remaining * length / burn.
"""

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import NamedTuple


class State(StrEnum):
    OK = "ok"
    WARNING = "warning"
    EXHAUSTED = "exhausted"
    NO_DATA = "no_data"


class Counts(NamedTuple):
    """Good and total over some span; floats, since ``increase()`` extrapolates. A tuple, as
    millions are made in a backfill; ``+`` and ``-`` work field by field."""

    good: float = 0.0
    total: float = 0.0

    def __add__(self, other: "Counts") -> "Counts":  # type: ignore[override]
        return Counts(self.good + other.good, self.total + other.total)

    def __sub__(self, other: "Counts") -> "Counts":
        return Counts(self.good - other.good, self.total - other.total)


def sli(counts: Counts) -> float | None:
    """Good over total; None when there is no data."""
    return counts.good / counts.total if counts.total > 0 else None


def burn_rate(counts: Counts, objective: float) -> float | None:
    """How many times faster than sustainable the budget burns; 1.0 spends it exactly."""
    ratio = sli(counts)
    return None if ratio is None else (1 - ratio) / (1 - objective)


@dataclass(frozen=True)
class Budget:
    total: float
    consumed: float | None
    remaining: float | None
    remaining_minutes: float | None


def budget(counts: Counts, objective: float, *, length: timedelta, timeslices: bool) -> Budget:
    """The budget over a period of ``length``; minutes only for timeslice budgeting."""
    error_budget = 1 - objective
    consumed = burn_rate(counts, objective)
    remaining = None if consumed is None else 1 - consumed
    minutes = None
    if timeslices and remaining is not None:
        minutes = remaining * error_budget * length.total_seconds() / 60
    return Budget(error_budget, consumed, remaining, minutes)


def time_to_exhaustion(
    remaining: float | None, burn: float | None, *, length: timedelta
) -> float | None:
    """Seconds until the budget is spent at burn rate ``burn``: 0 when already spent,
    None when it is not burning (or there is no data)."""
    if remaining is None:
        return None
    if remaining <= 0:
        return 0.0
    if burn is None or burn <= 0:
        return None
    return remaining * length.total_seconds() / burn


def state(remaining: float | None, *, warn_threshold: float, paging: bool = False) -> State:
    """exhausted at or below 0, warning at or below ``warn_threshold`` or while a page-tier
    alert fires, no_data without data, ok otherwise."""
    if remaining is None:
        return State.NO_DATA
    if remaining <= 0:
        return State.EXHAUSTED
    if remaining <= warn_threshold or paging:
        return State.WARNING
    return State.OK
