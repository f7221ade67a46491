"""API tokens: created once in plain text, kept as a SHA-256, checked on every request.

Tokens are 256 random bits, so a fast hash is enough (a slow KDF guards low-entropy passwords,
which these are not) and lets a lookup by hash replace a scan.
"""

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from slo_service.db import utcnow
from slo_service.domain.scopes import Scope, grants
from slo_service.errors import Conflict, Forbidden, NotFound, Unauthorized
from slo_service.models import ApiToken
from slo_service.repositories import sessions as session_repo
from slo_service.repositories import tokens as token_repo
from slo_service.repositories.tokens import Credentials
from slo_service.services import audit

TOKEN_PREFIX = "slo_"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a token's name and scopes (or ``anonymous`` under public reads)."""

    name: str
    scopes: frozenset[Scope]


def hash_token(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def create(
    session: Session,
    *,
    name: str,
    scopes: Sequence[Scope],
    expires_at: datetime | None = None,
    actor: str,
) -> tuple[ApiToken, str]:
    """Store a new token; returns the row and the plain text, which is never stored."""
    if token_repo.get_by_name(session, name) is not None:
        raise Conflict(f"a token named {name!r} exists already; pick another name or revoke it")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name,
        prefix=plaintext[: len(TOKEN_PREFIX) + 6],
        token_hash=hash_token(plaintext),
        scopes=[str(scope) for scope in scopes],
        expires_at=expires_at,
    )
    try:
        token_repo.add(session, token)
    except IntegrityError:
        raise Conflict(f"a token named {name!r} exists already") from None
    _audit(
        session,
        token,
        action="token.create",
        actor=actor,
        changes={"scopes": token.scopes, "expires_at": expires_at and expires_at.isoformat()},
    )
    return token, plaintext


def _audit(
    session: Session,
    token: ApiToken,
    *,
    action: str,
    actor: str,
    changes: dict[str, object] | None = None,
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        target_type="token",
        target_id=token.id or 0,
        target=token.name,
        changes=changes,
    )


def caller(
    session: Session, plaintext: str | None, needed: Scope, *, public_read: bool
) -> Principal:
    """Who is calling with bearer token ``plaintext`` (None: no token), if they may do what
    needs ``needed``; Unauthorized (no or bad token) or Forbidden (scope) otherwise."""
    found = token_repo.credentials(session, hash_token(plaintext)) if plaintext else None
    return admit(found, needed, token_given=plaintext is not None, public_read=public_read)


def admit(
    found: Credentials | None, needed: Scope, *, token_given: bool, public_read: bool
) -> Principal:
    """The caller whose token's stored credentials are ``found`` (None: no such token), if
    the token is live and may do what needs ``needed``."""
    if not token_given:
        if public_read and grants([Scope.READ], needed):
            return Principal(name="anonymous", scopes=frozenset({Scope.READ}))
        raise Unauthorized(
            f"this needs an API token with the {needed} scope, "
            "sent as 'Authorization: Bearer <token>'"
        )
    if found is None:
        raise Unauthorized("unknown API token; create one with `slo-service token create`")
    if found.revoked_at is not None:
        raise Unauthorized(f"API token {found.name!r} was revoked")
    if found.expires_at is not None and found.expires_at <= utcnow():
        raise Unauthorized(f"API token {found.name!r} expired at {found.expires_at.isoformat()}")
    scopes = frozenset(Scope(s) for s in found.scopes)
    if not grants(scopes, needed):
        held = ", ".join(sorted(scopes))
        raise Forbidden(f"token {found.name!r} has scopes [{held}]; this needs {needed}")
    return Principal(name=found.name, scopes=scopes)


def revoke(session: Session, *, name: str, actor: str) -> ApiToken:
    token = token_repo.get_by_name(session, name)
    if token is None:
        raise NotFound(f"no token named {name!r}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.add(token)
        _audit(session, token, action="token.revoke", actor=actor)
    if token.id is not None:
        # Sign-ins with it end too (they would be refused anyway: marked, they say so).
        session_repo.end_of_token(session, token.id, at=token.revoked_at)
    return token


def list_all(session: Session) -> Sequence[ApiToken]:
    return token_repo.list_all(session)
