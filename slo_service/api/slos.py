"""``/api/v1/slos``: SLO definitions."""

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response, status
from fastapi.responses import JSONResponse

from slo_service.api.deps import (
    CheckerDep,
    Reader,
    SessionDep,
    SettingsDep,
    SourcesDep,
    Writer,
)
from slo_service.api.params import Offset, ServiceFilter
from slo_service.db import utcnow
from slo_service.domain.kinds import Kind
from slo_service.domain.scopes import Scope, grants
from slo_service.domain.windows import parse_duration
from slo_service.errors import Forbidden
from slo_service.integrations.openslo import write as openslo_write
from slo_service.schemas.apply import ApplyRequest, ApplyResult
from slo_service.schemas.common import Duration, Instant
from slo_service.schemas.errors import ErrorBody, error_responses
from slo_service.schemas.slo import SLOCreate, SLOPatch, SLOPublic, SLOsPublic
from slo_service.schemas.status import HistoryPublic, SLOStatusPublic
from slo_service.services import apply as apply_service
from slo_service.services import evaluation, history, slos
from slo_service.services import status as slo_status_service

ERRORS = error_responses(401, 403, 404, 409, 422)
SloRef = Annotated[
    str, Path(description="The numeric id, service:name, or a name unique across services.")
]

router = APIRouter(prefix="/slos", tags=["slos"], responses=ERRORS)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_slo(
    data: SLOCreate, session: SessionDep, caller: Writer, checker: CheckerDep
) -> SLOPublic:
    """Create an SLO; its kind expands into the effective SLI spec."""
    slo = slos.create(session, slos.prepare(data, checker), actor=caller.name)
    return slos.to_public(slo)


@router.get("")
def list_slos(
    session: SessionDep,
    _caller: Reader,
    service: ServiceFilter = None,
    kind: Kind | None = None,
    label: Annotated[list[str], Query(description="key=value; repeat to require several")] = [],  # noqa: B006
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> SLOsPublic:
    """List live SLOs, filtered by service, kind and labels, ordered by id."""
    rows, count = slos.list_page(
        session, service=service, kind=kind, labels=label, limit=limit, offset=offset
    )
    return SLOsPublic(data=[slos.to_public(row) for row in rows], count=count)


@router.get(
    "/{slo_ref}",
    response_model=SLOPublic,
    responses={
        200: {
            # No schema: the YAML is a stream of documents (the SLO, then an AlertPolicy per
            # severity of its own tiers), which no one JSON Schema describes once parsed.
            "content": {"application/yaml": {}},
            "description": "The SLO; with format=openslo, OpenSLO v1 YAML documents: the SLO, "
            "then an AlertPolicy per severity of its own tiers.",
        }
    },
)
def get_slo(
    slo_ref: SloRef,
    session: SessionDep,
    settings: SettingsDep,
    _caller: Reader,
    output: Annotated[
        Literal["json", "openslo"],
        Query(
            alias="format",
            description="json, or openslo: the SLO and its alert policies as OpenSLO v1 YAML "
            "(422 for an SLO OpenSLO cannot express: a pushed or drift store SLI).",
        ),
    ] = "json",
) -> SLOPublic | Response:
    """One SLO by numeric id, ``service:name``, or a name unique across services."""
    public = slos.to_public(slos.resolve(session, slo_ref))
    if output == "json":
        return public
    documents = openslo_write.to_openslo(
        public.model_dump(mode="json"), bucket_seconds=settings.layout.bucket_seconds
    )
    return Response(openslo_write.dump(documents), media_type="application/yaml")


@router.get("/{slo_ref}/status")
def slo_status(
    slo_ref: SloRef, session: SessionDep, settings: SettingsDep, _caller: Reader
) -> SLOStatusPublic:
    """SLI, error budget, burn rates and firing burn-rate tiers as of the last evaluated bucket."""
    slo = slos.resolve(session, slo_ref)
    return slo_status_service.status(session, slo, now=utcnow(), layout=settings.layout)


@router.get("/{slo_ref}/history")
def slo_history(
    slo_ref: SloRef,
    session: SessionDep,
    settings: SettingsDep,
    _caller: Reader,
    start: Annotated[
        Instant | None,
        Query(
            alias="from",
            description="Default: a window before `to`. Cut to the SLO's oldest data, or a "
            "window before now when that is earlier: no point is computed before either.",
        ),
    ] = None,
    end: Annotated[
        Instant | None,
        Query(alias="to", description="Default: evaluated_until; never after now."),
    ] = None,
    step: Annotated[
        Duration | None,
        Query(
            description="e.g. 1h, whole buckets; default: about 200 points. The range (as cut) "
            f"over the step may give at most {history.MAX_POINTS:,} points: more is a 422."
        ),
    ] = None,
) -> HistoryPublic:
    """SLI and remaining budget over time, each point measuring the window that ends there;
    at most 2,000 points, counted before any is computed."""
    slo = slos.resolve(session, slo_ref)
    return history.history(
        session,
        slo,
        start=start,
        end=end,
        step=parse_duration(step) if step else None,
        now=utcnow(),
        layout=settings.layout,
    )


@router.post(
    "/{slo_ref}/evaluate",
    response_model=SLOStatusPublic,
    responses={503: {"model": ErrorBody, "description": "The source failed; nothing moved."}},
)
def evaluate_slo(
    slo_ref: SloRef,
    session: SessionDep,
    settings: SettingsDep,
    sources: SourcesDep,
    _caller: Writer,
) -> SLOStatusPublic | JSONResponse:
    """Measure the SLO's new buckets now (its whole window the first time); answer its status."""
    slo = slos.resolve(session, slo_ref)
    outcome = evaluation.evaluate(session, slo, sources=sources, layout=settings.layout)
    if not outcome.ok:
        # The error is stored on the SLO (the session commits); nothing was counted.
        return JSONResponse({"error": "Unavailable", "detail": outcome.error}, status_code=503)
    return slo_status_service.status(session, slo, now=utcnow(), layout=settings.layout)


@router.put("/{slo_ref}")
def replace_slo(
    slo_ref: SloRef, data: SLOCreate, session: SessionDep, caller: Writer, checker: CheckerDep
) -> SLOPublic:
    """Replace every field of an SLO."""
    slo = slos.resolve(session, slo_ref)
    return slos.to_public(
        slos.replace(session, slo, slos.prepare(data, checker), actor=caller.name)
    )


@router.patch("/{slo_ref}")
def patch_slo(
    slo_ref: SloRef, patch: SLOPatch, session: SessionDep, caller: Writer, checker: CheckerDep
) -> SLOPublic:
    """Change some fields (JSON merge patch: maps merge, null removes a key)."""
    slo = slos.resolve(session, slo_ref)
    values = slos.prepare(slos.patched(slo, patch), checker)
    return slos.to_public(slos.replace(session, slo, values, actor=caller.name))


@router.delete("/{slo_ref}", status_code=status.HTTP_204_NO_CONTENT)
def delete_slo(
    slo_ref: SloRef,
    session: SessionDep,
    caller: Writer,
    purge: Annotated[
        bool, Query(description="Erase the SLO and its history for good (admin scope).")
    ] = False,
) -> Response:
    """Delete an SLO: its history stays until purged."""
    if purge and not grants(caller.scopes, Scope.ADMIN):
        raise Forbidden("purging needs a token with the admin scope")
    slo = slos.resolve(session, slo_ref, include_deleted=purge)
    slos.delete(session, slo, actor=caller.name, purge=purge)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


apply_router = APIRouter(tags=["slos"], responses=ERRORS)


@apply_router.post("/apply")
def apply_slos(
    request: ApplyRequest, session: SessionDep, caller: Writer, checker: CheckerDep
) -> ApplyResult:
    """Create or update many SLOs by (service, name) in one transaction; optionally prune."""
    items = [apply_service.Item(f"slos[{i}]", spec) for i, spec in enumerate(request.slos)]
    return apply_service.apply(
        session,
        items,
        dry_run=request.dry_run,
        prune=request.prune,
        actor=caller.name,
        checker=checker,
    )
