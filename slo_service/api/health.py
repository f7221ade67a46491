"""``/healthz`` (the process answers) and ``/readyz`` (database reachable, schema at head)."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from slo_service import schema

router = APIRouter(tags=["health"])


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
