"""The prediction log over HTTP, on both backends: predictions, late labels (before their
prediction, twice, never), and performance series equal to scikit-learn's on the same rows."""

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sklearn import metrics as sk  # type: ignore[import-untyped]
from sqlalchemy import Engine

from slo_service.db import session_scope
from slo_service.services.performance import log as prediction_log

Headers = dict[str, str]
SERVICE = "churn-model"
HOUR = 3600
BASE = (int(time.time()) // HOUR - 72) * HOUR  # three days ago, on the hour


def iso(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).isoformat().replace("+00:00", "Z")


def stamp(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


@pytest.fixture
def writer(make_token: Callable[..., dict[str, str]]) -> Headers:
    return make_token("read,write")


def post(client: TestClient, path: str, body: dict[str, Any], headers: Headers) -> Any:
    response = client.post(f"/api/v1/{path}", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def performance(client: TestClient, headers: Headers, **params: Any) -> Any:
    query = {"from": iso(BASE), "to": iso(BASE + 3 * HOUR), **params}
    response = client.get(f"/api/v1/services/{SERVICE}/performance", params=query, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


class Binary:
    """600 predictions over three hours, scored; labels for most of them."""

    def __init__(self, seed: int = 5) -> None:
        rng = np.random.default_rng(seed)
        n = 600
        self.ts = np.sort(BASE + rng.uniform(0, 3 * HOUR, n)).round(3)
        self.ids = [f"p{i:04d}" for i in range(n)]
        self.truth = rng.integers(0, 2, n)
        self.score = np.clip(self.truth * 0.35 + rng.uniform(0, 0.65, n), 0, 1).round(4)
        self.predicted = (self.score >= 0.5).astype(int)
        self.labeled = rng.random(n) < 0.8  # the others never get one
        self.delay = rng.uniform(60, 20 * HOUR, n).round(3)

    def predictions(self, rows: range | list[int]) -> dict[str, Any]:
        return {
            "predictions": [
                {
                    "id": self.ids[i],
                    "timestamp": iso(self.ts[i]),
                    "model_version": "v1",
                    "prediction": int(self.predicted[i]),
                    "score": float(self.score[i]),
                }
                for i in rows
            ]
        }

    def labels(self, rows: list[int], truth: Any = None) -> dict[str, Any]:
        truth = self.truth if truth is None else truth
        return {
            "labels": [
                {
                    "id": self.ids[i],
                    "label": int(truth[i]),
                    "labeled_at": iso(self.ts[i] + self.delay[i]),
                }
                for i in rows
            ]
        }


def expected_binary(truth: Any, predicted: Any, score: Any) -> dict[str, float]:
    return {
        "accuracy": sk.accuracy_score(truth, predicted),
        "precision": sk.precision_score(truth, predicted),
        "recall": sk.recall_score(truth, predicted),
        "f1": sk.f1_score(truth, predicted),
        "auc": sk.roc_auc_score(truth, score),
        "log_loss": sk.log_loss(truth, score, labels=[0, 1]),
    }


def assert_metrics(found: dict[str, Any], expected: dict[str, float]) -> None:
    for name, value in expected.items():
        assert found[name]["value"] == pytest.approx(value, rel=1e-9), name


def test_binary_classifier_from_late_labels(
    client: TestClient, writer: Headers, admin: Headers
) -> None:
    data = Binary()
    labeled = [i for i in range(600) if data.labeled[i]]
    early = labeled[:50]  # labels that overtake their predictions
    result = post(client, f"labels/{SERVICE}", data.labels(early), writer)
    assert result == {"matched": 0, "replaced": 0, "pending": 50}
    first = post(client, f"predictions/{SERVICE}", data.predictions(range(300)), writer)
    assert first == {"accepted": 300, "duplicates": 0, "labeled": 50, "task": "classification"}
    again = post(client, f"predictions/{SERVICE}", data.predictions(range(250, 600)), writer)
    assert again == {"accepted": 300, "duplicates": 50, "labeled": 0, "task": "classification"}
    # A wrong label first, then the right one: the second replaces it.
    wrong = 1 - data.truth
    late = labeled[50:]
    result = post(client, f"labels/{SERVICE}", data.labels(late[:40], wrong), writer)
    assert result == {"matched": 40, "replaced": 0, "pending": 0}
    result = post(client, f"labels/{SERVICE}", data.labels(late), writer)
    assert result == {"matched": len(late) - 40, "replaced": 40, "pending": 0}
    audit = client.get("/api/v1/audit", params={"action": "labels.replace"}, headers=admin)
    assert audit.status_code == 200, audit.text
    assert [e["changes"]["replaced"] for e in audit.json()["data"]] == [40]

    found = performance(client, writer, window="1h")
    assert found["task"] == "classification"
    assert found["positive_class"] == "1"  # a binary score's class: sklearn's default
    assert len(found["points"]) == 3
    hour_of = ((data.ts - BASE) // HOUR).astype(int)
    for hour, point in enumerate(found["points"]):
        rows = [i for i in labeled if hour_of[i] == hour]
        assert point["predicted"] == int((hour_of == hour).sum())
        assert point["labeled"] == len(rows)
        assert point["coverage"] == pytest.approx(len(rows) / point["predicted"])
        expected = expected_binary(data.truth[rows], data.predicted[rows], data.score[rows])
        assert_metrics(point["metrics"], expected)
    overall = found["overall"]
    assert (overall["predicted"], overall["labeled"]) == (600, len(labeled))
    assert_metrics(
        overall["metrics"],
        expected_binary(data.truth[labeled], data.predicted[labeled], data.score[labeled]),
    )
    exact = np.percentile(data.delay[labeled], [50, 95], method="inverted_cdf")
    delay = found["label_delay"]
    assert delay["labels"] == len(labeled)
    for seen, truth in zip((delay["p50_seconds"], delay["p95_seconds"]), exact, strict=True):
        assert abs(seen - truth) / truth <= 2 ** (1 / 16) - 1

    counted = performance(client, writer, by="count", window="100", step="50")
    windows = range(0, len(labeled) - 100 + 1, 50)
    assert len(counted["points"]) == len(windows)
    for start, point in zip(windows, counted["points"], strict=True):
        rows = labeled[start : start + 100]
        assert point["labeled"] == 100
        assert stamp(point["start"]) == pytest.approx(data.ts[rows[0]])
        assert stamp(point["end"]) == pytest.approx(data.ts[rows[-1]])
        expected = expected_binary(data.truth[rows], data.predicted[rows], data.score[rows])
        assert_metrics(point["metrics"], expected)


def test_undefined_metrics_are_null_with_a_reason(client: TestClient, writer: Headers) -> None:
    """An hour whose labels are all negative and whose predictions are too: no precision,
    recall, F1 or AUC; JSON carries null and why, never NaN."""
    batch = {
        "predictions": [
            {"id": f"n{i}", "timestamp": iso(BASE + 60 * i), "model_version": "v1",
             "prediction": 0, "score": 0.1}
            for i in range(10)
        ]
    }  # fmt: skip
    post(client, f"predictions/{SERVICE}", batch, writer)
    labels = {"labels": [{"id": f"n{i}", "label": 0, "labeled_at": iso(BASE + HOUR)}
                         for i in range(10)]}  # fmt: skip
    post(client, f"labels/{SERVICE}", labels, writer)
    point = performance(client, writer, window="1h")["points"][0]
    assert point["metrics"]["accuracy"] == {"value": 1.0, "reason": None}
    for name in ("precision", "recall", "f1", "auc"):
        assert point["metrics"][name]["value"] is None, name
        assert point["metrics"][name]["reason"], name
    empty = performance(client, writer, window="1h")["points"][2]
    assert empty["predicted"] == 0
    assert empty["coverage"] is None
    assert empty["metrics"]["accuracy"]["value"] is None


def test_multi_class_macro_and_log_loss(client: TestClient, writer: Headers) -> None:
    rng = np.random.default_rng(9)
    classes = ["cat", "dog", "fox"]
    n = 300
    probabilities = rng.dirichlet([1, 1, 1], n).round(6)
    probabilities[:, 2] = 1 - probabilities[:, 0] - probabilities[:, 1]
    predicted = [classes[k] for k in probabilities.argmax(axis=1)]
    truth = [classes[k] for k in rng.integers(0, 3, n)]
    truth[:20] = predicted[:20]
    body = {
        "predictions": [
            {"id": f"m{i}", "timestamp": iso(BASE + 30 * i), "model_version": "v2",
             "prediction": predicted[i],
             "score": dict(zip(classes, probabilities[i].tolist(), strict=True))}
            for i in range(n)
        ]
    }  # fmt: skip
    assert post(client, f"predictions/{SERVICE}", body, writer)["task"] == "classification"
    labels = {"labels": [{"id": f"m{i}", "label": truth[i], "labeled_at": iso(BASE + 2 * HOUR)}
                         for i in range(n)]}  # fmt: skip
    post(client, f"labels/{SERVICE}", labels, writer)
    found = performance(client, writer, window="3h")
    assert found["positive_class"] is None
    expected = {
        "accuracy": sk.accuracy_score(truth, predicted),
        "precision": sk.precision_score(truth, predicted, average="macro"),
        "recall": sk.recall_score(truth, predicted, average="macro"),
        "f1": sk.f1_score(truth, predicted, average="macro"),
        "log_loss": sk.log_loss(truth, probabilities, labels=classes),
        "auc": sk.roc_auc_score(truth, probabilities, multi_class="ovr", labels=classes),
    }
    assert_metrics(found["points"][0]["metrics"], expected)


def test_regression_mae_rmse_by_count(client: TestClient, writer: Headers) -> None:
    rng = np.random.default_rng(3)
    n = 250
    predicted, truth = rng.normal(10, 2, n).round(3), rng.normal(10, 2, n).round(3)
    body = {
        "predictions": [
            {"id": f"r{i}", "timestamp": iso(BASE + 40 * i), "model_version": "v1",
             "prediction": float(predicted[i])}
            for i in range(n)
        ]
    }  # fmt: skip
    assert post(client, f"predictions/{SERVICE}", body, writer)["task"] == "regression"
    at = iso(BASE + 3 * HOUR)
    labels = {"labels": [{"id": f"r{i}", "label": float(truth[i]), "labeled_at": at}
                         for i in range(n)]}  # fmt: skip
    post(client, f"labels/{SERVICE}", labels, writer)
    found = performance(client, writer, by="count", window="50", step="25")
    assert len(found["points"]) == 9
    for k, point in enumerate(found["points"]):
        rows = slice(25 * k, 25 * k + 50)
        assert set(point["metrics"]) == {"mae", "rmse"}
        assert point["metrics"]["mae"]["value"] == pytest.approx(
            sk.mean_absolute_error(truth[rows], predicted[rows]), rel=1e-9
        )
        assert point["metrics"]["rmse"]["value"] == pytest.approx(
            math.sqrt(sk.mean_squared_error(truth[rows], predicted[rows])), rel=1e-9
        )
    wrong = client.get(
        f"/api/v1/services/{SERVICE}/performance", params={"metric": "auc"}, headers=writer
    )
    assert wrong.status_code == 422
    assert "does not apply to regression" in wrong.text


def test_a_bad_item_refuses_the_whole_batch(client: TestClient, writer: Headers) -> None:
    data = Binary()
    batch = data.predictions(range(5))
    batch["predictions"][3]["timestamp"] = iso(BASE - 200 * 86400)
    batch["predictions"][1]["id"] = batch["predictions"][0]["id"]
    batch["predictions"][4]["prediction"] = 0.5
    response = client.post(f"/api/v1/predictions/{SERVICE}", json=batch, headers=writer)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert "predictions[1].id: repeats the id of item 0" in detail
    assert "predictions[3].timestamp: must lie within the last 90 days" in detail
    assert "predictions[4].prediction" in detail
    gone = client.get(f"/api/v1/services/{SERVICE}/performance", headers=writer)
    assert gone.status_code == 404  # nothing was stored, not even the service's log
    post(client, f"predictions/{SERVICE}", data.predictions(range(5)), writer)
    regression = {"predictions": [{"id": "x", "timestamp": iso(BASE), "model_version": "v1",
                                   "prediction": 1.5}], "task": "regression"}  # fmt: skip
    conflict = client.post(f"/api/v1/predictions/{SERVICE}", json=regression, headers=writer)
    assert conflict.status_code == 409
    assert "logs classification predictions" in conflict.json()["detail"]


def test_writes_need_the_write_scope(
    client: TestClient, make_token: Callable[..., dict[str, str]]
) -> None:
    reader = make_token("read")
    response = client.post(
        f"/api/v1/predictions/{SERVICE}", json=Binary().predictions(range(2)), headers=reader
    )
    assert response.status_code == 403


def test_a_batch_of_bad_items_is_answered_briefly(client: TestClient, writer: Headers) -> None:
    """10,000 bad labels: the first hundred named, then how many more."""
    future = iso(time.time() + 86_400)
    labels = {"labels": [{"id": f"x{i}", "label": 1, "labeled_at": future} for i in range(10_000)]}
    response = client.post(f"/api/v1/labels/{SERVICE}", json=labels, headers=writer)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert len(errors) == 101
    assert errors[0] == {"loc": ["labels", 0, "labeled_at"], "msg": "must not lie in the future"}
    assert errors[-1]["msg"] == "and 9900 more problems like these"
    assert len(response.content) < 20_000


def test_prune_drops_what_is_past_retention_and_waiting_too_long(
    client: TestClient, writer: Headers, db: Engine
) -> None:
    data = Binary()
    post(client, f"predictions/{SERVICE}", data.predictions(range(600)), writer)
    post(client, f"labels/{SERVICE}", {"labels": [
        {"id": "never-logged", "label": 1, "labeled_at": iso(BASE)}]}, writer)  # fmt: skip
    limits = prediction_log.Limits(retention=timedelta(days=90), label_wait=timedelta(days=14))
    cut = BASE + HOUR + 90 * 86_400  # the first hour falls out of retention
    with session_scope(db) as session:
        gone = prediction_log.prune(session, now=datetime.fromtimestamp(cut, UTC), limits=limits)
    first_hour = int((data.ts < BASE + HOUR).sum())
    assert gone == (first_hour, 1)  # the label waited since now, more than 14 days before
    found = performance(client, writer, window="1h")
    assert [p["predicted"] for p in found["points"]] == [
        0, int(((data.ts >= BASE + HOUR) & (data.ts < BASE + 2 * HOUR)).sum()),
        int((data.ts >= BASE + 2 * HOUR).sum()),
    ]  # fmt: skip


def test_a_nul_anywhere_in_a_batch_is_refused_at_its_place(
    client: TestClient, writer: Headers
) -> None:
    batch = Binary().predictions(range(3))
    batch["predictions"][1]["model_version"] = "v\x001"
    response = client.post(f"/api/v1/predictions/{SERVICE}", json=batch, headers=writer)
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"loc": ["predictions", 1, "model_version"],
         "msg": "must not contain the NUL character (\\u0000)"}
    ]  # fmt: skip
    labels = {"labels": [{"id": "a", "label": {"x\x00": 1}, "labeled_at": iso(BASE)}]}
    response = client.post(f"/api/v1/labels/{SERVICE}", json=labels, headers=writer)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["labels", 0, "label"]


def test_the_first_binary_score_sets_the_positive_class(
    client: TestClient, writer: Headers
) -> None:
    data = Binary()
    unscored = data.predictions(range(3))
    for item in unscored["predictions"]:
        del item["score"]
    post(client, f"predictions/{SERVICE}", unscored, writer)
    assert performance(client, writer)["positive_class"] is None  # macro until then
    post(client, f"predictions/{SERVICE}", data.predictions(range(3, 6)), writer)
    assert performance(client, writer)["positive_class"] == "1"
    other = data.predictions(range(6, 8))
    other["positive_class"] = 0
    conflict = client.post(f"/api/v1/predictions/{SERVICE}", json=other, headers=writer)
    assert conflict.status_code == 409
    assert "scores class '1' as positive, not '0'" in conflict.json()["detail"]
