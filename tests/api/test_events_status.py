"""Pushed events and the status computed from them, on both backends."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

Headers = dict[str, str]


def push_slo(client: TestClient, headers: Headers, **fields: Any) -> dict[str, Any]:
    body = {
        "service": "churn-model",
        "name": "availability",
        "kind": "availability",
        "objective": 0.99,
        "window": "7d",
        "sli": {"source": "push"},
        **fields,
    }
    response = client.post("/api/v1/slos", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def minute_ago(minutes: int) -> str:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    return (now - timedelta(minutes=minutes)).isoformat()


def events(ages: range, good: float, total: float, prefix: str) -> list[dict[str, Any]]:
    return [
        {
            "slo": "churn-model:availability",
            "timestamp": minute_ago(age),
            "good": good,
            "total": total,
            "event_id": f"{prefix}-{age}",
        }
        for age in ages
    ]


def test_status_equals_sums_computed_by_hand(client: TestClient, admin: Headers) -> None:
    push_slo(client, admin)
    recent = events(range(10, 20), good=90, total=100, prefix="recent")  # 10 minutes, 10% bad
    older = events(range(150, 180), good=999, total=1000, prefix="older")  # 30 minutes, 0.1% bad
    response = client.post("/api/v1/events", json={"events": recent + older}, headers=admin)
    assert response.json() == {"accepted": 40, "duplicates": 0, "rejected": []}

    status = client.get("/api/v1/slos/churn-model:availability/status", headers=admin).json()
    good, total = 10 * 90 + 30 * 999, 10 * 100 + 30 * 1000
    assert status["good"] == good
    assert status["total"] == total
    assert status["sli"] == pytest.approx(good / total, rel=1e-12)
    consumed = (1 - good / total) / 0.01
    assert status["error_budget"]["consumed"] == pytest.approx(consumed, rel=1e-9)
    assert status["error_budget"]["remaining"] == pytest.approx(1 - consumed, rel=1e-9)
    assert status["error_budget"]["remaining_minutes"] is None  # occurrences
    burns = status["burn_rates"]
    assert burns["5m"] is None  # nothing in the last five minutes
    for name in ("30m", "1h", "2h"):
        assert burns[name] == pytest.approx(10.0, rel=1e-9)
    for name in ("6h", "1d", "3d", "window"):
        assert burns[name] == pytest.approx(consumed, rel=1e-9)
    week = 7 * 86400
    assert status["time_to_exhaustion_seconds"] == pytest.approx(
        (1 - consumed) * week / 10.0, rel=1e-9
    )
    assert status["window"]["spec"] == "7d"
    start = datetime.fromisoformat(status["window"]["start"])
    end = datetime.fromisoformat(status["window"]["end"])
    assert end - start == timedelta(days=7)
    # The tiers of a 7d SLO: the workbook's factors, windows scaled by 7/30. The short windows
    # of the pages hold no data; the tickets' short windows burn at 10x, but their long windows
    # only at 0.42x: nothing fires (the SLO is being met over the long windows).
    tiers = [
        (t["severity"], t["long_window"], t["short_window"], t["factor"], t["firing"])
        for t in status["alerting"]["tiers"]
    ]
    assert tiers == [
        ("page", "14m", "1m", 14.4, False), ("page", "84m", "7m", 6.0, False),
        ("ticket", "336m", "28m", 3.0, False), ("ticket", "1008m", "84m", 1.0, False),
    ]  # fmt: skip
    for tier in status["alerting"]["tiers"][2:]:
        assert tier["long_burn_rate"] == pytest.approx(consumed, rel=1e-9)
        assert tier["short_burn_rate"] == pytest.approx(10.0, rel=1e-9)
        assert tier["short_window_events"] == 1000
    assert status["alerting"]["tiers"][0]["short_burn_rate"] is None
    assert status["alerts"] == []
    assert status["state"] == "ok"  # 58% left, and no page


def test_retried_pushes_count_once(client: TestClient, admin: Headers) -> None:
    push_slo(client, admin)
    batch = events(range(10, 15), good=9, total=10, prefix="x")
    first = client.post("/api/v1/events", json={"events": batch}, headers=admin).json()
    again = client.post("/api/v1/events", json={"events": batch}, headers=admin).json()
    assert (first["accepted"], again["accepted"], again["duplicates"]) == (5, 0, 5)
    status = client.get("/api/v1/slos/churn-model:availability/status", headers=admin).json()
    assert (status["good"], status["total"]) == (45, 50)


def test_bad_items_are_listed_and_the_good_ones_kept(client: TestClient, admin: Headers) -> None:
    push_slo(client, admin)
    client.post(
        "/api/v1/slos",
        json={"service": "churn-model", "name": "prom", "kind": "availability", "objective": 0.9},
        headers=admin,
    )
    good_item = events(range(10, 11), good=1, total=1, prefix="ok")[0]
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    bad_items = [
        {**good_item, "event_id": "a", "good": 5, "total": 2},
        {**good_item, "event_id": "b", "slo": "nope:none"},
        {**good_item, "event_id": "c", "slo": "churn-model:prom"},
        {**good_item, "event_id": "d", "timestamp": "2026-01-01T00:00:00"},
        {**good_item, "event_id": "e", "timestamp": later},
        {**good_item, "event_id": "f", "total": float("nan")},
    ]  # fmt: skip
    raw = json.dumps({"events": [good_item, *bad_items]})  # json.dumps writes NaN; httpx won't
    response = client.post(
        "/api/v1/events", content=raw, headers={**admin, "Content-Type": "application/json"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 1
    reasons = {item["event_id"]: item["errors"][0] for item in body["rejected"]}
    assert set(reasons) == {"a", "b", "c", "d", "e", "f"}
    assert "must not exceed total" in reasons["a"]["msg"]
    assert reasons["b"]["loc"] == ["slo"]
    assert "measured from prometheus" in reasons["c"]["msg"]
    assert reasons["d"]["loc"] == ["timestamp"]
    assert reasons["e"]["loc"] == ["timestamp"]
    assert reasons["f"]["loc"] == ["total"]

    all_bad = client.post("/api/v1/events", json={"events": bad_items[:2]}, headers=admin)
    assert all_bad.status_code == 422
    assert all_bad.json()["errors"][0]["loc"][:2] == ["events", 0]


def test_never_evaluated_slo_has_no_data(client: TestClient, admin: Headers) -> None:
    body = {"service": "m", "name": "a", "kind": "availability", "objective": 0.99}
    assert client.post("/api/v1/slos", json=body, headers=admin).status_code == 201
    status = client.get("/api/v1/slos/m:a/status", headers=admin).json()
    assert status["state"] == "no_data"
    assert status["sli"] is None
    assert status["evaluated_until"] is None
    assert status["alerts"] == []


def test_timeslice_budget_in_minutes(client: TestClient, admin: Headers) -> None:
    push_slo(client, admin, name="fresh", kind="data_freshness", params={})
    batch = [
        {**e, "slo": "churn-model:fresh"}
        for e in events(range(100, 160), good=1, total=1, prefix="g")
        + events(range(200, 203), good=0, total=1, prefix="b")
    ]
    assert client.post("/api/v1/events", json={"events": batch}, headers=admin).status_code == 200
    status = client.get("/api/v1/slos/churn-model:fresh/status", headers=admin).json()
    consumed = (3 / 63) / 0.01
    # budget: 1% of 7 days = 100.8 minutes; remaining minutes = remaining * that
    expected = (1 - consumed) * 0.01 * 7 * 24 * 60
    assert status["error_budget"]["remaining_minutes"] == pytest.approx(expected, rel=1e-9)
    assert status["state"] == "exhausted"


def test_history_over_http(client: TestClient, admin: Headers) -> None:
    push_slo(client, admin, window="1d")
    batch = events(range(10, 130), good=99, total=100, prefix="h")
    assert client.post("/api/v1/events", json={"events": batch}, headers=admin).status_code == 200
    url = "/api/v1/slos/churn-model:availability/history"
    body = client.get(url, params={"step": "30m"}, headers=admin).json()
    assert body["step_seconds"] == 1800
    assert len(body["points"]) == 49  # a day in half hours, both ends
    assert body["points"][-1]["total"] == 120 * 100
    assert body["points"][-1]["budget_remaining"] == pytest.approx(0.0)
    assert body["points"][0]["sli"] is None
    # Cut to a window back (the SLO has two hours of data): a day in minutes, under the limit
    # (tests/api/test_history.py has the refusals).
    cut = client.get(url, params={"step": "1m", "from": "2026-01-01T00:00:00Z"}, headers=admin)
    assert cut.status_code == 200, cut.text
    assert len(cut.json()["points"]) == 24 * 60 + 1
    backwards = client.get(
        url, params={"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, headers=admin
    )
    assert backwards.status_code == 422
    naive = client.get(url, params={"from": "2026-01-01T00:00:00"}, headers=admin)
    assert naive.status_code == 422
