"""A real HTTP receiver on loopback for the notification channels' tests.

The channels are tested against a socket, not a mocked transport, so that what is checked is
what goes over the wire (headers, exact body bytes) and what a real failure looks like to
httpx: a refused connection, a read timeout, a 429 with Retry-After. A test queues the
answers it wants (``respond``); after those, the receiver answers as PagerDuty (202 and its
JSON on ``/v2/enqueue``) or as a Slack webhook (200 ``ok``) would.
"""

import json
import socket
import ssl
import sys
import threading
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from slo_service.notify.egress import EgressPolicy

# Notifications may not go to loopback by default, and every receiver here is on loopback:
# the tests' notifiers allow it as an intranet's receivers would be allowed (the strict
# default has tests of its own, in tests/api/test_notification_egress.py).
LOOPBACK_NETWORKS = "127.0.0.0/8,::1"
LOOPBACK = EgressPolicy.allowing(LOOPBACK_NETWORKS.split(","))


@dataclass(frozen=True)
class Recorded:
    """One request as received."""

    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    headers: Mapping[str, str]
    delay: float


class Receiver:
    """``with Receiver() as receiver:`` serves on ``receiver.url`` until the block ends (on
    ``host``, any address of 127.0.0.0/8; over TLS with ``tls``, a server-side context)."""

    def __init__(self, host: str = "127.0.0.1", *, tls: ssl.SSLContext | None = None) -> None:
        self.host = host
        self.tls = tls
        self.url = ""
        self._changed = threading.Condition()  # guards _requests and _queue
        self._requests: list[Recorded] = []
        self._queue: deque[_Answer] = deque()
        self._stopping = threading.Event()  # cuts a queued delay short at shutdown
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Self:
        server = _Server((self.host, 0), _Handler)  # port 0: the kernel picks a free one
        server.receiver = self
        if self.tls is not None:  # the handshake happens as each connection is accepted
            server.socket = self.tls.wrap_socket(server.socket, server_side=True)
        self.url = f"{'https' if self.tls else 'http'}://{self.host}:{server.server_port}"
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stopping.set()
        if self._server is not None and self._thread is not None:
            self._server.shutdown()
            self._server.server_close()  # joins the request threads (none are daemons)
            self._thread.join(timeout=10)

    @property
    def requests(self) -> list[Recorded]:
        """The requests received so far, oldest first (a copy)."""
        with self._changed:
            return list(self._requests)

    def respond(
        self,
        status: int,
        body: bytes | str = b"",
        headers: Mapping[str, str] | None = None,
        times: int = 1,
        delay: float = 0.0,
    ) -> None:
        """Answer the next ``times`` requests with ``status``, after ``delay`` seconds."""
        data = body.encode() if isinstance(body, str) else body
        answer = _Answer(status, data, dict(headers or {}), delay)
        with self._changed:
            self._queue.extend([answer] * times)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Recorded]:
        """Block until ``count`` requests were received; returns them all."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._requests) >= count, timeout):
                raise AssertionError(
                    f"{len(self._requests)} of {count} requests received in {timeout} s"
                )
            return list(self._requests)

    def _take(self, request: Recorded) -> _Answer:
        with self._changed:
            self._requests.append(request)
            self._changed.notify_all()
            return self._queue.popleft() if self._queue else _default(request)


def _default(request: Recorded) -> _Answer:
    """What PagerDuty's Events API or a Slack webhook answers an accepted request."""
    if not request.path.endswith("/v2/enqueue"):
        return _Answer(200, b"ok", {"Content-Type": "text/plain"}, 0.0)
    try:
        key = request.json().get("dedup_key")
    except (ValueError, AttributeError):
        key = None
    answer = {
        "status": "success",
        "message": "Event processed",
        "dedup_key": key or uuid.uuid4().hex,  # PagerDuty makes one up for a trigger without
    }
    return _Answer(202, json.dumps(answer).encode(), {"Content-Type": "application/json"}, 0.0)


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # so that server_close waits for answers under way
    receiver: Receiver

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (the timeout tests) leaves a broken pipe behind: not an error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 10  # seconds a connection may sit idle: a stuck client cannot hold up shutdown

    def do_POST(self) -> None:  # the name http.server dispatches a POST to
        length = int(self.headers.get("Content-Length") or 0)
        request = Recorded(
            method=self.command,
            path=self.path,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=self.rfile.read(length),
        )
        receiver = self.server.receiver
        answer = receiver._take(request)
        if answer.delay and receiver._stopping.wait(answer.delay):
            return  # shutting down: drop the connection unanswered
        try:
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)
        except ConnectionError:
            pass  # the client timed out and went away

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the tests read the recorded requests, not a log on stderr


class Listener:
    """A TCP socket on a loopback address that accepts connections and never answers them:
    ``connections()`` says how many arrived, so a test can show that a refused destination
    was never even connected to (the kernel queues a finished handshake until it is taken)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self._count = 0
        self._socket: socket.socket | None = None

    def __enter__(self) -> Self:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.bind((self.host, 0))
        sock.listen(16)
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        self._socket = sock
        return self

    def __exit__(self, *exc: object) -> None:
        if self._socket is not None:
            self._socket.close()

    def connections(self) -> int:
        """Connections made so far (taken from the queue and closed at once)."""
        assert self._socket is not None
        while True:
            try:
                connection, _ = self._socket.accept()
            except BlockingIOError:
                return self._count
            connection.close()
            self._count += 1
