"""What the OpenAPI document promises is what the API does: validation errors have the
documented shape, types are as strict as the schema says, 405 names the path's methods, and
a 500 keeps the connection open."""

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from slo_service.app import create_app
from slo_service.config import Settings
from tests.api.test_events_status import minute_ago, push_slo
from tests.support.servers import serve_in_thread

Headers = dict[str, str]
API = "/api/v1"
ERROR_BODY = "#/components/schemas/ErrorBody"


def test_every_422_is_documented_with_the_error_shape(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    documented = {}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if "422" in operation["responses"]:
                schema = operation["responses"]["422"]["content"]["application/json"]["schema"]
                documented[f"{method.upper()} {path}"] = schema
    assert "GET /api/v1/alerts" in documented
    assert "GET /api/v1/notifications" in documented
    assert {key for key, schema in documented.items() if schema != {"$ref": ERROR_BODY}} == set()
    assert "HTTPValidationError" not in spec["components"]["schemas"]


@pytest.mark.parametrize(
    ("url", "loc"),
    [
        ("/alerts?resolved_within=-1", ["query", "resolved_within"]),
        ("/alerts?limit=abc", ["query", "limit"]),
        ("/notifications?state=lost", ["query", "state"]),
        ("/notifications?offset=-1", ["query", "offset"]),
    ],
)
def test_query_errors_of_alerts_and_notifications_have_the_error_shape(
    client: TestClient, admin: Headers, url: str, loc: list[str]
) -> None:
    answer = client.get(API + url, headers=admin)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert (body["error"], body["errors"][0]["loc"]) == ("InvalidInput", loc)


def parameter(spec: dict[str, Any], path: str, name: str, method: str = "get") -> dict[str, Any]:
    found = [p for p in spec["paths"][path][method]["parameters"] if p["name"] == name]
    assert len(found) == 1, (path, name)
    schema: dict[str, Any] = found[0]["schema"]
    return schema


def test_the_schema_states_the_bounds_and_patterns_validation_enforces(
    client: TestClient,
) -> None:
    spec = client.get("/openapi.json").json()
    for path in ("/api/v1/slos", "/api/v1/audit", "/api/v1/deployments", "/api/v1/notifications"):
        assert parameter(spec, path, "offset")["maximum"] == 2**31 - 1, path
    slug = parameter(spec, "/api/v1/services/{service}/policy", "service")["pattern"]
    assert slug == parameter(spec, "/api/v1/drift/{service}", "service")["pattern"]
    assert slug.startswith("^")
    assert slug.endswith("$")  # a full match: JSON Schema's "$" ends the text
    position = spec["components"]["schemas"]["RouteIn"]["properties"]["position"]
    assert (position["minimum"], position["maximum"]) == (-(2**31), 2**31 - 1)


@pytest.mark.parametrize("since", ["0.5", "1700000000", "-1"])
def test_a_time_in_a_query_must_be_iso_text(client: TestClient, admin: Headers, since: str) -> None:
    for url in (f"/audit?since={since}", f"/drift/churn-model?from={since}"):
        answer = client.get(API + url, headers=admin)
        assert answer.status_code == 422, (url, answer.text)
        assert "ISO 8601" in answer.json()["detail"]


def test_a_time_in_a_body_must_be_iso_text(client: TestClient, admin: Headers) -> None:
    deploy = {"service": "churn", "version": "1", "deployed_at": 1700000000}
    answer = client.post(f"{API}/deployments", headers=admin, json=deploy)
    assert (answer.status_code, answer.json()["errors"][0]["loc"]) == (422, ["deployed_at"])
    answer = client.post(f"{API}/services/churn/overrides", headers=admin,
                         json={"reason": "hotfix", "expires_at": 1.5e9})  # fmt: skip
    assert (answer.status_code, answer.json()["errors"][0]["loc"]) == (422, ["expires_at"])
    push_slo(client, admin)
    event = {"slo": "churn-model:availability", "good": 1, "total": 1, "event_id": "e"}
    answer = client.post(f"{API}/events", json={"events": [{**event, "timestamp": 0.5}]},
                         headers=admin)  # fmt: skip
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["loc"] == ["events", 0, "timestamp"]
    # The same event with an ISO time is taken: only the type was wrong.
    answer = client.post(f"{API}/events", json={"events": [{**event, "timestamp": minute_ago(3)}]},
                         headers=admin)  # fmt: skip
    assert answer.json()["accepted"] == 1, answer.text


@pytest.mark.parametrize(
    ("path", "body", "loc"),
    [
        ("/apply", {"slos": [], "prune": 0}, ["prune"]),
        ("/apply", {"slos": [], "dry_run": "yes"}, ["dry_run"]),
        (
            "/notification-routes",
            {"name": "r", "continue": 1, "channels": [{"type": "webhook", "url": "http://x"}]},
            ["continue"],
        ),
        (
            "/slos",
            {
                "service": "s",
                "name": "n",
                "kind": "availability",
                "objective": 0.9,
                "sli": {"source": "push"},
                "alerting": {"enabled": 0},
            },
            ["alerting", "enabled"],
        ),
    ],
)
def test_a_boolean_must_be_a_json_boolean(
    client: TestClient, admin: Headers, path: str, body: dict[str, Any], loc: list[str]
) -> None:
    answer = client.post(API + path, json=body, headers=admin)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["loc"] == loc


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/api/v1/slos", "GET, POST"),
        ("POST", "/api/v1/slos/1", "DELETE, GET, PATCH, PUT"),
        ("PUT", "/api/v1/audit", "GET"),
        ("GET", "/api/v1/apply", "POST"),
        ("PATCH", "/api/v1/notification-routes/oncall", "DELETE, GET, PUT"),
        ("GET", "/api/v1/services/churn/freeze", "DELETE, POST"),
    ],
)
def test_a_405_names_every_method_of_the_path(
    client: TestClient, admin: Headers, method: str, path: str, allowed: str
) -> None:
    answer = client.request(method, path, headers=admin)
    assert answer.status_code == 405, answer.text
    assert answer.headers["allow"] == allowed
    assert answer.json()["error"] == "MethodNotAllowed"


@pytest.fixture
def failing_app(settings: Settings, db: Engine) -> FastAPI:
    """The real app with one extra route that fails the way a bug would."""
    app = create_app(settings, engine=db)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    return app


def exchange(sock: socket.socket, path: str) -> bytes:
    """One HTTP/1.1 request on an open connection; its whole answer (b"" once closed)."""
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )  # fmt: skip
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body  # the body may come in later segments than the head


@pytest.fixture
def connection(failing_app: FastAPI) -> Iterator[socket.socket]:
    with serve_in_thread(failing_app) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            yield sock


def test_a_500_keeps_the_connection_open(connection: socket.socket) -> None:
    first = exchange(connection, "/boom")
    assert first.startswith(b"HTTP/1.1 500 "), first
    assert b'"error":"InternalError"' in first
    assert b"connection: close" not in first.lower()
    second = exchange(connection, "/healthz")
    assert second.startswith(b"HTTP/1.1 200 "), second
