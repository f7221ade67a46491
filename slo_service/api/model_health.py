"""``/api/v1/services/{service}/health``: the ML on-call view of one model."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from slo_service.api.deps import Reader, SessionDep, SettingsDep
from slo_service.api.state import state_of
from slo_service.db import utcnow
from slo_service.schemas.common import SLUG_PATTERN
from slo_service.schemas.drift import ModelHealthPublic
from slo_service.schemas.errors import error_responses
from slo_service.services import model_health
from slo_service.sources.base import GaugeReader

router = APIRouter(prefix="/services", tags=["health"], responses=error_responses(401, 403, 404))


async def get_gauges(request: Request) -> GaugeReader:
    return state_of(request.app).gauges


@router.get("/{service}/health")
def get_health(
    service: Annotated[str, Path(description="The model.", pattern=SLUG_PATTERN)],
    session: SessionDep,
    settings: SettingsDep,
    gauges: Annotated[GaugeReader, Depends(get_gauges)],
    _caller: Reader,
) -> ModelHealthPublic:
    """One model at a glance: every SLO's state (worst first), the latest drift of each
    feature (most drifted first) with null rates against the reference, and accuracy now
    against its baseline."""
    return model_health.health(
        session, service, now=utcnow(), layout=settings.layout, gauges=gauges,
        base_url=str(settings.public_base_url),
    )  # fmt: skip
