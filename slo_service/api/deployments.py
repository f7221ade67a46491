"""``/api/v1/deployments``: deploys reported by CI."""

from typing import Annotated

from fastapi import APIRouter, Query, status

from slo_service.api.deps import Deployer, Reader, SessionDep
from slo_service.api.params import Offset, ServiceFilter
from slo_service.db import utcnow
from slo_service.schemas.errors import error_responses
from slo_service.schemas.gate import DeploymentCreate, DeploymentPublic, DeploymentsPublic
from slo_service.services import deployments

router = APIRouter(prefix="/deployments", tags=["gate"], responses=error_responses(401, 403, 422))


@router.post("", status_code=status.HTTP_201_CREATED)
def record_deployment(
    data: DeploymentCreate, session: SessionDep, caller: Deployer
) -> DeploymentPublic:
    """Record a deploy after it happened (a token with the gate or write scope)."""
    row = deployments.record(session, data, actor=caller.name, now=utcnow())
    return DeploymentPublic.model_validate(row, from_attributes=True)


@router.get("")
def list_deployments(
    session: SessionDep,
    _caller: Reader,
    service: ServiceFilter = None,
    environment: Annotated[str | None, Query(max_length=63)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> DeploymentsPublic:
    """Deploys, newest first, filtered by service and environment."""
    rows, count = deployments.list_page(
        session, service=service, environment=environment, limit=limit, offset=offset
    )
    return DeploymentsPublic(
        data=[DeploymentPublic.model_validate(row, from_attributes=True) for row in rows],
        count=count,
    )
