"""An SLO's history over HTTP, on both backends: what it costs is known, and refused past the
limit, before any point is built (issue 15: the history bomb)."""

import re
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.api.test_events_status import push_slo

Headers = dict[str, str]
URL = "/api/v1/slos/churn-model:availability/history"
BOMB = {"from": "0001-01-01T00:00:00Z", "to": "9999-12-31T00:00:00Z", "step": "1m"}
# The memory a history request may take at its peak. Answering the bomb today built its list
# of points first (5,259,600 a year, all of its 7,998 years: the server grew to 11.5 GB);
# refused before any work, it takes what any small request takes.
SMALL_REQUEST_BYTES = 2 << 20


def push(client: TestClient, headers: Headers, ages: list[timedelta]) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    events = [
        {"slo": "churn-model:availability", "timestamp": (now - age).isoformat(), "good": 9,
         "total": 10, "event_id": f"e-{i}"}
        for i, age in enumerate(ages)
    ]  # fmt: skip
    response = client.post("/api/v1/events", json={"events": events}, headers=headers)
    assert response.json()["accepted"] == len(ages), response.text


def peak_bytes(request: Callable[[], Any]) -> tuple[Any, int]:
    """What ``request`` answers, and the most memory Python held while it ran."""
    tracemalloc.start()
    try:
        answer = request()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return answer, peak


def test_the_history_bomb_is_refused_before_any_point_is_built(
    client: TestClient, admin: Headers
) -> None:
    push_slo(client, admin, window="1d")
    push(client, admin, [timedelta(days=3), timedelta(minutes=5)])
    client.get(URL, headers=admin)  # the first request sets up what every later one reuses

    response, peak = peak_bytes(lambda: client.get(URL, params=BOMB, headers=admin))

    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "InvalidInput"
    assert body["errors"][0]["loc"] == ["query", "step"]
    reason = body["errors"][0]["msg"]
    found = re.match(r"from, to and step give ([\d,]+) points \((\S+) to (\S+), cut to", reason)
    assert found, reason
    count, start, end = int(found[1].replace(",", "")), *map(parse, found.group(2, 3))
    # Cut to the hour that holds the oldest event, up to now; the count follows from it.
    assert start <= datetime.now(UTC) - timedelta(days=3) < start + timedelta(hours=1, minutes=1)
    assert timedelta(0) <= datetime.now(UTC) - end < timedelta(minutes=2)
    assert count == (end - start) // timedelta(minutes=1) + 1
    assert reason.endswith("the limit is 2,000: widen step or narrow the range")
    assert peak < SMALL_REQUEST_BYTES, f"the refusal took {peak:,} bytes"


def test_a_range_beyond_the_data_is_cut_to_it(client: TestClient, admin: Headers) -> None:
    push_slo(client, admin, window="1d")
    push(client, admin, [timedelta(days=3), timedelta(minutes=5)])

    hourly = client.get(URL, params={**BOMB, "step": "1h"}, headers=admin)

    assert hourly.status_code == 200, hourly.text
    points = hourly.json()["points"]
    first, last = parse(points[0]["at"]), parse(points[-1]["at"])
    assert first <= datetime.now(UTC) - timedelta(days=3) < first + timedelta(hours=1)
    # No run of empty points before the data: the second point already holds the oldest event.
    assert (points[0]["total"], points[1]["total"]) == (0, 10)
    assert timedelta(0) <= datetime.now(UTC) - last < timedelta(hours=1)
    assert len(points) in (72, 73)  # three days in hours, both ends (the hour may turn)


def test_a_range_without_data_answers_no_points(client: TestClient, admin: Headers) -> None:
    push_slo(client, admin, window="1d")
    push(client, admin, [timedelta(minutes=5)])
    future = {"from": "3000-01-01T00:00:00Z", "to": "3000-01-02T00:00:00Z", "step": "1m"}
    past = {"from": "0001-01-01T00:00:00Z", "to": "2000-01-01T00:00:00Z", "step": "1m"}

    for params in (future, past):
        response = client.get(URL, params=params, headers=admin)
        assert response.status_code == 200, response.text
        assert response.json()["points"] == []


def test_the_limit_is_in_the_openapi_descriptions(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/api/v1/slos/{slo_ref}/history"]["get"]
    described = {p["name"]: p.get("description", "") for p in operation["parameters"]}
    assert "at most 2,000 points" in described["step"]
    assert "oldest data" in described["from"]
    assert "never after now" in described["to"]


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
