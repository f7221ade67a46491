"""How (good, total) per bucket is stored: one block per SLO per hour, holding the hour's
buckets as two packed float arrays and the running totals from before the block.

Any window sum is then ``cum(end) - cum(start)``, and ``cum(t)`` needs one block: reading a
30-day status costs the same as reading a 1-day one, and a 30-day SLO keeps 720 small rows.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from slo_service.domain.budget import Counts

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

    @classmethod
    def empty(cls, start: int, layout: Layout, before: Counts) -> Block:
        zeros = [0.0] * layout.slots
        return cls(start, array("d", zeros), array("d", zeros), before)

    @property
    def sums(self) -> Counts:
        return Counts(sum(self.good), sum(self.total))

    @property
    def after(self) -> Counts:
        return self.before + self.sums

    def through(self, slot: int) -> Counts:
        """Running totals up to (not including) ``slot``."""
        return self.before + Counts(sum(self.good[:slot]), sum(self.total[:slot]))


def pack(values: array[float]) -> bytes:
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


def by_block(
    values: Iterable[tuple[int, Counts]], layout: Layout
) -> Iterator[tuple[int, list[tuple[int, Counts]]]]:
    """Group (bucket start, counts) by block start, blocks in time order."""
    grouped: dict[int, list[tuple[int, Counts]]] = {}
    for stamp, counts in values:
        grouped.setdefault(layout.block_of(stamp), []).append((layout.slot_of(stamp), counts))
    for start in sorted(grouped):
        yield start, grouped[start]


def epoch(at: datetime) -> int:
    return int(at.timestamp())


def instant(stamp: int) -> datetime:
    return datetime.fromtimestamp(stamp, UTC)
