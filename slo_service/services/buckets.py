"""Writing (good, total) per bucket and reading running totals, over ``domain.blocks``."""

import bisect
from collections.abc import Sequence

from sqlmodel import Session

from slo_service.domain.blocks import Block, Grid, Layout, cum_at, merge
from slo_service.domain.budget import Counts
from slo_service.domain.series import Buckets
from slo_service.repositories import blocks as block_repo

_FOREVER = 2**62  # later than any block


def write(session: Session, slo_id: int, measured: Buckets, *, layout: Layout, add: bool) -> None:
    """Store counts per bucket: added to what is there (pushed events), or replacing it (a
    measured bucket, so measuring it twice changes nothing). Buckets without data are left
    as they are."""
    grid = Grid.of(measured, layout)
    if grid is None:
        return
    running, stored, later = _around(session, slo_id, grid.first, grid.last)
    rows, delta = merge(grid, stored, running, add=add)
    block_repo.save(session, slo_id, rows, stored=set(stored))
    if later and delta != Counts():
        block_repo.shift_after(session, slo_id, grid.last, delta)


def _around(
    session: Session, slo_id: int, first: int, last: int
) -> tuple[Counts, dict[int, Block], bool]:
    """The running totals before ``first``, the stored blocks in ``[first, last]``, and
    whether any block comes later. Appending, the steady case, costs one query: the SLO's
    newest block tells all three."""
    newest = block_repo.newest_at_or_before(session, slo_id, _FOREVER)
    if newest is None:
        return Counts(), {}, False
    if newest.start < first:
        return newest.after, {}, False
    if newest.start == first == last:
        return newest.before, {first: newest}, False
    previous = block_repo.newest_at_or_before(session, slo_id, first - 1)
    stored = block_repo.between(session, slo_id, first, last)
    return (previous.after if previous else Counts()), stored, newest.start > last


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
