"""Refuses a URL that holds the NUL character (``%00``), before any route reads it.

Postgres refuses NUL in text, so a NUL in a path or a query parameter failed the statement it
reached (a name lookup, a filter); SQLite took it. One check here answers every route, the
pages included, with the same 422 on both backends. A raw NUL byte never gets this far: the
HTTP server refuses it in the request line.
"""

from urllib.parse import parse_qsl

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from slo_service.api.errors import problems_body
from slo_service.domain.text import NUL, NUL_HELP
from slo_service.errors import InvalidInput


class RefuseNulInUrls:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            where = nul_in_url(scope["path"], scope.get("query_string", b""))
            if where is not None:
                refused = InvalidInput.at(where, f"the URL {NUL_HELP}: it came as %00")
                await JSONResponse(problems_body(refused), status_code=422)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def nul_in_url(path: str, query: bytes) -> tuple[str, ...] | None:
    """Where a NUL is: ``("path",)``, ``("query", name)``, ``("query",)`` (in a name); or None."""
    if NUL in path:
        return ("path",)
    if b"%00" not in query:  # cheap: most URLs stop here
        return None
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if NUL in name:
            return ("query",)
        if NUL in value:
            return ("query", name)
    return None
