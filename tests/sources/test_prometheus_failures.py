"""How the Prometheus source fails: a loopback server that is slow, answers errors or is not
Prometheus at all, and a port where nothing listens."""

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from slo_service.domain.sli import RatioSli
from slo_service.sources.base import Request, SourceError
from slo_service.sources.prometheus import PrometheusSource

REQUEST = Request(1, RatioSli(good='x{a="1"}', total="x"), start=0, end=600)
PROMETHEUS_ERROR = b'{"status":"error","errorType":"bad_data","error":"parse error: boom"}'
# What the server answers in each mode: status, body, content type.
ANSWERS = {
    "slow": (200, PROMETHEUS_ERROR, "application/json"),
    "error": (500, PROMETHEUS_ERROR, "application/json"),
    "bad": (400, PROMETHEUS_ERROR, "application/json"),
    "not-found": (404, b"404 page not found\n", "text/plain; charset=utf-8"),
    "html": (200, b"<!doctype html><title>Grafana</title>", "text/html"),
    "other-json": (200, b'{"hello":"world"}', "application/json"),
    "no-content": (204, b"", "text/plain"),
}


class Misbehaving(BaseHTTPRequestHandler):
    mode = "slow"
    calls = 0

    def do_GET(self) -> None:
        type(self).calls += 1
        if self.mode == "slow":
            time.sleep(2)
        status, body, content_type = ANSWERS[self.mode]
        self.send_response(status)
        self.send_header("Content-Type", content_type)
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


@pytest.mark.parametrize(
    ("mode", "answer"),
    [
        ("not-found", "answers 404 to /api/v1/query_range"),
        ("html", "answers /api/v1/query_range with something other than Prometheus's JSON"),
        ("other-json", "answers /api/v1/query_range with something other than Prometheus's JSON"),
        ("no-content", "answers 204 to /api/v1/query_range"),
    ],
)
def test_a_server_that_is_not_prometheus_is_a_wrong_address(
    server: str, mode: str, answer: str
) -> None:
    Misbehaving.mode, Misbehaving.calls = mode, 0
    url = f"{server}/x"  # e.g. a path left in SLO_PROMETHEUS_URL, or another web server
    source = PrometheusSource(url, timeout=2, retries=1, concurrency=1)
    found = source.measure([REQUEST], bucket=60)[1]
    assert isinstance(found, SourceError)
    assert str(found) == (
        f"Prometheus at {url} {answer}: is SLO_PROMETHEUS_URL the server's base URL "
        "(such as http://prometheus:9090)?"
    )
    assert Misbehaving.calls == 2  # one request per query: a wrong address is not retried


def test_a_refused_connection_is_named(closed_port_url: str) -> None:
    source = PrometheusSource(closed_port_url, timeout=2, retries=0)
    found = source.measure([REQUEST], bucket=60)[1]
    assert str(found) == f"Prometheus at {closed_port_url} unreachable: connection refused"
