"""How long labels take to arrive after their prediction, as a histogram that adds up. Pure.

A delay of ``d`` seconds falls in bin 0 when under a second (a label stamped before its
prediction, from a skewed clock, too), else in bin ``1 + floor(8 * log2(d))``: eight bins per
doubling, so a bin spans a factor of ``2 ** (1/8)`` (about 9%), and a year's delays need some
200 bins. An hour of predictions keeps its bins, the hours of a month add up, and a label that
replaces another takes the old delay out. A quantile is the geometric middle of the bin where it
falls: within about 4.4% of the exact delay (a sub-second one reads as 0).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from slo_service.domain.series import Floats

PER_DOUBLING = 8


def bins_of(seconds: Floats) -> np.ndarray:
    """The bin of each delay."""
    at_least_one = np.maximum(seconds, 1.0)
    found = 1 + np.floor(PER_DOUBLING * np.log2(at_least_one)).astype(np.int64)
    return np.where(seconds < 1.0, 0, found)


def middle(bin_: int) -> float:
    """The delay a bin stands for: 0 for bin 0, else the geometric middle of its span."""
    if bin_ == 0:
        return 0.0
    return float(2 ** ((bin_ - 1 + 0.5) / PER_DOUBLING))


@dataclass(frozen=True)
class Delays:
    """A histogram of label delays: how many fell in each bin (bins with none left out)."""

    counts: Mapping[int, int] = field(default_factory=dict)

    @classmethod
    def of(cls, seconds: Iterable[float]) -> Delays:
        values = np.fromiter(seconds, dtype=np.float64)
        found, counts = np.unique(bins_of(values), return_counts=True)
        return cls(dict(zip(found.tolist(), counts.tolist(), strict=True)))

    @property
    def count(self) -> int:
        return sum(self.counts.values())

    def __add__(self, other: Delays) -> Delays:
        merged = dict(self.counts)
        for bin_, count in other.counts.items():
            merged[bin_] = merged.get(bin_, 0) + count
        return Delays({b: c for b, c in merged.items() if c})

    def __sub__(self, other: Delays) -> Delays:
        return self + Delays({b: -c for b, c in other.counts.items()})

    def quantile(self, q: float) -> float | None:
        """The delay under which a share ``q`` of the labels came (None without labels): the
        middle of the first bin whose running count reaches ``q`` of all."""
        total = self.count
        if total <= 0:
            return None
        wanted = max(1, math.ceil(q * total))
        seen = 0
        for bin_ in sorted(self.counts):
            seen += self.counts[bin_]
            if seen >= wanted:
                return middle(bin_)
        return middle(max(self.counts))

    def to_json(self) -> dict[str, int]:
        return {str(b): c for b, c in sorted(self.counts.items())}

    @classmethod
    def from_json(cls, stored: Mapping[str, int] | None) -> Delays:
        return cls({int(b): int(c) for b, c in (stored or {}).items()})
