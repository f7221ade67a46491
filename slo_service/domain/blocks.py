"""How (good, total) per bucket is stored: one block per SLO per hour, holding the hour's
buckets as two packed float arrays and the running totals from before the block.

Any window sum is then ``cum(end) - cum(start)``, and ``cum(t)`` needs one block: reading a
30-day status costs the same as reading a 1-day one, and a 30-day SLO keeps 720 small rows.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

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


def cums_inside(rows: Sequence[Row], slots: Sequence[int]) -> list[Counts]:
    """``cum_at`` of many instants, each inside the block of ``rows`` at its place, with
    ``slots`` of that block's buckets before it: a status reads about ten blocks per SLO, a
    cycle 100,000, so they are summed by numpy for all blocks at once rather than one block
    at a time. The buckets are added in order from zero as ``sum`` adds them, so the totals
    are the very same floats."""
    if not rows:
        return []
    width = len(rows[0].good)
    if any(len(row.good) != width or len(row.total) != width for row in rows):
        # Blocks of other bucket widths (the setting changed): one at a time.
        return [
            Block(row.start, unpack(row.good), unpack(row.total), row.before).through(slot)
            for row, slot in zip(rows, slots, strict=True)
        ]
    at, cut = np.arange(len(rows)), np.asarray(slots, dtype=np.int64)
    before = np.array([row.before for row in rows], dtype=np.float64).reshape(-1, 2)
    good = before[:, 0] + _running(b"".join(row.good for row in rows), len(rows))[at, cut]
    total = before[:, 1] + _running(b"".join(row.total for row in rows), len(rows))[at, cut]
    return [Counts(g, t) for g, t in zip(good.tolist(), total.tolist(), strict=True)]


def _running(packed: bytes, count: int) -> Floats:
    """Rows of running sums of ``count`` packed blocks: 0.0, then after each bucket."""
    values = np.frombuffer(packed, dtype=np.float64).reshape(count, -1)
    return np.cumsum(np.concatenate([np.zeros((count, 1)), values], axis=1), axis=1)


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
    found = merged(grid, stored, before, add=add)
    return found.rows(), found.delta


@dataclass(frozen=True, eq=False)
class Merged:
    """What ``merge`` writes, as arrays (a backfill writes hundreds of thousands of blocks):
    the blocks' starts, their buckets (a row of slots each) and running totals before them,
    and how much the totals after the grid's last hour moved."""

    starts: npt.NDArray[np.int64]
    good: Floats
    total: Floats
    before: Floats
    delta: Counts

    def rows(self) -> list[Row]:
        return [
            Row(start, pack(good), pack(total), Counts(before[0], before[1]))
            for start, good, total, before in zip(
                self.starts.tolist(), self.good, self.total, self.before.tolist(), strict=True
            )
        ]


def merged(grid: Grid, stored: Mapping[int, Block], before: Counts, *, add: bool) -> Merged:
    """``merge``'s blocks as arrays."""
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
    written = np.flatnonzero(
        grid.measured.any(axis=1)
        | (~np.isnan(old_before[:, 0]) & (befores != old_before).any(axis=1))
    )
    delta = Counts(float(good.sum() - old_good.sum()), float(total.sum() - old_total.sum()))
    starts = grid.first + written.astype(np.int64) * BLOCK_SECONDS
    return Merged(starts, good[written], total[written], befores[written], delta)


def merged_hours(
    grids: Sequence[Grid], stored: Sequence[Block | None], befores: Sequence[Counts], *, add: bool
) -> list[Merged]:
    """``merged`` of many one-hour grids, each over the block stored in its hour (or none),
    computed for all at once (a steady cycle rewrites the current hour of every SLO): the
    very floats ``merged`` gives, grid by grid."""
    if not grids:
        return []
    good, total = np.concatenate([g.good for g in grids]), np.concatenate([g.total for g in grids])
    measured = np.concatenate([g.measured for g in grids])
    if good.shape[0] != len(grids):
        raise ValueError("merged_hours merges grids of one hour each")
    old_good, old_total = np.zeros_like(good), np.zeros_like(total)
    old_before = np.full((len(grids), 2), np.nan)
    for row, block in enumerate(stored):
        if block is not None:
            old_good[row], old_total[row] = block.good, block.total
            old_before[row] = block.before
    new_good = np.where(measured, old_good + good if add else good, old_good)
    new_total = np.where(measured, old_total + total if add else total, old_total)
    before = np.asarray(befores, dtype=np.float64).reshape(-1, 2) + np.zeros((1, 2))
    written = measured.any(axis=1) | (
        ~np.isnan(old_before[:, 0]) & (before != old_before).any(axis=1)
    )
    moved_good = (new_good.sum(axis=1) - old_good.sum(axis=1)).tolist()
    moved_total = (new_total.sum(axis=1) - old_total.sum(axis=1)).tolist()
    return [
        Merged(
            np.array([grid.first] if written[row] else [], dtype=np.int64),
            new_good[row : row + 1] if written[row] else new_good[:0],
            new_total[row : row + 1] if written[row] else new_total[:0],
            before[row : row + 1] if written[row] else before[:0],
            Counts(moved_good[row], moved_total[row]),
        )
        for row, grid in enumerate(grids)
    ]


def epoch(at: datetime) -> int:
    return int(at.timestamp())


def instant(stamp: int) -> datetime:
    return datetime.fromtimestamp(stamp, UTC)
