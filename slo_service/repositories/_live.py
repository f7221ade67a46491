"""The soft-delete filter: a deleted row keeps its data (``deleted_at`` set) until purged, and
every query of live rows says so with ``is_live(Model)`` rather than by hand."""

from datetime import datetime
from typing import Protocol

from sqlalchemy import ColumnElement
from sqlmodel import col


class SoftDeleted(Protocol):
    """A table whose rows are deleted by setting ``deleted_at`` (today: ``SLO``)."""

    deleted_at: datetime | None


def is_live(model: type[SoftDeleted]) -> ColumnElement[bool]:
    """``model.deleted_at IS NULL``: the row is not deleted."""
    return col(model.deleted_at).is_(None)
