"""``/healthz`` (the process answers), ``/readyz`` (database reachable, schema at head) and
``/metrics`` (Prometheus)."""

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from sqlalchemy.exc import SQLAlchemyError

from slo_service import migrate
from slo_service.api.deps import Credentials, SessionDep, SettingsDep
from slo_service.api.state import state_of
from slo_service.domain.scopes import Scope
from slo_service.services import tokens
from slo_service.services.metrics import HEALTH

router = APIRouter(tags=["health"])
# The text format every Prometheus version reads (2.x does not know 1.0.0).
TEXT_FORMAT = CONTENT_TYPE_PLAIN_0_0_4


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Not ready: the body says why."}})
def readyz(request: Request) -> JSONResponse:
    """Ready to serve: the database answers and its schema is at the newest migration."""
    state = state_of(request.app)
    engine, expected = state.engine, state.schema_heads
    try:
        current = migrate.current(engine)
    except SQLAlchemyError as exc:
        reason = f"database unreachable: {type(exc).__name__}"
        return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)
    if current != expected:
        reason = (
            f"schema at {sorted(current) or 'no revision'}, expected {sorted(expected)}: "
            "run `slo-service migrate`"
        )
        return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)
    return JSONResponse({"status": "ready", "schema": sorted(current)})


def _may_scrape(credentials: Credentials, session: SessionDep, settings: SettingsDep) -> None:
    """With SLO_METRICS_TOKEN_REQUIRED, a token with the read scope; SLO_PUBLIC_READ does not
    open /metrics then (the setting for /metrics is the more specific one)."""
    if settings.metrics_token_required:
        plaintext = credentials.credentials if credentials else None
        tokens.caller(session, plaintext, Scope.READ, public_read=False)


@router.get(
    "/metrics",
    response_class=Response,
    dependencies=[Depends(_may_scrape)],
    responses={
        200: {"content": {TEXT_FORMAT: {}}, "description": "Prometheus text format."},
        401: {"description": "SLO_METRICS_TOKEN_REQUIRED is on and no valid token was sent."},
        403: {"description": "SLO_METRICS_TOKEN_REQUIRED is on and the token lacks read."},
    },
)
def metrics(request: Request) -> Response:
    """Every SLO's objective, SLI, budget left, burn rates, firing tiers and last evaluation;
    each service's freezes; the evaluation and delivery backlogs (Prometheus text format).
    These are rendered at most once per SLO_METRICS_CACHE_SECONDS (15) by each process, so
    they may be that much older than the database; the process's own counters and histograms
    (evaluations, notifications, HTTP requests) are always live. Needs no token unless
    SLO_METRICS_TOKEN_REQUIRED is on (then: a token with the read scope)."""
    gauges = state_of(request.app).metrics
    return Response(gauges.text() + generate_latest(HEALTH), media_type=TEXT_FORMAT)
