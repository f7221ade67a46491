"""Deploy records: what CI deployed, where and when (markers on the SLA pages)."""

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from slo_service.models import Deployment
from slo_service.repositories import deployments as deployment_repo
from slo_service.schemas.gate import DeploymentCreate


def record(session: Session, data: DeploymentCreate, *, actor: str, now: datetime) -> Deployment:
    return deployment_repo.add(
        session,
        Deployment(
            **data.model_dump(exclude={"deployed_at"}, mode="json"),
            deployed_at=data.deployed_at or now,
            recorded_at=now,
            recorded_by=actor,
        ),
    )


def list_page(
    session: Session, *, service: str | None, environment: str | None, limit: int, offset: int
) -> tuple[Sequence[Deployment], int]:
    return deployment_repo.list_page(
        session, service=service, environment=environment, limit=limit, offset=offset
    )
