"""``/api/v1/datasources``: the configured metric backends and whether they answer."""

from fastapi import APIRouter, Request

from slo_service.api.deps import Reader
from slo_service.api.state import state_of
from slo_service.schemas.datasources import DatasourcePublic, DatasourcesPublic
from slo_service.schemas.errors import error_responses

router = APIRouter(prefix="/datasources", tags=["datasources"], responses=error_responses(401, 403))


@router.get("")
def list_datasources(request: Request, _caller: Reader) -> DatasourcesPublic:
    """Each datasource (SLO_DATASOURCES_FILE, or SLO_PROMETHEUS_URL as 'default'): its name,
    URL, auth kind and header names (never a secret), and the outcome of the last query this
    process made to it (for evaluation or for checking an SLO being saved)."""
    shown = [
        DatasourcePublic(
            name=status.name,
            url=status.url,
            auth=status.auth,
            headers=list(status.header_names),
            last_query_at=status.last_query_at,
            last_query_ok=None if status.last_query_at is None else status.last_error is None,
            last_error=status.last_error,
        )
        for status in state_of(request.app).datasources.statuses()
    ]
    return DatasourcesPublic(data=shown, count=len(shown))
