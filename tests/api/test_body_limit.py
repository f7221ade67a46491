"""Request body limits (``api.body_limit``), on both backends: a body over its route's limit
answers 413 in the project's error shape before it is read, by its Content-Length or, for a
chunked body, as soon as it passes the limit (issue 15: a 190 MB drift batch took the server
to 1.97 GB; a 200 MB POST /slos was read whole before its 422)."""

import socket
import tracemalloc
from collections.abc import Iterator

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from slo_service.api.body_limit import BodyLimits, Limit
from slo_service.app import create_app
from slo_service.config import Settings
from tests.api.test_drift import as_csv, batch_columns
from tests.api.test_events_status import minute_ago, push_slo
from tests.api.test_history import peak_bytes
from tests.support.servers import serve_in_thread

Headers = dict[str, str]
DEFAULT, BULK, UPLOAD, VALUES = 4096, 16384, 1 << 20, 70_000
CHUNK = b"1," * 32768  # 64 KiB of a one-row CSV, again and again


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "max_body_bytes": DEFAULT,
            "max_bulk_bytes": BULK,
            "max_upload_bytes": UPLOAD,
            "max_upload_values": VALUES,
        }
    )


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", "/api/v1/drift/churn-model/batches", Limit(3, "SLO_MAX_UPLOAD_BYTES")),
        ("POST", "/api/v1/drift/churn-model/reference", Limit(3, "SLO_MAX_UPLOAD_BYTES")),
        ("POST", "/api/v1/drift/churn-model/measurements", Limit(2, "SLO_MAX_BULK_BYTES")),
        ("POST", "/api/v1/events", Limit(2, "SLO_MAX_BULK_BYTES")),
        ("POST", "/api/v1/apply", Limit(2, "SLO_MAX_BULK_BYTES")),
        ("POST", "/api/v1/slos", Limit(1, "SLO_MAX_BODY_BYTES")),
        ("PUT", "/api/v1/drift/churn-model/batches", Limit(1, "SLO_MAX_BODY_BYTES")),
        ("POST", "/api/v1/drift/churn-model/batches/x", Limit(1, "SLO_MAX_BODY_BYTES")),
        ("POST", "/login", Limit(1, "SLO_MAX_BODY_BYTES")),
    ],
    ids=[
        "drift-batch", "drift-reference", "drift-measurements", "events", "apply",
        "definitions", "other-method", "longer-path", "pages",
    ],
)  # fmt: skip
def test_each_kind_of_route_has_its_limit(method: str, path: str, expected: Limit) -> None:
    assert BodyLimits(default=1, bulk=2, upload=3).of(method, path) == expected


def assert_too_large(response: httpx.Response, limit: int, setting: str) -> None:
    assert response.status_code == 413, response.text
    assert response.json() == {
        "error": "PayloadTooLarge",
        "detail": f"the request body is over this route's limit of {limit:,} bytes "
        f"({setting}): send less per request",
    }


def test_a_definition_over_the_limit_is_refused_and_nothing_stored(
    client: TestClient, admin: Headers
) -> None:
    slo = {"service": "churn-model", "name": "availability", "kind": "availability",
           "objective": 0.999, "window": "30d", "description": "x" * DEFAULT}  # fmt: skip
    assert_too_large(
        client.post("/api/v1/slos", json=slo, headers=admin), DEFAULT, "SLO_MAX_BODY_BYTES"
    )
    assert client.get("/api/v1/slos", headers=admin).json()["count"] == 0
    slo["description"] = "under the limit"
    assert client.post("/api/v1/slos", json=slo, headers=admin).status_code == 201


def test_bulk_and_upload_routes_take_more(client: TestClient, admin: Headers) -> None:
    """A body over the default limit is fine where the route takes more: it gets the route's
    own answer, not a 413."""
    push_slo(client, admin)
    events = {"events": [
        {"slo": "churn-model:availability", "timestamp": minute_ago(i), "good": 1, "total": 1,
         "event_id": f"e-{i}"}
        for i in range(50)
    ]}  # fmt: skip
    posted = client.post("/api/v1/events", json=events, headers=admin)
    assert int(posted.request.headers["content-length"]) > DEFAULT
    assert posted.status_code == 200, posted.text[:500]
    assert posted.json()["accepted"] == 50
    events["events"] *= 4
    assert_too_large(
        client.post("/api/v1/events", json=events, headers=admin), BULK, "SLO_MAX_BULK_BYTES"
    )
    reference = as_csv(batch_columns(rows=20_000))
    assert DEFAULT < len(reference) < UPLOAD
    stored = client.post("/api/v1/drift/churn-model/reference", content=reference,
                         headers={**admin, "content-type": "text/csv"})  # fmt: skip
    assert stored.status_code == 201, stored.text[:500]
    assert stored.json()["rows"] == 20_000
    too_big = as_csv(batch_columns(rows=60_000))
    assert_too_large(
        client.post("/api/v1/drift/churn-model/batches", content=too_big,
                    headers={**admin, "content-type": "text/csv"}),
        UPLOAD, "SLO_MAX_UPLOAD_BYTES",
    )  # fmt: skip


def test_an_upload_of_too_many_values_is_refused_before_it_is_parsed(
    client: TestClient, admin: Headers
) -> None:
    """What parsing holds grows with the values, up to ~90 bytes each (a JSON string): a body
    under the byte limit may still hold too many, and is refused unparsed, by its separators."""
    assert client.post("/api/v1/drift/churn-model/reference", headers=admin,
                       json={"columns": {"x": [0.5, 1.5] * 10}}).status_code == 201  # fmt: skip
    short = orjson.dumps({"columns": {"x": [0.5] * (VALUES + 1)}})
    assert len(short) < UPLOAD
    answer, peak = peak_bytes(lambda: client.post(
        "/api/v1/drift/churn-model/batches", content=short,
        headers={**admin, "Content-Type": "application/json"},
    ))  # fmt: skip
    assert answer.status_code == 413, answer.text[:500]
    assert answer.json() == {
        "error": "PayloadTooLarge",
        "detail": "the upload holds 70,001 values (counted by their separators); at most "
        "70,000 in one upload (SLO_MAX_UPLOAD_VALUES): send fewer rows at a time",
    }
    # Parsed, the 70,001 numbers alone would take 32 bytes each as Python floats.
    assert peak < 32 * VALUES, f"{peak:,} bytes"
    csv_values = b"x\n" + b"7\n" * VALUES  # one more: the header's
    answer = client.post("/api/v1/drift/churn-model/batches", content=csv_values,
                         headers={**admin, "Content-Type": "text/csv"})  # fmt: skip
    assert answer.status_code == 413
    assert answer.json()["detail"].startswith("the upload holds 70,001 values")
    assert client.get("/api/v1/drift/churn-model", headers=admin).json()["history"]["count"] == 0
    fits = client.post("/api/v1/drift/churn-model/batches", content=csv_values[:-2],
                       headers={**admin, "Content-Type": "text/csv"})  # fmt: skip
    assert fits.status_code == 201, fits.text[:500]
    assert fits.json()["rows"] == VALUES - 1


@pytest.fixture
def served(settings: Settings, db: Engine) -> Iterator[str]:
    """The app on a real server (uvicorn on a loopback port), where bodies arrive in pieces."""
    with serve_in_thread(create_app(settings, engine=db)) as base:
        yield base


def test_a_declared_length_over_the_limit_is_refused_before_the_body(served: str) -> None:
    """Only the headers are sent: the answer comes without the server waiting for 200 MB."""
    host, port = served.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(
            b"POST /api/v1/slos HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 200000000\r\n\r\n"
        )
        answer = b""
        while chunk := connection.recv(65536):  # the server closes the connection after it
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 "), answer
    assert httpx.Response(413, content=body).json()["error"] == "PayloadTooLarge"


def test_a_chunked_upload_is_cut_off_at_the_limit(served: str, admin: Headers) -> None:
    """A body without a length, sent until the server stops taking it: the 413 comes once it
    passes the limit; the client could push only what the connection buffers beyond it, and
    the server held about the limit, not the 256 MiB the client had to send."""
    sent = 0

    def endless() -> Iterator[bytes]:
        nonlocal sent
        for _ in range(4096):  # 256 MiB
            sent += len(CHUNK)
            yield CHUNK

    tracemalloc.start()
    try:
        response = httpx.post(
            f"{served}/api/v1/drift/churn-model/batches", content=endless(),
            headers={**admin, "content-type": "text/csv"}, timeout=60,
        )  # fmt: skip
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert_too_large(response, UPLOAD, "SLO_MAX_UPLOAD_BYTES")
    assert sent < 64 * UPLOAD, f"the client sent {sent:,} bytes"
    assert peak < 16 * UPLOAD, f"the server held {peak:,} bytes"
