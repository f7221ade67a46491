"""The audit log: append and read, never update."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, func
from sqlmodel import Session, col, select

from slo_service.models import AuditEntry


def add(session: Session, entry: AuditEntry) -> AuditEntry:
    session.add(entry)
    session.flush()
    return entry


def list_page(
    session: Session,
    *,
    target_type: str | None = None,
    target_id: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[Sequence[AuditEntry], int]:
    """Newest first."""
    conditions: list[ColumnElement[bool]] = []
    if target_type is not None:
        conditions.append(col(AuditEntry.target_type) == target_type)
    if target_id is not None:
        conditions.append(col(AuditEntry.target_id) == target_id)
    if action is not None:
        conditions.append(col(AuditEntry.action) == action)
    if since is not None:
        conditions.append(col(AuditEntry.at) >= since)
    count = session.exec(select(func.count()).select_from(AuditEntry).where(*conditions)).one()
    rows = session.exec(
        select(AuditEntry)
        .where(*conditions)
        .order_by(col(AuditEntry.id).desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return rows, count
