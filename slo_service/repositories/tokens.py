"""Queries on API tokens."""

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from slo_service.models import ApiToken


class Credentials(NamedTuple):
    name: str
    scopes: list[str]
    revoked_at: datetime | None
    expires_at: datetime | None


# Every authenticated request runs this: built once, run as a plain (Core) statement.
_BY_HASH = select(ApiToken.name, ApiToken.scopes, ApiToken.revoked_at, ApiToken.expires_at).where(
    col(ApiToken.token_hash) == bindparam("token_hash")
)


def credentials(session: Session, token_hash: str) -> Credentials | None:
    """What authenticating needs of the token with this hash, if there is one."""
    row = session.connection().execute(_BY_HASH, {"token_hash": token_hash}).first()
    return None if row is None else Credentials(*row)


def credentials_many(session: Session, token_hashes: Sequence[str]) -> dict[str, Credentials]:
    statement = select(ApiToken.token_hash, *_BY_HASH.selected_columns).where(
        col(ApiToken.token_hash).in_(token_hashes)
    )
    rows = session.connection().execute(statement)
    return {token_hash: Credentials(*rest) for token_hash, *rest in rows}


def get_by_name(session: Session, name: str) -> ApiToken | None:
    return session.exec(select(ApiToken).where(ApiToken.name == name)).first()


def list_all(session: Session) -> Sequence[ApiToken]:
    return session.exec(select(ApiToken).order_by(col(ApiToken.id))).all()


def add(session: Session, token: ApiToken) -> ApiToken:
    session.add(token)
    session.flush()
    return token
