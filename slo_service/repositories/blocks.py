"""Queries on SLI blocks (``domain.blocks``)."""

from collections.abc import Iterable

from sqlalchemy import insert, update
from sqlmodel import Session, col, select

from slo_service.domain.blocks import Block, pack, unpack
from slo_service.domain.budget import Counts
from slo_service.models import SliBlock


def _block(row: SliBlock) -> Block:
    return Block(
        row.start, unpack(row.good), unpack(row.total), Counts(row.good_before, row.total_before)
    )


def newest_at_or_before(session: Session, slo_id: int, start: int) -> Block | None:
    row = session.exec(
        select(SliBlock)
        .where(SliBlock.slo_id == slo_id, col(SliBlock.start) <= start)
        .order_by(col(SliBlock.start).desc())
        .limit(1)
    ).first()
    return None if row is None else _block(row)


def starting_at(session: Session, slo_id: int, starts: Iterable[int]) -> dict[int, Block]:
    """The blocks that start exactly at ``starts``, by start (missing ones are left out)."""
    rows = session.exec(
        select(SliBlock).where(SliBlock.slo_id == slo_id, col(SliBlock.start).in_(list(starts)))
    ).all()
    return {row.start: _block(row) for row in rows}


def between(session: Session, slo_id: int, first: int, last: int) -> dict[int, Block]:
    """Blocks starting in ``[first, last]``, by start."""
    rows = session.exec(
        select(SliBlock).where(
            SliBlock.slo_id == slo_id, col(SliBlock.start) >= first, col(SliBlock.start) <= last
        )
    ).all()
    return {row.start: _block(row) for row in rows}


def save(session: Session, slo_id: int, blocks: Iterable[Block], *, stored: set[int]) -> None:
    """Write the blocks in bulk: insert the new ones, update those in ``stored``."""
    rows = [
        {
            "slo_id": slo_id,
            "start": block.start,
            "good": pack(block.good),
            "total": pack(block.total),
            "good_before": block.before.good,
            "total_before": block.before.total,
        }
        for block in blocks
    ]
    new = [row for row in rows if row["start"] not in stored]
    old = [row for row in rows if row["start"] in stored]
    if new:
        session.execute(insert(SliBlock), new)
    if old:
        session.execute(update(SliBlock), old)


def shift_after(session: Session, slo_id: int, start: int, delta: Counts) -> None:
    """Add ``delta`` to the running totals of every block after ``start``."""
    session.execute(
        update(SliBlock)
        .where(col(SliBlock.slo_id) == slo_id, col(SliBlock.start) > start)
        .values(
            good_before=col(SliBlock.good_before) + delta.good,
            total_before=col(SliBlock.total_before) + delta.total,
        )
    )
