"""Dependencies shared by the routers: settings, the session (owns the transaction), callers."""

from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from slo_service.api.state import state_of
from slo_service.config import Settings
from slo_service.db import finish, new_session
from slo_service.domain.scopes import Scope, may_record_deploys
from slo_service.errors import Forbidden
from slo_service.services import tokens
from slo_service.services.tokens import Principal
from slo_service.sources.base import QueryChecker, SliSource

# The light dependencies are ``async def`` so they run on the event loop: a sync one would cost
# a hop to the thread pool for every request.


async def get_settings(request: Request) -> Settings:
    return state_of(request.app).settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session per request, committed after the route returns and before the response is
    sent, rolled back on any error. Opening it does no I/O; ending it runs in the thread pool."""
    engine = state_of(request.app).engine
    session = new_session(engine)
    try:
        yield session
    except BaseException:
        await run_in_threadpool(finish, session, commit=False)
        raise
    await run_in_threadpool(finish, session, commit=True)


async def get_checker(request: Request) -> QueryChecker:
    return state_of(request.app).checker


async def get_sources(request: Request) -> dict[str, SliSource]:
    return state_of(request.app).sources


SourcesDep = Annotated[dict[str, SliSource], Depends(get_sources)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
CheckerDep = Annotated[QueryChecker, Depends(get_checker)]


bearer = HTTPBearer(
    auto_error=False,
    description="An API token from `slo-service token create`, as `Authorization: Bearer <token>`.",
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, as ``bearer`` reads it,
    without a dependency (for the gate's hot path)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def require(scope: Scope) -> Callable[..., Principal]:
    """A dependency that returns the caller, or raises 401 (no/bad token) or 403 (scope)."""

    def caller(credentials: Credentials, session: SessionDep, settings: SettingsDep) -> Principal:
        plaintext = credentials.credentials if credentials else None
        return tokens.caller(session, plaintext, scope, public_read=settings.public_read)

    return caller


Reader = Annotated[Principal, Depends(require(Scope.READ))]
Writer = Annotated[Principal, Depends(require(Scope.WRITE))]
Admin = Annotated[Principal, Depends(require(Scope.ADMIN))]


def _deployer(caller: Annotated[Principal, Depends(require(Scope.GATE))]) -> Principal:
    if not may_record_deploys(caller.scopes):
        held = ", ".join(sorted(caller.scopes))
        raise Forbidden(
            f"token {caller.name!r} has scopes [{held}]; recording deploys needs gate or write"
        )
    return caller


Deployer = Annotated[Principal, Depends(_deployer)]
