"""Pushed (good, total) events; each (SLO, event_id) is stored once."""

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, col

from slo_service.models import PushEvent
from slo_service.repositories._bulk import dialect_insert


def insert_new(session: Session, rows: Sequence[dict[str, Any]]) -> set[tuple[int, str]]:
    """Insert the events whose (slo_id, event_id) is not stored yet; return those inserted."""
    insert = dialect_insert(session)
    if not rows:
        return set()
    statement = (
        insert(PushEvent)
        .on_conflict_do_nothing(index_elements=["slo_id", "event_id"])
        .returning(col(PushEvent.slo_id), col(PushEvent.event_id))
    )
    # A list of parameter sets runs as batched multi-row INSERTs compiled once
    # (SQLAlchemy's "insertmanyvalues"), RETURNING included.
    result = session.execute(statement, list(rows))
    return {(slo_id, event_id) for slo_id, event_id in result}
