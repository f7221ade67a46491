"""Two writers of one service's drift store at once, on a real Postgres (SQLite has one writer
at a time, so it cannot race)."""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from slo_service.db import session_scope
from slo_service.domain import drift_columns
from slo_service.domain.blocks import Layout
from slo_service.errors import Conflict
from slo_service.models import DriftBatch, DriftReference
from slo_service.services.drift import store as drift
from tests.api.test_drift import batch_columns, reference_columns

Writer = Callable[[Session], None]


def _postgres_only(db: Engine) -> None:
    if db.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers: nothing to race")


def _blocked_second_writer(db: Engine, write: Writer) -> Exception | None:
    """Run ``write`` in a first transaction, hold it open while a second one runs the same
    write, commit the first, and return what the second raised."""
    with ThreadPoolExecutor(1) as pool, session_scope(db) as first:
        write(first)
        second = pool.submit(_attempt, db, write)
        with pytest.raises(TimeoutError):
            second.result(timeout=1)  # waits on the first one's row lock
    return second.result(timeout=30)


def _attempt(db: Engine, write: Writer) -> Exception | None:
    try:
        with session_scope(db) as session:
            write(session)
    except Exception as exc:
        return exc
    return None


def test_two_references_at_once_keep_one_version_each_or_conflict(db: Engine) -> None:
    _postgres_only(db)
    columns = drift_columns.from_json(reference_columns(rows=500), {})

    def write(session: Session) -> None:
        drift.create_reference(session, "m", columns, bins=10, actor="tests")

    error = _blocked_second_writer(db, write)
    assert isinstance(error, Conflict)
    assert "send it again" in error.detail
    with Session(db) as session:
        versions = session.exec(select(DriftReference.version)).all()
    assert versions == [1]
    assert _attempt(db, write) is None  # sent again: version 2
    with Session(db) as session:
        assert session.exec(select(func.max(DriftReference.version))).one() == 2


def test_the_same_batch_id_at_once_is_stored_once(db: Engine) -> None:
    _postgres_only(db)
    with session_scope(db) as session:
        drift.create_reference(
            session, "m", drift_columns.from_json(reference_columns(rows=500), {}), bins=10,
            actor="tests",
        )  # fmt: skip
        types = drift.reference_types(session, "m")
    columns = drift_columns.from_json(batch_columns(rows=200), types)

    def write(session: Session) -> None:
        drift.ingest_batch(
            session, "m", columns, observed_at=None, batch_key="b-1",
            now=datetime.now(UTC), layout=Layout(60),
        )  # fmt: skip

    assert isinstance(_blocked_second_writer(db, write), Conflict)
    with Session(db) as session:
        batches = session.exec(select(func.count()).select_from(DriftBatch)).one()
        keys = session.exec(select(col(DriftBatch.batch_key))).all()
    assert (batches, keys) == (1, ["b-1"])
