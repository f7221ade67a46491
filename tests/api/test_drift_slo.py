"""A drift SLO measured end to end from the drift store, on both backends: batches posted over
HTTP, ``POST /slos/{id}/evaluate``, and a status whose numbers are counted here by hand from
the PSI each batch answered."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.test_drift import BASE, SERVICE, batch_columns, post_reference

Headers = dict[str, str]
THRESHOLDS = {"age": 0.1}
DEFAULT = 0.2
# Batches seven minutes apart from an hour ago, with the age distribution shifted by these
# fractions of a standard deviation: 0.5 drifts past age's 0.1, 0.2 stays under it.
SHIFTS = (0.0, 0.5, 0.0, 0.2, 0.0, 0.5, 0.0, 0.0)


def drift_slo(client: TestClient, headers: Headers, **fields: Any) -> dict[str, Any]:
    body = {
        "service": SERVICE,
        "name": "feature-drift",
        "kind": "drift",
        "objective": 0.9,
        "window": "1d",
        "params": {"thresholds": THRESHOLDS, "default_threshold": DEFAULT},
        **fields,
    }
    response = client.post("/api/v1/slos", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def post_batch(client: TestClient, headers: Headers, at: datetime, shift: float) -> bool:
    """Post a batch; whether every feature stayed under its threshold (from its answer)."""
    body = {"columns": batch_columns(shift=shift, seed=int(at.timestamp())),
            "timestamp": at.isoformat()}  # fmt: skip
    answer = client.post(f"{BASE}/batches", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return all(f["psi"] < THRESHOLDS.get(f["feature"], DEFAULT) for f in answer.json()["features"])


def evaluate(client: TestClient, headers: Headers, slo_id: int) -> dict[str, Any]:
    answer = client.post(f"/api/v1/slos/{slo_id}/evaluate", headers=headers)
    assert answer.status_code == 200, answer.text
    status: dict[str, Any] = answer.json()
    return status


def test_drift_slo_counts_batches_under_their_thresholds(
    client: TestClient, admin: Headers
) -> None:
    slo = drift_slo(client, admin)
    assert slo["sli"]["service"] == SERVICE
    assert slo["budgeting"] == "timeslices"
    post_reference(client, admin)
    hour_ago = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
    verdicts = [
        post_batch(client, admin, hour_ago + timedelta(minutes=7 * i, seconds=5), shift)
        for i, shift in enumerate(SHIFTS)
    ]
    assert verdicts.count(False) == 2  # the two half-sigma shifts, no more
    status = evaluate(client, admin, slo["id"])
    good, total = verdicts.count(True), len(verdicts)
    assert (status["good"], status["total"]) == (good, total)
    assert status["sli"] == pytest.approx(good / total, rel=1e-12)
    remaining = 1 - (1 - good / total) / (1 - 0.9)
    assert status["error_budget"]["remaining"] == pytest.approx(remaining, rel=1e-9)
    assert status["last_error"] is None

    # A late batch, older than what was evaluated, is counted by the next evaluation.
    assert not post_batch(client, admin, hour_ago - timedelta(hours=5), shift=1.0)
    again = evaluate(client, admin, slo["id"])
    assert (again["good"], again["total"]) == (good, total + 1)


def test_slices_without_a_batch_follow_no_data(client: TestClient, admin: Headers) -> None:
    slo = drift_slo(client, admin, no_data="bad", window="12h")
    post_reference(client, admin)
    recent = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=30)
    assert post_batch(client, admin, recent, shift=0.0)
    status = evaluate(client, admin, slo["id"])
    start = datetime.fromisoformat(status["window"]["start"])
    end = datetime.fromisoformat(status["evaluated_until"])
    minutes = int((end - start).total_seconds() // 60)
    assert status["total"] == minutes  # every slice counts, batch or not
    assert status["good"] == 1  # the one slice with a batch under its thresholds
    assert status["error_budget"]["remaining"] < 0


def test_a_custom_drift_sli_reads_another_services_store(
    client: TestClient, admin: Headers
) -> None:
    sli = {"source": "drift_store", "service": SERVICE, "statistic": "ks_statistic",
           "default_threshold": 0.05}  # fmt: skip
    slo = client.post(
        "/api/v1/slos",
        json={"service": "churn-model-canary", "name": "drift", "kind": "custom",
              "objective": 0.5, "window": "1d", "sli": sli},
        headers=admin,
    ).json()  # fmt: skip
    assert slo["sli"]["service"] == SERVICE
    post_reference(client, admin)
    recent = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=30)
    body = {"columns": batch_columns(shift=0.5), "timestamp": recent.isoformat()}
    features = client.post(f"{BASE}/batches", json=body, headers=admin).json()["features"]
    # Categorical features have no KS statistic: they are judged by their PSI.
    values = [f["ks_statistic"] if f["ks_statistic"] is not None else f["psi"] for f in features]
    status = evaluate(client, admin, slo["id"])
    assert (status["good"], status["total"]) == (float(max(values) < 0.05), 1)
    assert max(values) >= 0.05  # the half-sigma shift of age: bad
