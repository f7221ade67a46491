"""The ML on-call view, ``GET /services/{service}/health``: over HTTP on both backends (with
Prometheus unreachable), and its accuracy read from a real Prometheus with known data."""

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from slo_service.db import session_scope
from slo_service.domain.blocks import Layout
from slo_service.models import SLO
from slo_service.schemas.slo import SLOCreate
from slo_service.services import evaluation, model_health, slos
from slo_service.sources.base import NoQueryChecker
from slo_service.sources.prometheus import PrometheusSource
from tests.api.test_drift import BASE, SERVICE, batch_columns, post_reference
from tests.api.test_drift_slo import drift_slo, evaluate
from tests.support.metrics import Scenario

Headers = dict[str, str]
URL = f"/api/v1/services/{SERVICE}/health"


def test_health_shows_states_worst_first_drift_and_null_rates(
    client: TestClient, admin: Headers
) -> None:
    drift = drift_slo(client, admin, objective=0.99)
    accuracy = {"service": SERVICE, "name": "accuracy", "kind": "accuracy", "objective": 0.95,
                "window": "7d", "params": {"baseline": 0.9}}  # fmt: skip
    assert client.post("/api/v1/slos", json=accuracy, headers=admin).status_code == 201
    post_reference(client, admin)
    recent = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=20)
    for minutes, shift in ((0, 0.0), (5, 1.0)):
        columns = batch_columns(shift=shift)
        columns["income"][:300] = [None] * 300
        body = {"columns": columns, "timestamp": (recent + timedelta(minutes=minutes)).isoformat()}
        assert client.post(f"{BASE}/batches", json=body, headers=admin).status_code == 201
    evaluate(client, admin, drift["id"])

    view = client.get(URL, headers=admin).json()
    assert [s["name"] for s in view["slos"]] == ["feature-drift", "accuracy"]
    assert [s["state"] for s in view["slos"]] == ["exhausted", "no_data"]  # 1 of 2 slices bad
    assert view["state"] == "exhausted"
    features = view["drift"]["features"]
    assert features[0]["feature"] == "age"
    assert features[0]["drifted"] is True
    assert features[0]["value"] == features[0]["psi"] >= 0.1
    assert features[0]["threshold"] == 0.1
    assert {f["feature"]: f["drifted"] for f in features[1:]} == {"income": False, "country": False}
    income = next(f for f in features if f["feature"] == "income")
    assert income["null_rate"] == pytest.approx(300 / 2000)
    assert income["reference_null_rate"] == 0.0
    age = next(f for f in features if f["feature"] == "age")
    assert age["reference_null_rate"] == pytest.approx(50 / 5000)
    assert view["drift"]["reference_version"] == 1
    (acc,) = view["accuracy"]
    assert acc["floor"] == pytest.approx(0.9 * 0.95)
    assert acc["current"] is None
    assert acc["meets"] is None
    assert "unreachable" in acc["error"]


def test_health_of_an_unknown_service_is_404(client: TestClient, admin: Headers) -> None:
    answer = client.get("/api/v1/services/no-such-model/health", headers=admin)
    assert answer.status_code == 404
    assert "no SLOs and no drift data" in answer.json()["detail"]


@pytest.mark.prometheus
@pytest.mark.parametrize(
    ("before_end", "current", "meets"),
    [(2 * 3600 + 45 * 60, 0.7, False), (3600, 0.9, True)],
    ids=["during-the-drop", "after-it"],
)
def test_accuracy_now_against_its_baseline(
    db: Engine,
    scenario: Scenario,
    scenario_prometheus: str,
    before_end: int,
    current: float,
    meets: bool,
) -> None:
    data = SLOCreate.model_validate(
        {"service": "churn", "name": "accuracy", "kind": "accuracy", "objective": 0.95,
         "window": "1d", "params": {"baseline": 0.9, "tolerance": 0.05}}
    )  # fmt: skip
    source = PrometheusSource(scenario_prometheus, timeout=10)
    now = datetime.fromtimestamp(scenario.end - before_end, UTC)
    with session_scope(db) as session:
        slo = slos.create(session, slos.prepare(data, NoQueryChecker()), actor="tests")
        slo_id = slo.id
        evaluation.evaluate(session, slo, sources={"prometheus": source}, layout=Layout(60),
                            now=now)  # fmt: skip
    with Session(db) as session:
        view = model_health.health(
            session, "churn", now=now, layout=Layout(60), gauges=source, base_url="http://x"
        )
        stored = session.get(SLO, slo_id)
        assert stored is not None
        assert stored.evaluated_until is not None
        start = int(stored.evaluated_until.timestamp()) - 86400
    (acc,) = view.accuracy
    assert acc.current == pytest.approx(current)
    assert acc.meets is meets
    assert acc.error is None
    good, total = scenario.slices(lambda v: v >= 0.9 * 0.95, start, start + 86400)
    assert acc.attainment == pytest.approx(good / total, rel=1e-12)
    assert view.slos[0].url == f"http://x/slos/{slo_id}"
