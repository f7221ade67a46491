"""``/api/v1/gate`` and ``/api/v1/services/{service}/...``: the deploy gate and the
error-budget policy by hand (policy, freezes, overrides)."""

import asyncio
from functools import partial
from typing import Annotated

import anyio
import anyio.to_thread
from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from sqlalchemy import Engine

from slo_service.api.deps import Admin, Credentials, Reader, SessionDep, bearer_token, require
from slo_service.api.params import Offset
from slo_service.api.state import state_of
from slo_service.db import utcnow
from slo_service.domain.gate import ChangeType
from slo_service.domain.scopes import Scope
from slo_service.errors import Forbidden
from slo_service.repositories import policy as policy_repo
from slo_service.schemas.common import SLUG_PATTERN
from slo_service.schemas.errors import error_responses
from slo_service.schemas.gate import (
    FreezeCreate,
    FreezePublic,
    FreezesPublic,
    GatePublic,
    OverrideCreate,
    OverridePublic,
    OverridesPublic,
    ServicePolicyIn,
    ServicePolicyPublic,
)
from slo_service.services import tokens
from slo_service.services.gate import cache as gate_cache
from slo_service.services.gate import policy
from slo_service.services.gate import state as gate
from slo_service.services.gate.cache import GateCache
from slo_service.services.tokens import Principal

router = APIRouter(tags=["gate"])
# Gate reads wait on the database, not on the CPU: a few threads do, and fewer threads
# fighting for the GIL keep every request's latency short under load.
_READERS = anyio.CapacityLimiter(4)
Service = Annotated[str, Path(description="The service (model) name.", pattern=SLUG_PATTERN)]
OverrideId = Annotated[int, Path(description="The override's id (404 when it has none).")]
# Break-glass: an override lets deploys through a freeze, so it needs its own scope (or admin).
Overrider = Annotated[Principal, Depends(require(Scope.OVERRIDE))]


def _override_ender(credentials: Credentials, session: SessionDep) -> Principal:
    """Ending an override only makes the gate stricter: write may, as may override. Never
    without a token (SLO_PUBLIC_READ opens reads only)."""
    plaintext = credentials.credentials if credentials else None
    try:
        return tokens.caller(session, plaintext, Scope.WRITE, public_read=False)
    except Forbidden:  # not a writer: then the scope that starts overrides
        return tokens.caller(session, plaintext, Scope.OVERRIDE, public_read=False)


OverrideEnder = Annotated[Principal, Depends(_override_ender)]


@router.get(
    "/gate",
    response_model=GatePublic,
    responses=error_responses(401, 403, 404, 422, 503),
    # The token is read from the header by hand (a dependency costs more than the rest of
    # an answer from the cache); the scheme is documented all the same.
    openapi_extra={"security": [{"HTTPBearer": []}]},
)
async def gate_decision(
    request: Request,
    service: Annotated[
        str, Query(description="The service (model) to deploy.", pattern=SLUG_PATTERN)
    ],
    change_type: Annotated[
        ChangeType, Query(description="Exempt types (by default rollback, security) pass a freeze.")
    ] = ChangeType.FEATURE,
) -> Response:
    """May the service deploy now? allow, warn or deny, with every SLO's reason.

    Needs a token with the gate scope (read, write and admin tokens also have it). The
    decision comes from state that evaluation keeps up to date (a copy at most
    SLO_GATE_CACHE_SECONDS old); 404 for a service without SLOs, so that a misspelt name
    fails the pipeline instead of passing it.
    """
    app = state_of(request.app)
    cache, public_read = app.gate_cache, app.settings.public_read
    plaintext = bearer_token(request)
    asked = gate.ask_cached(cache, plaintext, service, public_read=public_read)
    if asked is None:
        read = partial(gate.ask, app.engine, cache, plaintext, service, public_read=public_read)
        asked = await anyio.to_thread.run_sync(read, limiter=_READERS)
    _caller, state = asked
    if cache.renewal_due():
        _renew_in_background(cache, app.engine)
    body = app.gate_answers.json(state, change_type, utcnow())
    # Rendered by ``Answers`` from GatePublic (FastAPI would validate it again to no end).
    return Response(body, media_type="application/json")


_renewals: set["asyncio.Task[None]"] = set()


def _renew_in_background(cache: GateCache, engine: Engine) -> None:
    """Read the cache's copies again in a worker thread, without delaying this answer."""
    reader = partial(gate.reload, engine)
    work = anyio.to_thread.run_sync(gate_cache.renew, cache, reader, limiter=_READERS)
    task = asyncio.get_running_loop().create_task(work)
    _renewals.add(task)
    task.add_done_callback(_renewals.discard)


services = APIRouter(
    prefix="/services/{service}", tags=["gate"], responses=error_responses(401, 403, 404, 422)
)


@services.get("/policy")
def get_policy(service: Service, session: SessionDep, _caller: Reader) -> ServicePolicyPublic:
    """The service's error-budget policy (the defaults until an admin sets one)."""
    return policy.get_policy(session, service)


@services.put("/policy")
def put_policy(
    service: Service, data: ServicePolicyIn, session: SessionDep, caller: Admin
) -> ServicePolicyPublic:
    """Set the gate defaults of the service's SLOs and the change types exempt from freezes."""
    return policy.put_policy(session, service, data, actor=caller.name, now=utcnow())


@services.post("/freeze", status_code=status.HTTP_201_CREATED, responses=error_responses(409))
def freeze(
    service: Service, data: FreezeCreate, session: SessionDep, caller: Admin
) -> FreezePublic:
    """Freeze the service's deploys by hand, with a reason (admin)."""
    row = policy.freeze(session, service, reason=data.reason, actor=caller.name, now=utcnow())
    return policy.freeze_public(row)


@services.delete("/freeze", responses=error_responses(409))
def unfreeze(
    service: Service,
    session: SessionDep,
    caller: Admin,
    reason: Annotated[str, Query(min_length=3, max_length=1000, description="Why it is lifted.")],
) -> FreezePublic:
    """Lift the service's manual freeze (admin). A budget freeze lifts by itself when the
    budget recovers (409 says so): to deploy meanwhile, create an override."""
    row = policy.unfreeze(session, service, reason=reason, actor=caller.name, now=utcnow())
    return policy.freeze_public(row)


@services.get("/freezes")
def list_freezes(
    service: Service,
    session: SessionDep,
    _caller: Reader,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> FreezesPublic:
    """Every freeze of the service, newest first: when it started, why, and when it lifted."""
    rows, count = policy_repo.freezes(session, service, limit=limit, offset=offset)
    return FreezesPublic(data=[policy.freeze_public(row) for row in rows], count=count)


@services.post("/overrides", status_code=status.HTTP_201_CREATED)
def create_override(
    service: Service, data: OverrideCreate, session: SessionDep, caller: Overrider
) -> OverridePublic:
    """Let the service's deploys through freezes until ``expires_at`` (7 days at most).

    Break-glass: needs a token with the override scope (or admin); write alone may not."""
    now = utcnow()
    row = policy.create_override(session, service, data, actor=caller.name, now=now)
    return policy.override_public(row, now)


@services.get("/overrides")
def list_overrides(
    service: Service,
    session: SessionDep,
    _caller: Reader,
    active: Annotated[bool, Query(description="Only those in force now.")] = False,
) -> OverridesPublic:
    """The service's overrides, newest first, each active, expired or revoked."""
    now = utcnow()
    rows = policy.list_overrides(session, service, active_only=active, now=now)
    return OverridesPublic(data=[policy.override_public(r, now) for r in rows], count=len(rows))


@services.delete("/overrides/{override_id}")
def revoke_override(
    service: Service, override_id: OverrideId, session: SessionDep, caller: OverrideEnder
) -> OverridePublic:
    """End an override now (one that has ended already is returned as it is); a token with
    the override or the write scope may."""
    now = utcnow()
    row = policy.revoke_override(session, service, override_id, actor=caller.name, now=now)
    return policy.override_public(row, now)
