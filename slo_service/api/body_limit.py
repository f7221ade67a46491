"""Request body limits: a plain ASGI middleware that answers 413 before a body is read past the
limit of its kind of route, so that a client cannot make the server hold more than that.

A body whose ``Content-Length`` is over the limit is refused before the app runs. A chunked
body (no length) is counted as it arrives: once it passes the limit the 413 is sent, the app
is stopped by an exception raised from ``receive`` and nothing more is read (the server closes
the connection, since the request was not read to its end). Anything the app would still send
after that, such as its own answer to the failed read, is dropped.
"""

import contextlib
import re
from dataclasses import dataclass
from typing import NamedTuple

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_UPLOADS = re.compile(r"/api/v1/drift/[^/]+/(?:reference|batches)/?")
_BULK = re.compile(
    r"/api/v1/(?:events|apply|drift/[^/]+/measurements|predictions/[^/]+|labels/[^/]+)/?"
)


class Limit(NamedTuple):
    size: int  # bytes
    setting: str  # the setting that sets it, for the operator


@dataclass(frozen=True)
class BodyLimits:
    """The largest body, in bytes, of each kind of route (``Settings.max_*_bytes``)."""

    default: int
    bulk: int
    upload: int

    def of(self, method: str, path: str) -> Limit:
        """The limit of a request and the setting that sets it. Drift uploads may be large
        and bulk writes larger than definitions; a method the route does not take gets the
        default (it answers 405 anyway)."""
        if method == "POST" and _UPLOADS.fullmatch(path):
            return Limit(self.upload, "SLO_MAX_UPLOAD_BYTES")
        if method == "POST" and _BULK.fullmatch(path):
            return Limit(self.bulk, "SLO_MAX_BULK_BYTES")
        return Limit(self.default, "SLO_MAX_BODY_BYTES")


class BodyTooLarge(Exception):
    """Raised from ``receive`` once the body passes its limit: it stops the app's read."""


class LimitedBodies:
    def __init__(self, app: ASGIApp, *, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.of(scope["method"], scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit.size:
            await _refuse(send, limit)
            return
        guard = _Guard(receive, send, limit)
        # Stopped by the body: the 413 is sent already (or the answer had begun: nothing to do).
        with contextlib.suppress(BodyTooLarge):
            await self.app(scope, guard.receive, guard.send)


class _Guard:
    """``receive`` and ``send`` of one request, counting its body against the limit."""

    def __init__(self, receive: Receive, send: Send, limit: Limit) -> None:
        self._receive = receive
        self._send = send
        self.limit = limit
        self.received = 0
        self.started = False  # the app began its answer
        self.refused = False  # the 413 was sent in its place

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit.size:
                if not self.started and not self.refused:
                    self.refused = True
                    await _refuse(self._send, self.limit)
                raise BodyTooLarge(f"the body passed {self.limit.size} bytes")
        return message

    async def send(self, message: Message) -> None:
        if self.refused:
            return  # the app's answer to its failed read: the client has its 413
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)


def _content_length(scope: Scope) -> int | None:
    """The declared length, or None without one (chunked) or with one that is no number (the
    server refuses those itself; the body is counted anyway)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


async def _refuse(send: Send, limit: Limit) -> None:
    body = orjson.dumps(
        {
            "error": "PayloadTooLarge",
            "detail": f"the request body is over this route's limit of {limit.size:,} bytes "
            f"({limit.setting}): send less per request",
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
