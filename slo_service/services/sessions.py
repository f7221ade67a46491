"""Sign-in sessions of the SLA pages: what the browser's cookie carries instead of a token.

Signing in checks an API token once (it needs the read scope) and starts a session: 256 random
bits in the cookie, kept here only as a SHA-256 (like tokens, they are random enough that a
fast hash will do). A session reads, and nothing else, even when its token is an admin's: the
API never takes it. It ends at ``SLO_SESSION_HOURS`` or at its token's expiry, whichever comes
first, at sign-out, or when its token is revoked.
"""

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from slo_service.domain.scopes import Scope
from slo_service.errors import NotFound, Unauthorized
from slo_service.models import PageSession
from slo_service.repositories import sessions as session_repo
from slo_service.repositories import tokens as token_repo
from slo_service.services import tokens
from slo_service.services.tokens import Principal

READS = frozenset({Scope.READ})


@dataclass(frozen=True)
class Started:
    """A new session: the id for the cookie (never stored) and when it expires."""

    session_id: str
    expires_at: datetime


def hash_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start(session: Session, plaintext: str, *, lifetime: timedelta, now: datetime) -> Started:
    """Sign in with API token ``plaintext``: Unauthorized or Forbidden (no read scope) as for
    an API call, else a session of the token's name that reads until it expires."""
    principal = tokens.caller(session, plaintext, Scope.READ, public_read=False)
    token = token_repo.get_by_name(session, principal.name)
    if token is None or token.id is None:  # the token was deleted meanwhile
        raise Unauthorized("unknown API token; create one with `slo-service token create`")
    expires_at = now + lifetime
    if token.expires_at is not None:
        expires_at = min(expires_at, token.expires_at)
    # Expired sessions can never read again; forgetting them here keeps the table small.
    session_repo.delete_expired(session, before=now)
    session_id = secrets.token_urlsafe(32)
    session_repo.add(
        session,
        PageSession(
            session_hash=hash_id(session_id),
            token_id=token.id,
            token_name=token.name,
            created_at=now,
            expires_at=expires_at,
        ),
    )
    return Started(session_id=session_id, expires_at=expires_at)


def reader(session: Session, session_id: str, *, now: datetime) -> Principal:
    """Who reads with this session id: Unauthorized unless it and its token are live."""
    found = session_repo.credentials(session, hash_id(session_id))
    if found is None:
        raise Unauthorized("unknown session; sign in again")
    if found.revoked_at is not None or found.token_revoked_at is not None:
        raise Unauthorized("this session was ended; sign in again")
    ends = [found.expires_at, found.token_expires_at]
    if any(end is not None and end <= now for end in ends):
        raise Unauthorized("this session expired; sign in again")
    return Principal(name=found.token_name, scopes=READS)


def end(session: Session, session_id: str, *, now: datetime) -> bool:
    """Sign out: the session reads no more. Whether a live one was ended."""
    return session_repo.end(session, hash_id(session_id), at=now) > 0


def end_of_token(session: Session, *, name: str, now: datetime) -> int:
    """End every session signed in with the token called ``name`` (it stays valid)."""
    token = token_repo.get_by_name(session, name)
    if token is None or token.id is None:
        raise NotFound(f"no token named {name!r}")
    return session_repo.end_of_token(session, token.id, at=now)


def live(session: Session, *, now: datetime) -> Sequence[PageSession]:
    return session_repo.live(session, at=now)
