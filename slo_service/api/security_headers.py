"""Security headers on every answer: a plain ASGI middleware (like ``timing``: cheap enough for
the gate's hot path) that adds them to the response's start unless the app set one itself.

The pages load nothing but their own stylesheet, and run no script at all, so their policy
allows only the service's own resources and no inline code; nobody may frame them. The API
docs (``/docs``, ``/redoc``) are FastAPI's Swagger UI and ReDoc: they load from their CDN and
start with an inline script, so they get a policy that allows exactly that. They render only
the OpenAPI schema, which no caller writes.
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGES_POLICY = (
    "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
_CDN = "https://cdn.jsdelivr.net"
DOCS_POLICY = (
    f"default-src 'self'; script-src 'self' 'unsafe-inline' {_CDN}; "
    f"style-src 'self' 'unsafe-inline' {_CDN} https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})


def _headers(policy: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-security-policy", policy.encode()),
        (b"x-frame-options", b"DENY"),  # for browsers older than frame-ancestors
        (b"x-content-type-options", b"nosniff"),
        # Links off the site (none today) send no path; our own forms keep theirs.
        (b"referrer-policy", b"same-origin"),
    ]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._pages = _headers(PAGES_POLICY)
        self._docs = _headers(DOCS_POLICY)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self._docs if scope["path"] in DOCS_PATHS else self._pages

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                have = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in extra if name not in have]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, sending)
