"""How the Prometheus source fails: a loopback server that is slow or answers errors."""

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from slo_service.domain.sli import RatioSli
from slo_service.sources.base import Request, SourceError
from slo_service.sources.prometheus import PrometheusSource

REQUEST = Request(1, RatioSli(good='x{a="1"}', total="x"), start=0, end=600)


class Misbehaving(BaseHTTPRequestHandler):
    mode = "slow"
    calls = 0

    def do_GET(self) -> None:
        type(self).calls += 1
        if self.mode == "slow":
            time.sleep(2)
        status = {"slow": 200, "error": 500, "bad": 400}[self.mode]
        body = b'{"status":"error","errorType":"bad_data","error":"parse error: boom"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Misbehaving)
    httpd.handle_error = lambda *args: None  # type: ignore[method-assign]  # the client hung up
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.mark.parametrize(
    ("mode", "message", "calls"),
    [
        ("slow", "unreachable: timed out", 2),
        ("error", "answered 500", 2),
        ("bad", "answered 400: parse error: boom", 2),
    ],
    ids=["slow", "server-error", "bad-query"],
)
def test_failures_are_named_and_retries_bounded(
    server: str, mode: str, message: str, calls: int
) -> None:
    Misbehaving.mode, Misbehaving.calls = mode, 0
    source = PrometheusSource(server, timeout=0.3, retries=1, concurrency=1)  # calls in order
    answer = source.measure([REQUEST], bucket=60)[1]
    assert isinstance(answer, SourceError)
    assert message in str(answer)
    # The SLI needs two queries. A timeout is retried once, then the round stops asking (no
    # second wait); a 500 or a 400 is final for its query, and the other query is still asked.
    assert Misbehaving.calls == calls
