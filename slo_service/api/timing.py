"""HTTP latency for ``/metrics``: a plain ASGI middleware (cheaper than a BaseHTTPMiddleware
on the gate's hot path) that times every request by method, route template and status."""

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from slo_service.services.metrics import HTTP_SECONDS


class TimedRequests:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app fails before it answers

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            elapsed = time.perf_counter() - started
            HTTP_SECONDS.labels(scope["method"], template(scope), str(status)).observe(elapsed)


def template(scope: Scope) -> str:
    """The matched route's template with its routers' prefixes, e.g. /api/v1/slos/{ref}: one
    series per route, whatever the ids in the path. Included routers keep their own paths, so
    the prefix is what the path has before the part the route matched."""
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    if not path:
        return "unmatched"
    try:
        tail = str(getattr(route, "path_format", path)).format(**scope.get("path_params", {}))
    except (KeyError, IndexError, ValueError):
        return str(path)
    full = str(scope["path"])
    return full[: len(full) - len(tail)] + str(path) if full.endswith(tail) else str(path)
