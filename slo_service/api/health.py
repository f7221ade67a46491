"""``/healthz`` (the process answers), ``/readyz`` (database reachable, schema at head) and
``/metrics`` (Prometheus)."""

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from slo_service import schema
from slo_service.exporters.metrics import HEALTH

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
    engine: Engine = request.app.state.engine
    expected: set[str] = request.app.state.schema_heads
    try:
        current = schema.current(engine)
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


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {TEXT_FORMAT: {}}, "description": "Prometheus text format."}},
)
def metrics(request: Request) -> Response:
    """Every SLO's objective, SLI, budget left, burn rates, firing tiers and last evaluation;
    each service's freezes; the evaluation backlog and cycles (Prometheus text format)."""
    registry: CollectorRegistry = request.app.state.metrics
    body = generate_latest(registry) + generate_latest(HEALTH)
    return Response(body, media_type=TEXT_FORMAT)
