"""``/metrics`` on both backends: the SLO gauges from real evaluations, and the service's own."""

import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from slo_service import scheduler
from slo_service.config import Settings
from tests.api.test_gate import HEALTHY, SPENT, model
from tests.support.servers import prometheus_server, serve_in_thread

Headers = dict[str, str]


def scrape(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def labels(**pairs: str) -> frozenset[tuple[str, str]]:
    return frozenset(pairs.items())


def test_slo_gauges_follow_the_last_evaluation(client: TestClient, admin: Headers) -> None:
    model(client, admin, "churn", SPENT)
    model(client, admin, "fraud", HEALTHY)
    found = scrape(client)
    churn = {"service": "churn", "slo": "availability", "kind": "availability"}
    assert found["slo_objective", labels(**churn)] == 0.99
    assert found["slo_error_budget_remaining", labels(**churn)] == pytest.approx(-1.0)
    assert found["slo_sli", labels(**churn)] == pytest.approx(0.98)
    assert found["slo_burn_rate", labels(**churn, window="1h")] == pytest.approx(2.0)
    assert ("slo_burn_rate", labels(**churn, window="5m")) not in found  # no data: no sample
    # 7-day window: the workbook's factors over windows scaled by 7/30, 14.4 (14m/1m), 6
    # (84m/7m), 3 (336m/28m) and 1 (1008m/84m); a burn of 2 fires the last tier only.
    firing = {
        (dict(key)["severity"], dict(key)["long_window"]): value
        for (name, key), value in found.items()
        if name == "slo_alert_firing" and dict(key)["service"] == "churn"
    }
    assert firing == {("page", "14m"): 0.0, ("page", "84m"): 0.0, ("ticket", "336m"): 0.0,
                      ("ticket", "1008m"): 1.0}  # fmt: skip
    evaluated = found["slo_evaluated_timestamp_seconds", labels(**churn)]
    assert abs(evaluated - datetime.now(UTC).timestamp()) < 600
    assert found["slo_service_frozen", labels(service="churn", cause="budget")] == 1.0
    assert found["slo_service_frozen", labels(service="churn", cause="manual")] == 0.0
    assert found["slo_service_frozen", labels(service="fraud", cause="budget")] == 0.0
    assert "slo_service_evaluations_due" in {name for name, _ in found}


def test_the_scheduler_counts_its_cycles(
    client: TestClient, admin: Headers, db: Engine, settings: Settings
) -> None:
    model(client, admin, "churn", HEALTHY, evaluate=False)
    before = scrape(client)
    ok = ("slo_service_evaluations_total", labels(outcome="ok"))
    cycles = ("slo_service_evaluation_cycle_seconds_count", labels())
    scheduler.cycle(db, client.app.state.sources, settings, "metrics-test")  # type: ignore[attr-defined]
    after = scrape(client)
    assert after[ok] == before.get(ok, 0.0) + 1  # the pushed SLO, summarized
    assert after[cycles] == before.get(cycles, 0.0) + 1
    churn = labels(service="churn", slo="availability", kind="availability")
    assert after["slo_error_budget_remaining", churn] == pytest.approx(0.9)


def test_a_real_prometheus_scrapes_it(
    client: TestClient, admin: Headers, settings: Settings, tmp_path: Path
) -> None:
    model(client, admin, "churn", SPENT)
    with serve_in_thread(client.app) as url:
        target = url.removeprefix("http://")
        with prometheus_server(tmp_path / "prometheus", scrape=[target]) as prometheus:
            query = 'slo_error_budget_remaining{service="churn",slo="availability"}'
            deadline = time.monotonic() + 60
            result: list[dict[str, object]] = []
            while not result and time.monotonic() < deadline:
                time.sleep(0.5)
                answer = httpx.get(f"{prometheus}/api/v1/query", params={"query": query}).json()
                result = answer["data"]["result"]
            assert result, "Prometheus did not scrape /metrics within a minute"
            (sample,) = result
            assert float(sample["value"][1]) == pytest.approx(-1.0)  # type: ignore[index]
            up = httpx.get(f"{prometheus}/api/v1/targets").json()["data"]["activeTargets"]
            assert [(t["health"], t["lastError"]) for t in up] == [("up", "")]


def test_the_outbox_backlog_is_a_gauge(
    client: TestClient, admin: Headers, closed_port_url: str
) -> None:
    route = {"name": "all", "default": True, "events": ["alerts", "freeze"],
             "channels": [{"type": "webhook", "url": closed_port_url}]}  # fmt: skip
    assert client.post("/api/v1/notification-routes", json=route, headers=admin).status_code == 201
    assert scrape(client)["slo_service_notifications_pending", frozenset()] == 0
    model(client, admin, "churn", SPENT)  # the ticket fires, and a budget freeze starts
    assert scrape(client)["slo_service_notifications_pending", frozenset()] == 2


def test_http_latency_is_timed_by_route_template(client: TestClient, admin: Headers) -> None:
    before = scrape(client)
    key = labels(method="GET", route="/api/v1/slos/{slo_ref}", status="404")
    count = "slo_service_http_request_duration_seconds_count"
    for ref in ("41", "42", "churn:nope"):
        assert client.get(f"/api/v1/slos/{ref}", headers=admin).status_code == 404
    after = scrape(client)
    assert after[count, key] - before.get((count, key), 0.0) == 3  # one series for every id
    unmatched = labels(method="GET", route="unmatched", status="404")
    client.get("/no/such/page")
    assert scrape(client)[count, unmatched] >= 1
