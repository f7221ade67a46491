"""How (good, total) per bucket is stored: one block per SLO per hour, holding the hour's
buckets as two packed float arrays and the running totals from before the block.

Any window sum is then ``cum(end) - cum(start)``, and ``cum(t)`` needs one block: reading a
30-day status costs the same as reading a 1-day one, and a 30-day SLO keeps 720 small rows.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

import numpy as np

from slo_service.domain.budget import Counts
from slo_service.domain.series import Bools, Buckets, Floats

BLOCK_SECONDS = 3600


@dataclass(frozen=True)
class Layout:
    """Where a bucket lives: its block and its slot in it."""

    bucket_seconds: int

    def __post_init__(self) -> None:
        if BLOCK_SECONDS % self.bucket_seconds:
            raise ValueError(f"the bucket ({self.bucket_seconds} s) must divide an hour")

    @property
    def slots(self) -> int:
        return BLOCK_SECONDS // self.bucket_seconds

    def block_of(self, stamp: int) -> int:
        return stamp - stamp % BLOCK_SECONDS

    def slot_of(self, stamp: int) -> int:
        return (stamp % BLOCK_SECONDS) // self.bucket_seconds

    def slots_before(self, stamp: int) -> int:
        """How many buckets of its block start before ``stamp``."""
        return -(-(stamp % BLOCK_SECONDS) // self.bucket_seconds)


@dataclass
class Block:
    """One hour of one SLO: per-bucket good and total, and the running totals before it."""

    start: int
    good: array[float]
    total: array[float]
    before: Counts = field(default_factory=Counts)

    @property
    def sums(self) -> Counts:
        return Counts(sum(self.good), sum(self.total))

    @property
    def after(self) -> Counts:
        return self.before + self.sums

    def through(self, slot: int) -> Counts:
        """Running totals up to (not including) ``slot``."""
        return self.before + Counts(sum(self.good[:slot]), sum(self.total[:slot]))


def pack(values: array[float] | Floats) -> bytes:
    """Float64s in machine order: how a block's good and total are stored."""
    return values.tobytes()


def unpack(data: bytes) -> array[float]:
    values = array("d")
    values.frombytes(data)
    return values


def cum_at(block: Block | None, stamp: int, layout: Layout) -> Counts:
    """Running totals of the buckets that start before ``stamp``, given the newest block that
    starts at or before it (None when there is none: nothing was counted before ``stamp``)."""
    if block is None:
        return Counts()
    if block.start != layout.block_of(stamp):
        return block.after
    return block.through(layout.slots_before(stamp))


class Row(NamedTuple):
    """A block as stored: its start, its packed good and total, the running totals before it."""

    start: int
    good: bytes
    total: bytes
    before: Counts


@dataclass(frozen=True, eq=False)
class Grid:
    """Measured buckets laid out as blocks: a row of slots per hour from ``first``, and which
    slots were measured (only those are written)."""

    first: int
    good: Floats
    total: Floats
    measured: Bools

    @property
    def last(self) -> int:
        return self.first + (len(self.good) - 1) * BLOCK_SECONDS

    @classmethod
    def of(cls, buckets: Buckets, layout: Layout) -> Grid | None:
        """The hours from the first to the last bucket with data; None when none has."""
        if buckets.width != layout.bucket_seconds:
            raise ValueError(f"{buckets.width} s buckets in a {layout.bucket_seconds} s layout")
        if buckets.start % buckets.width:
            raise ValueError(f"buckets must start on a bucket boundary, not at {buckets.start}")
        present = np.flatnonzero(buckets.present)
        if not len(present):
            return None
        low, high = int(present[0]), int(present[-1]) + 1
        first = layout.block_of(buckets.start + low * buckets.width)
        last = layout.block_of(buckets.start + (high - 1) * buckets.width)
        size = ((last - first) // BLOCK_SECONDS + 1) * layout.slots
        at = (buckets.start + low * buckets.width - first) // buckets.width
        measured = np.zeros(size, dtype=np.bool_)
        measured[at : at + high - low] = buckets.present[low:high]
        good, total = np.zeros(size), np.zeros(size)
        good[at : at + high - low] = buckets.good[low:high]
        total[at : at + high - low] = buckets.total[low:high]
        shape = (-1, layout.slots)
        return cls(
            first,
            np.where(measured, good, 0.0).reshape(shape),
            np.where(measured, total, 0.0).reshape(shape),
            measured.reshape(shape),
        )


def merge(
    grid: Grid, stored: Mapping[int, Block], before: Counts, *, add: bool
) -> tuple[list[Row], Counts]:
    """Lay ``grid`` over the ``stored`` blocks of its hours (its counts added to theirs, or
    replacing them), with running totals from ``before``: the blocks to write (new or changed)
    and how much the totals after the grid's last hour moved."""
    old_good, old_total = np.zeros_like(grid.good), np.zeros_like(grid.total)
    old_before = np.full((len(grid.good), 2), np.nan)
    for start, block in stored.items():
        row = (start - grid.first) // BLOCK_SECONDS
        old_good[row], old_total[row] = block.good, block.total
        old_before[row] = block.before
    good = np.where(grid.measured, old_good + grid.good if add else grid.good, old_good)
    total = np.where(grid.measured, old_total + grid.total if add else grid.total, old_total)
    sums = np.stack([good.sum(axis=1), total.sum(axis=1)], axis=1)
    earlier = np.concatenate([np.zeros((1, 2)), np.cumsum(sums, axis=0)[:-1]])
    befores = np.asarray(before, dtype=np.float64) + earlier
    written = grid.measured.any(axis=1) | (
        ~np.isnan(old_before[:, 0]) & (befores != old_before).any(axis=1)
    )
    rows = [
        Row(
            grid.first + int(i) * BLOCK_SECONDS,
            pack(good[i]),
            pack(total[i]),
            Counts(float(befores[i, 0]), float(befores[i, 1])),
        )
        for i in np.flatnonzero(written)
    ]
    delta = Counts(float(good.sum() - old_good.sum()), float(total.sum() - old_total.sum()))
    return rows, delta


def epoch(at: datetime) -> int:
    return int(at.timestamp())


def instant(stamp: int) -> datetime:
    return datetime.fromtimestamp(stamp, UTC)
