"""A model_performance SLO end to end on both backends: predictions and labels posted over
HTTP, ``POST /slos/{id}/evaluate``, and a status whose good and total slices are counted here
from the labels the test sent: an hour is judged once its labels are due, and late labels
judge it again."""

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

Headers = dict[str, str]
SERVICE = "fraud-model"
HOUR = 3600
FIRST = (
    int(time.time()) // HOUR - 10
) * HOUR  # predictions in the ten hours before the current one
DELAY_HOURS = 3
# Per hour from FIRST: the share of predictions the model got right; None: no labels yet.
RIGHT = [0.95, 0.6, 0.9, None, 0.85, 0.5, 0.92, 0.9, 0.7, 0.99]
THRESHOLD = 0.8
PER_HOUR = 40


def iso(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).isoformat()


@pytest.fixture
def writer(make_token: Callable[..., dict[str, str]]) -> Headers:
    return make_token("read,write")


def post(client: TestClient, path: str, body: dict[str, Any], headers: Headers) -> Any:
    response = client.post(f"/api/v1/{path}", json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    return response.json()


def predictions() -> dict[str, Any]:
    return {
        "predictions": [
            {"id": f"h{h}-{i}", "timestamp": iso(FIRST + h * HOUR + 60 * i + 7),
             "model_version": "v3", "prediction": "fraud" if i % 2 else "ok"}
            for h in range(len(RIGHT))
            for i in range(PER_HOUR)
        ]
    }  # fmt: skip


def labels(hours: dict[int, float]) -> dict[str, Any]:
    """Labels for the hours given, right for the share of each hour's predictions given."""
    items = []
    for h, share in hours.items():
        right = round(share * PER_HOUR)
        for i in range(PER_HOUR):
            predicted = "fraud" if i % 2 else "ok"
            truth = predicted if i < right else ("ok" if predicted == "fraud" else "fraud")
            items.append({"id": f"h{h}-{i}", "label": truth,
                          "labeled_at": iso(FIRST + (h + 1) * HOUR + 60)})  # fmt: skip
    return {"labels": items}


def expected(right: list[float | None], until: int) -> tuple[float, float]:
    """Good and total one-minute slices: 60 per judged hour with labels, good where the
    hour's accuracy meets the threshold; the hours judged end by ``until``."""
    judged = [
        share
        for h, share in enumerate(right)
        if FIRST + (h + 1) * HOUR <= until and share is not None
    ]
    return 60.0 * sum(share >= THRESHOLD for share in judged), 60.0 * len(judged)


def test_accuracy_slo_judges_hours_once_their_labels_are_due(
    client: TestClient, writer: Headers
) -> None:
    body = {
        "service": SERVICE, "name": "accuracy-from-labels", "kind": "model_performance",
        "objective": 0.7, "window": "1d",
        "params": {"metric": "accuracy", "threshold": THRESHOLD,
                   "expected_label_delay": f"{DELAY_HOURS}h"},
    }  # fmt: skip
    slo = post(client, "slos", body, writer)
    assert slo["budgeting"] == "timeslices"
    assert slo["sli"] == {
        "source": "prediction_log", "service": SERVICE, "metric": "accuracy",
        "threshold": THRESHOLD, "bucket": "1h", "expected_label_delay": f"{DELAY_HOURS}h",
    }  # fmt: skip
    post(client, f"predictions/{SERVICE}", predictions(), writer)
    post(client, f"labels/{SERVICE}", labels({h: s for h, s in enumerate(RIGHT) if s}), writer)
    now_hour = int(time.time()) // HOUR * HOUR
    status = post(client, f"slos/{slo['id']}/evaluate", {}, writer)
    until = int(datetime.fromisoformat(status["evaluated_until"]).timestamp())
    # Judged up to the hour the labels are due for (an hour later if one just began).
    assert until in (now_hour - DELAY_HOURS * HOUR, now_hour - DELAY_HOURS * HOUR + HOUR)
    good, total = expected(RIGHT, until)
    assert (status["good"], status["total"]) == (good, total)
    # Hour 3's labels come late, and hour 1's are corrected: both are judged again.
    late = {3: 0.9, 1: 0.95}
    post(client, f"labels/{SERVICE}", labels(late), writer)
    again = post(client, f"slos/{slo['id']}/evaluate", {}, writer)
    now_right = [late.get(h, s) for h, s in enumerate(RIGHT)]
    until = int(datetime.fromisoformat(again["evaluated_until"]).timestamp())
    assert (again["good"], again["total"]) == expected(now_right, until)
    assert again["total"] >= total
    assert again["good"] > good


def test_performance_slo_params_are_checked(client: TestClient, writer: Headers) -> None:
    body = {
        "service": SERVICE, "name": "bad", "kind": "model_performance", "objective": 0.9,
        "params": {"metric": "precision", "threshold": 0.8, "bucket": "5h"},
    }  # fmt: skip
    response = client.post("/api/v1/slos", json=body, headers=writer)
    assert response.status_code == 422
    assert "params.bucket" in response.text
    body["params"] = {"metric": "accuracy", "threshold": 0.8, "window_size": 5}
    response = client.post("/api/v1/slos", json=body, headers=writer)
    assert response.status_code == 422
    assert "params.window_size" in response.text


def test_count_windows_judge_each_minute_by_the_last_labeled_predictions(
    client: TestClient, writer: Headers
) -> None:
    """window_size: each minute by the last N labeled predictions made before its end."""
    rng = np.random.default_rng(4)
    n = 200
    stamps = FIRST + np.sort(rng.choice(6 * HOUR, n, replace=False))
    right = rng.random(n) < np.linspace(0.95, 0.5, n)  # the model gets worse
    body = {
        "predictions": [
            {"id": f"c{i}", "timestamp": iso(stamps[i]), "model_version": "v1", "prediction": 1}
            for i in range(n)
        ]
    }
    post(client, f"predictions/{SERVICE}", body, writer)
    truth = {"labels": [{"id": f"c{i}", "label": 1 if right[i] else 0,
                         "labeled_at": iso(time.time())} for i in range(n)]}  # fmt: skip
    post(client, f"labels/{SERVICE}", truth, writer)
    size = 50
    slo = post(client, "slos", {
        "service": SERVICE, "name": "rolling-accuracy", "kind": "model_performance",
        "objective": 0.5, "window": "1d",
        "params": {"metric": "accuracy", "threshold": 0.75, "window_size": size},
    }, writer)  # fmt: skip
    status = post(client, f"slos/{slo['id']}/evaluate", {}, writer)
    end = int(datetime.fromisoformat(status["evaluated_until"]).timestamp())
    minute_ends = np.arange(end - 86_400 + 60, end + 1, 60)
    made_before = np.searchsorted(stamps, minute_ends, side="left")
    judged = made_before >= size
    accuracy = [right[k - size : k].mean() for k in made_before[judged]]
    assert status["total"] == float(judged.sum())
    assert status["good"] == float(sum(a >= 0.75 for a in accuracy))
    assert 0 < status["good"] < status["total"]


def test_labels_missing_fires_and_resolves_with_the_coverage(
    client: TestClient, writer: Headers, admin: Headers
) -> None:
    """min_coverage 0.9: the last judged hour has 10 of 40 predictions labeled, so the status
    says labels are missing and a labels_missing ticket fires; the rest of its labels come,
    and it resolves."""
    body = {
        "service": SERVICE, "name": "labeled-accuracy", "kind": "model_performance",
        "objective": 0.5, "window": "1d",
        "params": {"metric": "accuracy", "threshold": THRESHOLD,
                   "expected_label_delay": f"{DELAY_HOURS}h", "min_coverage": 0.9},
    }  # fmt: skip
    slo = post(client, "slos", body, writer)
    post(client, f"predictions/{SERVICE}", predictions(), writer)
    status = post(client, f"slos/{slo['id']}/evaluate", {}, writer)
    last = (int(datetime.fromisoformat(status["evaluated_until"]).timestamp()) - FIRST) // HOUR - 1
    few = labels({last: 1.0})
    few["labels"] = few["labels"][:10]
    post(client, f"labels/{SERVICE}", few, writer)
    status = post(client, f"slos/{slo['id']}/evaluate", {}, writer)
    assert status["labels"]["predicted"] == PER_HOUR
    assert status["labels"]["labeled"] == 10
    assert status["labels"]["coverage"] == pytest.approx(10 / PER_HOUR)
    assert status["labels"]["missing"] is True
    alerts = client.get("/api/v1/alerts", params={"service": SERVICE}, headers=admin).json()
    firing = [a for a in alerts["data"] if a["slo_id"] == slo["id"] and a["state"] == "firing"]
    assert [a["name"] for a in firing] == ["labels_missing"]
    assert firing[0]["severity"] == "ticket"
    health = client.get(f"/api/v1/services/{SERVICE}/health", headers=admin).json()
    (row,) = [r for r in health["slos"] if r["id"] == slo["id"]]
    assert row["labels"] == status["labels"]
    page = client.get(f"/slos/{slo['id']}", headers=admin)
    assert "10 of 40 predictions" in page.text
    assert "labels missing" in page.text

    post(client, f"labels/{SERVICE}", labels({last: 1.0}), writer)
    status = post(client, f"slos/{slo['id']}/evaluate", {}, writer)
    assert (status["labels"]["labeled"], status["labels"]["missing"]) == (PER_HOUR, False)
    alerts = client.get("/api/v1/alerts", params={"service": SERVICE}, headers=admin).json()
    mine = [a for a in alerts["data"] if a["slo_id"] == slo["id"]]
    assert [(a["name"], a["state"]) for a in mine] == [("labels_missing", "resolved")]
