"""Writing (good, total) per bucket and reading running totals, over ``domain.blocks``."""

import bisect
from collections.abc import Mapping, Sequence
from typing import cast

from sqlmodel import Session

from slo_service.domain.blocks import (
    BLOCK_SECONDS,
    Block,
    Grid,
    Layout,
    Merged,
    Row,
    cum_at,
    cums_inside,
    merged,
    merged_hours,
)
from slo_service.domain.budget import Counts
from slo_service.domain.series import Buckets
from slo_service.repositories import blocks as block_repo


def write(session: Session, slo_id: int, measured: Buckets, *, layout: Layout, add: bool) -> None:
    """Store counts per bucket: added to what is there (pushed events), or replacing it (a
    measured bucket, so measuring it twice changes nothing). Buckets without data are left
    as they are."""
    write_many(session, {slo_id: measured}, layout=layout, add=add)


def write_many(
    session: Session, measured: Mapping[int, Buckets], *, layout: Layout, add: bool
) -> None:
    """``write`` for many SLOs at once, in a few statements however many SLOs: one lookup of
    every SLO's newest block; the SLOs whose range overlaps stored blocks (a steady cycle's
    minute inside the current hour) read those blocks and the block before them in one query
    each, and rewrite them in one bulk update; the rest is one bulk insert."""
    grids = {slo_id: grid for slo_id, b in measured.items() if (grid := Grid.of(b, layout))}
    newest = block_repo.newest(session, list(grids))
    appended: list[tuple[int, Merged]] = []
    overlapping: dict[int, Grid] = {}
    for slo_id, grid in grids.items():
        last = newest.get(slo_id)
        if last is None or last.start < grid.first:
            appended.append((slo_id, merged(grid, {}, last.after if last else Counts(), add=add)))
        else:
            overlapping[slo_id] = grid
    if overlapping:
        _rewrite(session, overlapping, newest, add=add)
    block_repo.append(session, appended)


def _rewrite(
    session: Session, grids: Mapping[int, Grid], newest: Mapping[int, Block], *, add: bool
) -> None:
    """Lay each grid over the blocks stored in its hours, and move the running totals of the
    blocks after them by what changed."""
    before_grids = [(slo_id, grid.first - 1) for slo_id, grid in grids.items()]
    previous = {
        slo_id: block
        for (slo_id, _), block in block_repo.newest_at_or_before_many(session, before_grids).items()
    }
    # A grid from the newest block's hour on overlaps that block alone (a steady cycle's
    # minute inside the current hour): it is read already. Others read what they overlap.
    stored = {
        slo_id: {grid.first: newest[slo_id]}
        for slo_id, grid in grids.items()
        if newest[slo_id].start == grid.first
    }
    stored |= block_repo.between_many(
        session,
        {slo_id: (g.first, g.last) for slo_id, g in grids.items() if slo_id not in stored},
    )
    befores = {i: block.after if (block := previous.get(i)) else Counts() for i in grids}
    # One hour over its stored block (the steady case) for all such SLOs at once.
    hours = [i for i, g in grids.items() if len(g.good) == 1 and g.first in stored.get(i, {})]
    done = merged_hours(
        [grids[i] for i in hours],
        [stored[i][grids[i].first] for i in hours],
        [befores[i] for i in hours],
        add=add,
    )
    found = dict(zip(hours, done, strict=True))
    for slo_id, grid in grids.items():
        if slo_id not in found:
            found[slo_id] = merged(grid, stored.get(slo_id, {}), befores[slo_id], add=add)
    rows: list[tuple[int, Row]] = []
    kept: set[tuple[int, int]] = set()
    shifts: list[tuple[int, int, Counts]] = []
    for slo_id, grid in grids.items():
        rows += [(slo_id, row) for row in found[slo_id].rows()]
        kept |= {(slo_id, start) for start in stored.get(slo_id, {})}
        delta = found[slo_id].delta
        if newest[slo_id].start > grid.last and delta != Counts():
            shifts.append((slo_id, grid.last, delta))
    block_repo.save(session, rows, stored=kept)
    for slo_id, after, delta in shifts:
        block_repo.shift_after(session, slo_id, after, delta)


def totals_at(
    session: Session, slo_id: int, stamps: Sequence[int], *, layout: Layout
) -> list[Counts]:
    """Running totals just before each instant: the blocks holding them in one query, and an
    indexed lookup only for an instant whose hour has no block (before the data began)."""
    starts = {layout.block_of(stamp) for stamp in stamps}
    found = block_repo.starting_at(session, slo_id, starts)
    totals = []
    for stamp in stamps:
        block = found.get(layout.block_of(stamp))
        if block is None:
            block = block_repo.newest_at_or_before(session, slo_id, layout.block_of(stamp))
        totals.append(cum_at(block, stamp, layout))
    return totals


def totals_at_many(
    session: Session, stamps: Mapping[int, Sequence[int]], *, layout: Layout
) -> dict[int, list[Counts]]:
    """``totals_at`` for many SLOs (id → instants), in a few queries whatever their number:
    an instant on the hour reads only the running totals kept before its block, another its
    block's buckets (summed for all instants at once); an instant whose hour has no block (a
    gap, or before the data began) reads the newest block before it, in one query per
    distinct hour."""
    heads = {i: {s for s in these if not s % BLOCK_SECONDS} for i, these in stamps.items()}
    inside = {i: {layout.block_of(s) for s in these if s % BLOCK_SECONDS}
              for i, these in stamps.items()}  # fmt: skip
    befores = block_repo.befores_at_many(session, heads)
    blocks = block_repo.rows_at_many(session, inside)

    def kept(slo_id: int, stamp: int) -> Counts | Row | None:
        start = layout.block_of(stamp)
        found = befores if stamp in heads[slo_id] else blocks
        return found.get(slo_id, {}).get(start)

    asked = [(slo_id, stamp) for slo_id, these in stamps.items() for stamp in these]
    found = [kept(slo_id, stamp) for slo_id, stamp in asked]
    missing = {(i, layout.block_of(s)) for (i, s), f in zip(asked, found, strict=True) if f is None}
    earlier = block_repo.newest_at_or_before_many(session, missing)
    within = [k for k, f in enumerate(found) if isinstance(f, Row)]
    summed = cums_inside(
        [cast(Row, found[k]) for k in within], [layout.slots_before(asked[k][1]) for k in within]
    )
    totals_of = dict(zip(within, summed, strict=True))
    totals: dict[int, list[Counts]] = {slo_id: [] for slo_id in stamps}
    for k, ((slo_id, stamp), f) in enumerate(zip(asked, found, strict=True)):
        if k in totals_of:
            totals[slo_id].append(totals_of[k])
        elif isinstance(f, Counts):
            totals[slo_id].append(f)
        else:
            totals[slo_id].append(
                cum_at(earlier.get((slo_id, layout.block_of(stamp))), stamp, layout)
            )
    return totals


def totals_over(
    session: Session, slo_id: int, stamps: Sequence[int], *, layout: Layout
) -> list[Counts]:
    """Running totals before many instants at once: one read of the blocks they span (for
    series of points; a few scattered instants are cheaper with ``totals_at``)."""
    if not stamps:
        return []
    first, last = layout.block_of(min(stamps)), layout.block_of(max(stamps))
    previous = block_repo.newest_at_or_before(session, slo_id, first - 1)
    stored = block_repo.between(session, slo_id, first, last)
    starts = sorted(stored)
    totals = []
    for stamp in stamps:
        index = bisect.bisect_right(starts, layout.block_of(stamp)) - 1
        block = stored[starts[index]] if index >= 0 else previous
        totals.append(cum_at(block, stamp, layout))
    return totals
