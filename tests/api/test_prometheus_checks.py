"""Queries are checked against a real Prometheus when it is reachable; an address where
something else answers is named as wrong."""

import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from slo_service.app import create_app
from slo_service.config import Settings
from tests.support.servers import serve_in_thread

Headers = dict[str, str]
WRONG_ADDRESS = "is SLO_PROMETHEUS_URL the server's base URL (such as http://prometheus:9090)?"
NOT_JSON = "with something other than Prometheus's JSON"


@pytest.fixture
def live(settings: Settings, db: Engine, prometheus_url: str) -> Iterator[TestClient]:
    configured = settings.model_copy(update={"prometheus_url": prometheus_url})
    with TestClient(create_app(configured, engine=db)) as client:
        yield client


def custom(query: str) -> dict[str, object]:
    return {
        "service": "churn-model",
        "name": "accuracy",
        "kind": "custom",
        "objective": 0.95,
        "sli": {"type": "threshold", "query": query, "op": ">=", "threshold": 0.8},
    }


def test_prometheus_rejection_is_422_with_its_reason(live: TestClient, admin: Headers) -> None:
    response = live.post("/api/v1/slos", json=custom("rate(ml_model_accuracy)"), headers=admin)
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["loc"] == ["sli", "query"]
    assert error["msg"].startswith("Prometheus rejects the query:")
    assert "range vector" in error["msg"]
    assert live.get("/api/v1/slos", headers=admin).json()["count"] == 0


def test_a_selector_prometheus_refuses_inside_increase(live: TestClient, admin: Headers) -> None:
    slo = {
        "service": "churn-model",
        "name": "availability",
        "kind": "availability",
        "objective": 0.99,
        "sli": {"total": '{__name__=~".*"}'},  # matches the empty string: Prometheus refuses
    }
    response = live.post("/api/v1/slos", json=slo, headers=admin)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["sli", "total"]


def test_queries_prometheus_accepts_are_stored(live: TestClient, admin: Headers) -> None:
    query = 'min(ml_model_accuracy{model_name="churn-model"})'
    assert live.post("/api/v1/slos", json=custom(query), headers=admin).status_code == 201
    latency = {
        "service": "churn-model",
        "name": "latency",
        "kind": "latency",
        "objective": 0.95,
        "params": {"threshold_ms": 300},
    }
    assert live.post("/api/v1/slos", json=latency, headers=admin).status_code == 201


def test_unreachable_prometheus_falls_back_to_local_checks(
    client: TestClient, admin: Headers
) -> None:
    accepted = client.post("/api/v1/slos", json=custom("rate(ml_model_accuracy)"), headers=admin)
    assert accepted.status_code == 201  # syntax is fine; only Prometheus knows the types
    refused = client.post(
        "/api/v1/slos", json={**custom("rate(x[5m]"), "name": "other"}, headers=admin
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == ["sli", "query"]


def answering(status: int, body: bytes, media_type: str) -> Starlette:
    """A web server that answers every request alike (not Prometheus)."""

    async def anything(request: Request) -> Response:
        return Response(body, status_code=status, media_type=media_type)

    return Starlette(routes=[Route("/{path:path}", anything)])


@pytest.mark.parametrize(
    ("server", "checked", "measured"),
    [
        (
            answering(404, b"404 page not found\n", "text/plain"),
            "answers 404 to /api/v1/query",
            "answers 404 to /api/v1/query_range",
        ),
        (
            answering(200, b"<!doctype html><title>Grafana</title>", "text/html"),
            f"answers /api/v1/query {NOT_JSON}",
            f"answers /api/v1/query_range {NOT_JSON}",
        ),
    ],
    ids=["404", "html"],
)
def test_an_address_that_is_not_prometheus_is_named_wrong(
    settings: Settings,
    db: Engine,
    admin: Headers,
    caplog: pytest.LogCaptureFixture,
    server: Starlette,
    checked: str,
    measured: str,
) -> None:
    with serve_in_thread(server) as base:
        url = f"{base}/x"  # a path the server does not have
        configured = settings.model_copy(update={"prometheus_url": url})
        with (
            TestClient(create_app(configured, engine=db)) as client,
            caplog.at_level(logging.WARNING),
        ):
            # As when Prometheus is unreachable, the local checks decide, and the log says why.
            created = client.post("/api/v1/slos", json=custom("rate(x[5m])"), headers=admin)
            assert created.status_code == 201, created.text
            warning = f"Prometheus at {url} {checked}: {WRONG_ADDRESS}; query checked locally"
            assert warning in caplog.messages
            refused = client.post(
                "/api/v1/slos", json={**custom("rate(x[5m]"), "name": "other"}, headers=admin
            )
            assert refused.status_code == 422
            # Evaluation cannot measure it: 503, and the status keeps the same words.
            evaluated = client.post("/api/v1/slos/churn-model:accuracy/evaluate", headers=admin)
            assert evaluated.status_code == 503
            detail = evaluated.json()["detail"]
            assert detail == f"Prometheus at {url} {measured}: {WRONG_ADDRESS}"
            status = client.get("/api/v1/slos/churn-model:accuracy/status", headers=admin)
            assert status.json()["last_error"] == detail
