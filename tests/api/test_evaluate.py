"""``POST /api/v1/slos/{id}/evaluate`` against a real Prometheus, and against none."""

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from slo_service.app import create_app
from slo_service.config import Settings

Headers = dict[str, str]
SLO = {
    "service": "churn",
    "name": "availability",
    "kind": "availability",
    "objective": 0.99,
    "window": "1d",
    "params": {"model_name": "churn"},
}


def test_evaluate_now_then_status(
    settings: Settings, db: Engine, admin: Headers, scenario_prometheus: str
) -> None:
    live = settings.model_copy(update={"prometheus_url": scenario_prometheus})
    with TestClient(create_app(live, engine=db)) as client:
        assert client.post("/api/v1/slos", json=SLO, headers=admin).status_code == 201
        response = client.post("/api/v1/slos/churn:availability/evaluate", headers=admin)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["evaluated_until"] is not None
        assert body["total"] > 0
        assert body["last_error"] is None
        assert client.get("/api/v1/slos/churn:availability/status", headers=admin).json() == body


def test_evaluate_with_prometheus_down_is_503_and_the_error_is_kept(
    client: TestClient, admin: Headers
) -> None:
    assert client.post("/api/v1/slos", json=SLO, headers=admin).status_code == 201
    response = client.post("/api/v1/slos/churn:availability/evaluate", headers=admin)
    assert response.status_code == 503
    assert response.json()["error"] == "Unavailable"
    assert "unreachable" in response.json()["detail"]
    status = client.get("/api/v1/slos/churn:availability/status", headers=admin).json()
    assert status["last_error"] == response.json()["detail"]
    assert status["evaluated_until"] is None
    assert status["state"] == "no_data"
    reader = client.post("/api/v1/slos/churn:availability/evaluate")
    assert reader.status_code == 401
