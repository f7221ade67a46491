"""``/metrics`` on both backends: the SLO gauges from real evaluations, and the service's own."""

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from slo_service import scheduler
from slo_service.api.state import state_of
from slo_service.app import create_app
from slo_service.config import Settings
from tests.api.test_gate import HEALTHY, SPENT, model
from tests.support.servers import prometheus_server, serve_in_thread

Headers = dict[str, str]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """No kept copy: these tests change the SLOs and look at the next scrape (the tests of the
    copy below make apps of their own)."""
    return settings.model_copy(update={"metrics_cache_seconds": 0.0})


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
    scheduler.cycle(db, state_of(client.app).sources, settings, "metrics-test")
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


@pytest.fixture
def keeping(settings: Settings, db: Engine) -> Iterator[TestClient]:
    """A client of an app that keeps the SLO part of /metrics for 15 s."""
    kept = settings.model_copy(update={"metrics_cache_seconds": 15.0})
    with TestClient(create_app(kept, engine=db)) as test_client:
        yield test_client


class Clock:
    """The kept copy's clock, moved by hand: no test waits for the interval to pass."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


RENDERS = ("slo_service_metrics_render_seconds_count", labels())
CHURN = labels(service="churn", slo="availability", kind="availability")
FRAUD = labels(service="fraud", slo="availability", kind="availability")


def test_scrapes_within_the_interval_render_the_slo_gauges_once(
    keeping: TestClient, admin: Headers, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    monkeypatch.setattr(state_of(keeping.app).metrics, "clock", clock)
    model(keeping, admin, "churn", SPENT)
    first = scrape(keeping)
    model(keeping, admin, "fraud", HEALTHY)  # not in the copy yet
    clock.now += 14.9
    second = scrape(keeping)
    assert second[RENDERS] == first[RENDERS]  # the copy, not a render
    assert second["slo_error_budget_remaining", CHURN] == pytest.approx(-1.0)
    assert ("slo_objective", FRAUD) not in second
    clock.now += 0.2  # 15.1 s after the render: too old
    third = scrape(keeping)
    assert third[RENDERS] == first[RENDERS] + 1
    assert third["slo_error_budget_remaining", FRAUD] == pytest.approx(0.9)


def test_the_process_counters_move_between_kept_scrapes(
    keeping: TestClient, admin: Headers, db: Engine, settings: Settings
) -> None:
    model(keeping, admin, "churn", HEALTHY, evaluate=False)
    before = scrape(keeping)
    for ref in ("41", "42"):
        assert keeping.get(f"/api/v1/slos/{ref}", headers=admin).status_code == 404
    scheduler.cycle(db, state_of(keeping.app).sources, settings, "metrics-test")
    after = scrape(keeping)
    assert after[RENDERS] == before[RENDERS]  # the SLO part came from the copy...
    assert ("slo_error_budget_remaining", CHURN) not in after  # (evaluated after the copy)
    # ...while the process's own counters are live.
    count = "slo_service_http_request_duration_seconds_count"
    missing = labels(method="GET", route="/api/v1/slos/{slo_ref}", status="404")
    assert after[count, missing] - before.get((count, missing), 0.0) == 2
    ok = ("slo_service_evaluations_total", labels(outcome="ok"))
    assert after[ok] == before.get(ok, 0.0) + 1


def test_without_a_kept_copy_every_scrape_renders(client: TestClient) -> None:
    first = scrape(client)
    assert scrape(client)[RENDERS] == first[RENDERS] + 1


def test_a_token_may_be_required(
    settings: Settings, db: Engine, make_token: Callable[..., Headers]
) -> None:
    required = settings.model_copy(update={"metrics_token_required": True, "public_read": True})
    with TestClient(create_app(required, engine=db)) as guarded:
        anonymous = guarded.get("/metrics")  # SLO_PUBLIC_READ does not open it
        assert anonymous.status_code == 401
        assert anonymous.json()["error"] == "Unauthorized"
        assert anonymous.headers["www-authenticate"] == "Bearer"
        unknown = guarded.get("/metrics", headers={"Authorization": "Bearer slo_x"})
        assert unknown.status_code == 401
        assert guarded.get("/metrics", headers=make_token("gate")).status_code == 403
        reader = guarded.get("/metrics", headers=make_token("read"))
        assert reader.status_code == 200
        assert "slo_service_evaluations_due" in reader.text


def test_no_token_is_needed_by_default(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 200  # Prometheus scrapes without one
