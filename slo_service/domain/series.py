"""(good, total) per bucket as columns: what a source measures and what gets stored.

A cold backfill moves tens of millions of buckets, so they travel as numpy arrays, never as one
Python object per bucket. A bucket without data has a NaN total: it is neither stored nor
counted (a timeslice SLO's no_data policy has filled it in already when it counts).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from slo_service.domain.budget import Counts

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class Buckets:
    """Consecutive buckets of ``width`` seconds, the first starting at ``start`` (epoch)."""

    start: int
    width: int
    good: Floats
    total: Floats

    def __post_init__(self) -> None:
        if self.good.shape != self.total.shape or self.good.ndim != 1:
            raise ValueError("good and total must be 1-d arrays of one length")

    @classmethod
    def empty(cls, start: int, width: int) -> Buckets:
        return cls(start, width, np.zeros(0), np.zeros(0))

    @classmethod
    def summed(cls, values: Iterable[tuple[int, Counts]], width: int) -> Buckets:
        """Counts by bucket start (pushed events), several in one bucket added up."""
        items = list(values)
        if not items:
            return cls.empty(0, width)
        stamps = np.array([stamp for stamp, _ in items], dtype=np.int64)
        first = int(stamps.min())
        slots = (stamps - first) // width
        size = int(slots.max()) + 1
        good, total = np.zeros(size), np.zeros(size)
        np.add.at(good, slots, [counts.good for _, counts in items])
        np.add.at(total, slots, [counts.total for _, counts in items])
        seen = np.zeros(size, dtype=np.bool_)
        seen[slots] = True
        return cls(first, width, good, np.where(seen, total, np.nan))

    @property
    def present(self) -> Bools:
        """Which buckets have data."""
        return ~np.isnan(self.total)

    @property
    def count(self) -> int:
        """How many buckets have data."""
        return int(self.present.sum())

    @property
    def data_until(self) -> int | None:
        """The end of the last bucket with data (epoch), None when none has any."""
        present = np.flatnonzero(self.present)
        return None if present.size == 0 else self.start + (int(present[-1]) + 1) * self.width

    def items(self) -> list[tuple[int, Counts]]:
        """The buckets with data as (start, counts), for reading and tests (slow at scale)."""
        return [
            (self.start + int(i) * self.width, Counts(float(self.good[i]), float(self.total[i])))
            for i in np.flatnonzero(self.present)
        ]
