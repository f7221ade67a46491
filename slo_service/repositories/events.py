"""Pushed (good, total) events."""

from collections.abc import Sequence

from sqlalchemy import insert
from sqlmodel import Session

from slo_service.models import PushEvent


def add_many(session: Session, events: Sequence[PushEvent]) -> None:
    """Bulk insert; the caller's transaction decides whether they stay."""
    if events:
        session.execute(
            insert(PushEvent),
            [event.model_dump(exclude={"id"}) for event in events],
        )
