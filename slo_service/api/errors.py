"""One rendering for every error: ``{"error": <type>, "detail": <what to do>}``."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from slo_service.errors import InvalidInput, SloServiceError, Unauthorized, clean_message

log = logging.getLogger(__name__)

_HTTP_NAMES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
}


def _problems_body(exc: InvalidInput) -> dict[str, Any]:
    return {
        "error": "InvalidInput",
        "detail": exc.detail,
        "errors": [{"loc": list(loc), "msg": reason} for loc, reason in exc.problems],
    }


def _from_request_validation(exc: RequestValidationError) -> InvalidInput:
    """pydantic's errors, with body fields named from the body's root (``params.threshold_ms``)."""
    problems = []
    for error in exc.errors():
        loc = list(error["loc"])
        if loc and loc[0] == "body":
            loc = loc[1:]
        message = clean_message(error["msg"])
        if error["type"] == "json_invalid":
            message = f"the body is not valid JSON: {error.get('ctx', {}).get('error', message)}"
        problems.append((loc, message))
    return InvalidInput(problems)


def install(app: FastAPI) -> None:
    @app.exception_handler(SloServiceError)
    async def service_error(_request: Request, exc: SloServiceError) -> JSONResponse:
        body = (
            _problems_body(exc)
            if isinstance(exc, InvalidInput)
            else {"error": type(exc).__name__, "detail": exc.detail}
        )
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
        return JSONResponse(body, status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(_problems_body(_from_request_validation(exc)), status_code=422)

    @app.exception_handler(OperationalError)
    async def database_down(_request: Request, exc: OperationalError) -> JSONResponse:
        log.error("database unreachable: %s", exc.orig)
        return JSONResponse(
            {"error": "Unavailable", "detail": "the database is unreachable; try again shortly"},
            status_code=503,
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(
            {
                "error": "InternalError",
                "detail": "an unexpected error occurred; see the server log",
            },
            status_code=500,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        name = _HTTP_NAMES.get(exc.status_code, "HTTPError")
        return JSONResponse(
            {"error": name, "detail": str(exc.detail)},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )
