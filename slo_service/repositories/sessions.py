"""Queries on the SLA pages' sign-in sessions."""

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy import bindparam, delete, update
from sqlmodel import Session, col, select

from slo_service.models import ApiToken, PageSession


class SessionCredentials(NamedTuple):
    """What deciding whether a session still reads needs: its own state and its token's."""

    token_name: str
    expires_at: datetime
    revoked_at: datetime | None
    token_revoked_at: datetime | None
    token_expires_at: datetime | None


# Every page request with a session cookie runs this: built once, run as a plain statement.
_BY_HASH = (
    sa.select(  # five columns: more than sqlmodel's select types
        col(PageSession.token_name),
        col(PageSession.expires_at),
        col(PageSession.revoked_at),
        col(ApiToken.revoked_at),
        col(ApiToken.expires_at),
    )
    .join(ApiToken, col(ApiToken.id) == col(PageSession.token_id))
    .where(col(PageSession.session_hash) == bindparam("session_hash"))
)


def credentials(session: Session, session_hash: str) -> SessionCredentials | None:
    """The session with this hash and its token's state, if there is one."""
    row = session.connection().execute(_BY_HASH, {"session_hash": session_hash}).first()
    return None if row is None else SessionCredentials(*row)


def add(session: Session, row: PageSession) -> PageSession:
    session.add(row)
    session.flush()
    return row


def end(session: Session, session_hash: str, *, at: datetime) -> int:
    """End the session with this hash (if it is live); how many were ended (0 or 1)."""
    statement = (
        update(PageSession)
        .where(col(PageSession.session_hash) == session_hash)
        .where(col(PageSession.revoked_at).is_(None))
        .values(revoked_at=at)
    )
    return session.connection().execute(statement).rowcount


def end_of_token(session: Session, token_id: int, *, at: datetime) -> int:
    """End every live session signed in with the token; how many were ended."""
    statement = (
        update(PageSession)
        .where(col(PageSession.token_id) == token_id)
        .where(col(PageSession.revoked_at).is_(None))
        .where(col(PageSession.expires_at) > at)
        .values(revoked_at=at)
    )
    return session.connection().execute(statement).rowcount


def delete_expired(session: Session, *, before: datetime) -> int:
    """Forget sessions that expired before ``before``: they can never read again."""
    statement = delete(PageSession).where(col(PageSession.expires_at) < before)
    return session.connection().execute(statement).rowcount


def live(session: Session, *, at: datetime) -> Sequence[PageSession]:
    """Sessions neither expired nor ended at ``at``, oldest first."""
    statement = (
        select(PageSession)
        .where(col(PageSession.revoked_at).is_(None))
        .where(col(PageSession.expires_at) > at)
        .order_by(col(PageSession.id))
    )
    return session.exec(statement).all()
