"""Prediction drift on both backends: a prediction reference, hours of logged predictions
measured against it by the periodic job (statistics equal to scipy's), the on-call view, and a
drift SLO over the predictions."""

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from scipy import stats
from sqlalchemy import Engine

from slo_service.db import utcnow
from slo_service.domain.blocks import Layout
from slo_service.services.drift import predictions as prediction_drift

Headers = dict[str, str]
SERVICE = "churn-model"
HOUR = 3600
CLASSES = ["churn", "stay"]


def iso(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).isoformat()


@pytest.fixture
def writer(make_token: Callable[..., dict[str, str]]) -> Headers:
    return make_token("read,write")


def outputs(rng: np.random.Generator, n: int, churn: float) -> tuple[list[str], np.ndarray]:
    """A classifier's classes and its confidence in them, churning at the rate given."""
    churned = rng.random(n) < churn
    scores = np.where(churned, rng.beta(6, 2, n), rng.beta(2, 6, n)).round(4)
    return [CLASSES[0] if c else CLASSES[1] for c in churned], scores


def test_hours_of_predictions_are_measured_against_the_prediction_reference(
    client: TestClient, writer: Headers, db: Engine
) -> None:
    rng = np.random.default_rng(8)
    ref_classes, ref_scores = outputs(rng, 5000, churn=0.2)
    reference = {"columns": {"prediction": ref_classes, "score": ref_scores.tolist()}}
    answer = client.post(
        f"/api/v1/drift/{SERVICE}/reference", params={"subject": "predictions"},
        json=reference, headers=writer,
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    first = (int(time.time()) // HOUR - 4) * HOUR
    hours: list[tuple[list[str], np.ndarray]] = []
    for hour, churn in enumerate((0.2, 0.6, 0.2)):  # the middle hour drifts
        classes, scores = outputs(rng, 2000, churn)
        hours.append((classes, scores))
        batch = {"predictions": [
            {"id": f"h{hour}-{i}", "timestamp": iso(first + hour * HOUR + i), "model_version": "v1",
             "prediction": classes[i], "score": {"churn": float(scores[i]) if classes[i] == "churn"
                                                 else 1 - float(scores[i]),
                                                 "stay": float(scores[i]) if classes[i] == "stay"
                                                 else 1 - float(scores[i])}}
            for i in range(len(classes))
        ]}  # fmt: skip
        response = client.post(f"/api/v1/predictions/{SERVICE}", json=batch, headers=writer)
        assert response.status_code == 200, response.text
    slo = client.post("/api/v1/slos", headers=writer, json={
        "service": SERVICE, "name": "prediction-drift", "kind": "drift", "objective": 0.9,
        "window": "1d", "params": {"subject": "predictions", "default_threshold": 0.2},
    })  # fmt: skip
    assert slo.status_code == 201, slo.text
    assert slo.json()["sli"]["subject"] == "predictions"

    layout = Layout(60)
    assert prediction_drift.measure_due(db, now=utcnow(), layout=layout) == 3
    assert prediction_drift.measure_due(db, now=utcnow(), layout=layout) == 0  # once each

    health = client.get(f"/api/v1/services/{SERVICE}/health", headers=writer)
    assert health.status_code == 200, health.text
    found = {f["feature"]: f for f in health.json()["prediction_drift"]["features"]}
    assert health.json()["drift"]["features"] == []  # the inputs are another subject
    assert set(found) == {"prediction", "score"}
    latest_classes, latest_scores = hours[-1]
    assert datetime.fromisoformat(found["score"]["observed_at"]).timestamp() == first + 3 * HOUR
    ks = stats.ks_2samp(ref_scores, latest_scores)
    assert found["score"]["ks_statistic"] == pytest.approx(ks.statistic, rel=1e-9)
    table = np.array([[ref_classes.count(c) for c in CLASSES],
                      [latest_classes.count(c) for c in CLASSES]])  # fmt: skip
    chi2 = stats.chi2_contingency(table, correction=False)
    assert found["prediction"]["chi2_pvalue"] == pytest.approx(chi2.pvalue, rel=1e-9)
    assert found["prediction"]["drifted"] is False

    status = client.post(f"/api/v1/slos/{slo.json()['id']}/evaluate", headers=writer).json()
    # Three hours measured, a slice each; the middle one drifted.
    assert (status["good"], status["total"]) == (2.0, 3.0)


def test_a_prediction_reference_has_only_prediction_and_score(
    client: TestClient, writer: Headers
) -> None:
    body: dict[str, Any] = {"columns": {"prediction": ["a", "b"], "age": [1.0, 2.0]}}
    answer = client.post(
        f"/api/v1/drift/{SERVICE}/reference", params={"subject": "predictions"}, json=body,
        headers=writer,
    )  # fmt: skip
    assert answer.status_code == 422
    assert (
        "columns.age: a prediction reference has only the columns prediction and score"
        in (answer.json()["detail"])
    )


def test_the_history_of_prediction_drift_is_asked_by_subject(
    client: TestClient, writer: Headers, db: Engine
) -> None:
    reference = {"columns": {"prediction": ["a", "b"] * 500}}
    answer = client.post(
        f"/api/v1/drift/{SERVICE}/reference", params={"subject": "predictions"},
        json=reference, headers=writer,
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    first = (int(time.time()) // HOUR - 3) * HOUR
    batch = {"predictions": [{"id": f"p{i}", "timestamp": iso(first + 10 * i),
                              "model_version": "v1", "prediction": "a" if i % 4 else "b"}
                             for i in range(300)]}  # fmt: skip
    logged = client.post(f"/api/v1/predictions/{SERVICE}", json=batch, headers=writer)
    assert logged.status_code == 200, logged.text
    assert prediction_drift.measure_due(db, now=utcnow(), layout=Layout(60)) == 1
    found = client.get(
        f"/api/v1/drift/{SERVICE}", params={"subject": "predictions"}, headers=writer
    ).json()
    assert [m["feature"] for m in found["history"]["data"]] == ["prediction"]
    assert found["reference"]["features"][0]["feature"] == "prediction"
    table = np.array([[500, 500], [225, 75]])  # a, b: the reference, the hour
    chi2 = stats.chi2_contingency(table, correction=False)
    assert found["history"]["data"][0]["chi2_pvalue"] == pytest.approx(chi2.pvalue, rel=1e-9)
    inputs = client.get(f"/api/v1/drift/{SERVICE}", headers=writer)
    assert inputs.status_code == 404  # no reference of its inputs
