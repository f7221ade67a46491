"""Queries are checked against a real Prometheus when it is reachable."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from slo_service.app import create_app
from slo_service.config import Settings

Headers = dict[str, str]


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
