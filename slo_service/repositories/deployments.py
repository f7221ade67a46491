"""Deploy records."""

from collections.abc import Sequence

from sqlalchemy import ColumnElement, func
from sqlmodel import Session, col, select

from slo_service.models import Deployment


def add(session: Session, row: Deployment) -> Deployment:
    session.add(row)
    session.flush()
    return row


def list_page(
    session: Session,
    *,
    service: str | None,
    environment: str | None,
    limit: int,
    offset: int,
) -> tuple[Sequence[Deployment], int]:
    """Newest deploy first, and how many match in all."""
    conditions: list[ColumnElement[bool]] = []
    if service is not None:
        conditions.append(col(Deployment.service) == service)
    if environment is not None:
        conditions.append(col(Deployment.environment) == environment)
    count = session.exec(select(func.count()).select_from(Deployment).where(*conditions)).one()
    rows = session.exec(
        select(Deployment)
        .where(*conditions)
        .order_by(col(Deployment.deployed_at).desc(), col(Deployment.id).desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return rows, count
