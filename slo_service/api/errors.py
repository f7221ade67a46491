"""One rendering for every error: ``{"error": <type>, "detail": <what to do>}``; and the
OpenAPI document says so for every 422."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from slo_service import unknown_fields
from slo_service.api.state import state_of
from slo_service.errors import InvalidInput, SloServiceError, Unauthorized, clean_message
from slo_service.schemas.errors import ErrorBody

log = logging.getLogger(__name__)
INTERNAL_ERROR = {
    "error": "InternalError",
    "detail": "an unexpected error occurred; see the server log",
}

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


def problems_body(exc: InvalidInput) -> dict[str, Any]:
    return {
        "error": "InvalidInput",
        "detail": exc.detail,
        "errors": [{"loc": list(loc), "msg": reason} for loc, reason in exc.problems],
    }


def _from_request_validation(exc: RequestValidationError, body: Any) -> InvalidInput:
    """pydantic's errors, with body fields named from the body's root (``params.threshold_ms``);
    an unknown body field is looked up in ``body``, the model the route validates it as."""
    problems = []
    for error in exc.errors():
        loc = list(error["loc"])
        in_body = bool(loc) and loc[0] == "body"
        if in_body:
            loc = loc[1:]
        message = clean_message(error["msg"])
        if error["type"] == unknown_fields.EXTRA_FORBIDDEN:
            message = unknown_fields.message(body if in_body else None, loc)
        if error["type"] == "json_invalid":
            message = f"the body is not valid JSON: {error.get('ctx', {}).get('error', message)}"
        problems.append((loc, message))
    return InvalidInput(problems)


def _body_model(request: Request) -> Any:
    """The model (or annotation) the matched route validates its body as; ``None`` without."""
    field = getattr(request.scope.get("route"), "body_field", None)
    return None if field is None else field.field_info.annotation


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> str:
    """The methods that some route of the request's path takes. The router names only those
    of the first route whose path matches, and a path has one route per method here; so each
    method is asked of every route (through ``matches``: included routers nest theirs)."""
    routes = request.app.router.routes
    path, root = request.scope["path"], request.scope.get("root_path", "")
    allowed = []
    for method in _METHODS:
        probe = {"type": "http", "path": path, "root_path": root, "method": method, "headers": []}
        if any(route.matches(dict(probe))[0] is Match.FULL for route in routes):
            allowed.append(method)
    return ", ".join(allowed)


def _document_validation_errors(app: FastAPI) -> None:
    """FastAPI documents its own body for 422 (``HTTPValidationError``); ``request_invalid``
    answers ``ErrorBody``, so the OpenAPI document is made to say that, on every operation."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = generate()
        error_body = {"$ref": "#/components/schemas/ErrorBody"}
        for operations in spec.get("paths", {}).values():
            for operation in operations.values():
                invalid = operation.get("responses", {}).get("422")
                if invalid is not None:
                    invalid["content"] = {"application/json": {"schema": error_body}}
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        schemas.setdefault("ErrorBody", ErrorBody.model_json_schema())
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


class AnswerUnexpected:
    """Answers an unexpected error with the 500 error shape inside the app. Starlette's
    outermost layer would answer it too, and then re-raise it, so that uvicorn closed the
    connection: a client lost its keep-alive connection to every 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            if started:  # half an answer is out: only closing the connection can say so
                raise
            log.exception("unhandled error", exc_info=exc)
            await JSONResponse(INTERNAL_ERROR, status_code=500)(scope, receive, send)


# Postgres cancelled the statement: the statement timeout (nothing else here cancels).
QUERY_CANCELED = "57014"


def _unavailable(detail: str) -> JSONResponse:
    return JSONResponse(
        {"error": "Unavailable", "detail": detail}, status_code=503, headers={"Retry-After": "5"}
    )


def install(app: FastAPI) -> None:
    """The handlers, and ``AnswerUnexpected`` as the innermost middleware (call this before
    adding any other, so that they all see a 500 as an answer, not as an exception)."""
    _document_validation_errors(app)
    app.add_middleware(AnswerUnexpected)

    @app.exception_handler(SloServiceError)
    async def service_error(_request: Request, exc: SloServiceError) -> JSONResponse:
        body = (
            problems_body(exc)
            if isinstance(exc, InvalidInput)
            else {"error": type(exc).__name__, "detail": exc.detail}
        )
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
        return JSONResponse(body, status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = _from_request_validation(exc, _body_model(request))
        return JSONResponse(problems_body(problems), status_code=422)

    @app.exception_handler(OperationalError)
    async def database_down(request: Request, exc: OperationalError) -> JSONResponse:
        settings = state_of(request.app).settings
        if getattr(exc.orig, "sqlstate", None) == QUERY_CANCELED:
            seconds = settings.database_statement_timeout_seconds
            log.error("database statement cancelled after %s s: %s", seconds, exc.orig)
            problem = f"did not finish a statement within the statement timeout ({seconds:g} s)"
        else:
            log.error("database unreachable: %s", exc.orig)
            problem = "is unreachable"
        return _unavailable(f"the database {problem}; try again shortly")

    @app.exception_handler(PoolTimeout)
    async def no_free_connection(request: Request, exc: PoolTimeout) -> JSONResponse:
        seconds = state_of(request.app).settings.database_pool_timeout_seconds
        log.error("no free database connection after %s s: %s", seconds, exc)
        return _unavailable(
            f"every database connection of this process is in use (waited {seconds:g} s for "
            "one); try again shortly"
        )

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        # Only errors outside AnswerUnexpected (in the middlewares around it) get here.
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(INTERNAL_ERROR, status_code=500)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        name = _HTTP_NAMES.get(exc.status_code, "HTTPError")
        headers = dict(getattr(exc, "headers", None) or {})
        allowed = _allowed_methods(request) if exc.status_code == 405 else ""
        if allowed:  # nothing for a mount such as /static, which names no methods
            headers["Allow"] = allowed
        return JSONResponse(
            {"error": name, "detail": str(exc.detail)},
            status_code=exc.status_code,
            headers=headers or None,
        )
