"""Queries on API tokens."""

from collections.abc import Sequence

from sqlmodel import Session, col, select

from slo_service.models import ApiToken


def get_by_hash(session: Session, token_hash: str) -> ApiToken | None:
    return session.exec(select(ApiToken).where(ApiToken.token_hash == token_hash)).first()


def get_by_name(session: Session, name: str) -> ApiToken | None:
    return session.exec(select(ApiToken).where(ApiToken.name == name)).first()


def list_all(session: Session) -> Sequence[ApiToken]:
    return session.exec(select(ApiToken).order_by(col(ApiToken.id))).all()


def add(session: Session, token: ApiToken) -> ApiToken:
    session.add(token)
    session.flush()
    return token
