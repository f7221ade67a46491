"""Queries on SLI blocks (``domain.blocks``)."""

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy import BigInteger, Integer, bindparam, func, insert, literal_column, update
from sqlalchemy import select as plain
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session, col, select

from slo_service.domain.blocks import Block, Row, unpack
from slo_service.domain.budget import Counts
from slo_service.models import SLO, SliBlock


class _Stored(Protocol):
    start: int
    good: bytes
    total: bytes
    good_before: float
    total_before: float


def _block(row: _Stored) -> Block:
    return Block(
        row.start, unpack(row.good), unpack(row.total), Counts(row.good_before, row.total_before)
    )


def newest(session: Session, slo_ids: Sequence[int]) -> dict[int, Block]:
    """Each SLO's newest block, for SLOs that have one, in one query: an indexed max per SLO,
    joined to the block by key (however many blocks the SLOs keep)."""
    if not slo_ids:
        return {}
    newest_start = (
        select(func.max(SliBlock.start))
        .where(col(SliBlock.slo_id) == col(SLO.id))
        .scalar_subquery()
    )
    keys = (
        select(col(SLO.id).label("slo_id"), newest_start.label("start"))
        .where(col(SLO.id).in_(slo_ids))
        .subquery()
    )
    rows = session.exec(
        select(SliBlock).join(
            keys, (col(SliBlock.slo_id) == keys.c.slo_id) & (col(SliBlock.start) == keys.c.start)
        )
    ).all()
    return {row.slo_id: _block(row) for row in rows}


def oldest_start(session: Session, slo_id: int) -> int | None:
    """The start of the SLO's oldest block (a lookup on the primary key), None without data."""
    oldest: int | None = session.exec(
        select(func.min(SliBlock.start)).where(SliBlock.slo_id == slo_id)
    ).one()
    return oldest


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


def starting_at_many(
    session: Session, starts: Mapping[int, Iterable[int]]
) -> dict[int, dict[int, Block]]:
    """The blocks of each SLO (id → block starts) that exist, read as plain rows (no ORM
    objects: a page reads thousands)."""
    found: dict[int, dict[int, Block]] = {}
    for row in _rows_at_many(session, starts, _COLUMNS):
        found.setdefault(row.slo_id, {})[row.start] = _block(row)
    return found


def befores_at_many(
    session: Session, starts: Mapping[int, Iterable[int]]
) -> dict[int, dict[int, Counts]]:
    """The running totals before each block of ``starts`` that exists: the totals at those
    instants, without reading the blocks' buckets."""
    found: dict[int, dict[int, Counts]] = {}
    for row in _rows_at_many(session, starts, ("slo_id", "start", "good_before", "total_before")):
        found.setdefault(row.slo_id, {})[row.start] = Counts(row.good_before, row.total_before)
    return found


def _rows_at_many(
    session: Session, starts: Mapping[int, Iterable[int]], names: Sequence[str]
) -> Iterator[Any]:
    """Rows of ``names`` of the blocks wanted, in one query: the wanted (SLO id, start) pairs
    travel as two arrays joined to the blocks by key."""
    pairs = [(slo_id, start) for slo_id, these in starts.items() for start in these]
    if not pairs:
        return
    wanted = _pairs(session, pairs)
    columns = [col(getattr(SliBlock, name)) for name in names]
    yield from session.execute(
        plain(*columns).join(
            wanted,
            (col(SliBlock.slo_id) == wanted.c.slo_id) & (col(SliBlock.start) == wanted.c.start),
        )
    ).all()


def _pairs(session: Session, pairs: Sequence[tuple[int, int]]) -> Any:
    """(SLO id, start) pairs as a table of two columns, from two parameters however many
    pairs: Postgres unnests two arrays, SQLite a JSON array."""
    if session.connection().dialect.name == "postgresql":
        ids, starts = zip(*pairs, strict=True)
        return (
            func.unnest(
                bindparam("ids", list(ids), type_=ARRAY(Integer), unique=True),
                bindparam("starts", list(starts), type_=ARRAY(BigInteger), unique=True),
            )
            .table_valued("slo_id", "start")
            .render_derived()
        )
    each = func.json_each(json.dumps(pairs)).table_valued("value")
    return plain(
        func.json_extract(each.c.value, "$[0]").label("slo_id"),
        func.json_extract(each.c.value, "$[1]").label("start"),
    ).subquery()


def _among(session: Session, column: Any, ids: Sequence[int]) -> Any:
    """``column IN ids`` as one parameter however many ids (10,000 SLOs would be 10,000 bound
    parameters to compile and send): a Postgres array, or a JSON array SQLite unnests."""
    if session.connection().dialect.name == "postgresql":
        return column == func.any(bindparam("ids", list(ids), type_=ARRAY(Integer), unique=True))
    unnested: Any = plain(literal_column("value")).select_from(
        func.json_each(json.dumps(list(ids)))
    )
    return column.in_(unnested)


def newest_at_or_before_many(
    session: Session, wanted: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], Block]:
    """For each (SLO id, start), the SLO's newest block starting at or before it (left out
    when there is none): one query per distinct start, however many SLOs ask for it."""
    by_start: dict[int, list[int]] = {}
    for slo_id, start in wanted:
        by_start.setdefault(start, []).append(slo_id)
    found: dict[tuple[int, int], Block] = {}
    columns = [col(getattr(SliBlock, name)) for name in _COLUMNS]
    for start, ids in by_start.items():
        newest_start = (
            plain(col(SliBlock.slo_id).label("slo_id"), func.max(SliBlock.start).label("at"))
            .where(_among(session, col(SliBlock.slo_id), ids), col(SliBlock.start) <= start)
            .group_by(col(SliBlock.slo_id))
            .subquery()
        )
        rows = session.execute(
            plain(*columns).join(
                newest_start,
                (col(SliBlock.slo_id) == newest_start.c.slo_id)
                & (col(SliBlock.start) == newest_start.c.at),
            )
        ).all()
        for row in rows:
            found[(row.slo_id, start)] = _block(row)
    return found


_IDS = 500


def between(session: Session, slo_id: int, first: int, last: int) -> dict[int, Block]:
    """Blocks starting in ``[first, last]``, by start."""
    rows = session.exec(
        select(SliBlock).where(
            SliBlock.slo_id == slo_id, col(SliBlock.start) >= first, col(SliBlock.start) <= last
        )
    ).all()
    return {row.start: _block(row) for row in rows}


_COLUMNS = ("slo_id", "start", "good", "total", "good_before", "total_before")


def save(
    session: Session, rows: Sequence[tuple[int, Row]], *, stored: set[tuple[int, int]]
) -> None:
    """Write blocks of SLOs in bulk: insert the new ones (COPY on Postgres: a backfill writes
    hundreds of thousands), update those whose (SLO, start) is in ``stored``."""
    values = [(slo_id, r.start, r.good, r.total, *r.before) for slo_id, r in rows]
    new = [row for row in values if (row[0], row[1]) not in stored]
    old = [dict(zip(_COLUMNS, row, strict=True)) for row in values if (row[0], row[1]) in stored]
    if new:
        _insert(session, new)
    if old:
        session.execute(update(SliBlock), old)


def _insert(session: Session, rows: Sequence[tuple[object, ...]]) -> None:
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        session.execute(insert(SliBlock), [dict(zip(_COLUMNS, row, strict=True)) for row in rows])
        return
    driver = connection.connection.driver_connection
    assert driver is not None
    with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY sli_block ({', '.join(_COLUMNS)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


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
