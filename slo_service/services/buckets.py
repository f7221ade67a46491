"""Writing (good, total) per bucket and reading running totals, over ``domain.blocks``."""

import bisect
from collections.abc import Mapping, Sequence

from sqlmodel import Session

from slo_service.domain.blocks import BLOCK_SECONDS, Block, Grid, Layout, Row, cum_at, merge
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
    """``write`` for many SLOs at once. Appending after an SLO's newest block, the steady
    case and a backfill's, costs one lookup of every SLO's newest block and one bulk insert;
    only an SLO whose range overlaps stored blocks reads them."""
    grids = {slo_id: grid for slo_id, b in measured.items() if (grid := Grid.of(b, layout))}
    newest = block_repo.newest(session, list(grids))
    appended: list[tuple[int, Row]] = []
    for slo_id, grid in grids.items():
        last = newest.get(slo_id)
        if last is None or last.start < grid.first:
            rows, _ = merge(grid, {}, last.after if last else Counts(), add=add)
            appended += [(slo_id, row) for row in rows]
            continue
        previous = block_repo.newest_at_or_before(session, slo_id, grid.first - 1)
        stored = block_repo.between(session, slo_id, grid.first, grid.last)
        rows, delta = merge(grid, stored, previous.after if previous else Counts(), add=add)
        block_repo.save(
            session, [(slo_id, row) for row in rows], stored={(slo_id, s) for s in stored}
        )
        if last.start > grid.last and delta != Counts():
            block_repo.shift_after(session, slo_id, grid.last, delta)
    block_repo.save(session, appended, stored=set())


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
    block's buckets; an instant whose hour has no block (a gap, or before the data began)
    reads the newest block before it, in one query per distinct hour."""
    heads = {i: {s for s in these if not s % BLOCK_SECONDS} for i, these in stamps.items()}
    inside = {i: {layout.block_of(s) for s in these if s % BLOCK_SECONDS}
              for i, these in stamps.items()}  # fmt: skip
    befores = block_repo.befores_at_many(session, heads)
    blocks = block_repo.starting_at_many(session, inside)

    def kept(slo_id: int, stamp: int) -> Counts | Block | None:
        start = layout.block_of(stamp)
        found = befores if stamp in heads[slo_id] else blocks
        return found.get(slo_id, {}).get(start)

    missing = {
        (slo_id, layout.block_of(stamp))
        for slo_id, these in stamps.items()
        for stamp in these
        if kept(slo_id, stamp) is None
    }
    earlier = block_repo.newest_at_or_before_many(session, missing)
    totals: dict[int, list[Counts]] = {}
    for slo_id, these in stamps.items():
        totals[slo_id] = []
        for stamp in these:
            found = kept(slo_id, stamp) or earlier.get((slo_id, layout.block_of(stamp)))
            totals[slo_id].append(
                found if isinstance(found, Counts) else cum_at(found, stamp, layout)
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
