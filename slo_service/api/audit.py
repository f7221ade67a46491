"""``/api/v1/audit``: the audit log, for admins."""

from typing import Annotated

from fastapi import APIRouter, Query

from slo_service.api.deps import Admin, SessionDep
from slo_service.api.params import Offset
from slo_service.repositories import audit as audit_repo
from slo_service.schemas.audit import AuditEntriesPublic, AuditEntryPublic
from slo_service.schemas.common import Instant
from slo_service.schemas.errors import error_responses

router = APIRouter(prefix="/audit", tags=["audit"], responses=error_responses(401, 403, 422))


@router.get("")
def list_audit(
    session: SessionDep,
    _caller: Admin,
    target_type: Annotated[str | None, Query(description="slo or token")] = None,
    target_id: str | None = None,
    action: Annotated[str | None, Query(description="e.g. slo.update")] = None,
    since: Annotated[
        Instant | None,
        Query(description="ISO 8601 with a time zone, e.g. 2026-12-01T00:00:00Z"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> AuditEntriesPublic:
    """Who changed what and when, newest first."""
    rows, count = audit_repo.list_page(
        session,
        target_type=target_type,
        target_id=target_id,
        action=action,
        since=since,
        limit=limit,
        offset=offset,
    )
    return AuditEntriesPublic(
        data=[AuditEntryPublic.model_validate(row, from_attributes=True) for row in rows],
        count=count,
    )
