"""Alerting settings over HTTP on both backends: tiers checked against the SLO's window (a 422
naming alerting.tiers[i]), the effective tiers in the status, min_events and no_data_for from
the service's policy, and routes that ask for freeze news."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.test_events_status import push_slo

Headers = dict[str, str]
API = "/api/v1"


def tier(long: str, short: str, **fields: Any) -> dict[str, Any]:
    return {"severity": "ticket", "long_window": long, "short_window": short, **fields}


@pytest.mark.parametrize(
    ("window", "tiers", "problems"),
    [
        # The old default ticket of a 7d SLO: 10% of the budget in 1d is a factor of 0.7.
        ("7d", [tier("1h", "5m", factor=14.4), tier("1d", "2h", budget_spent=0.1)],
         [(["alerting", "tiers", 1], "its factor 0.7 is under 1")]),
        ("1d", [tier("3d", "6h", factor=2)],
         [(["alerting", "tiers", 0], "its long window (3d) is longer than the SLO's window (1d)")]),
        ("30d", [tier("1h", "5m", factor=0.5), tier("6h", "30m", factor=6)],
         [(["alerting", "tiers", 0], "its factor 0.5 is under 1")]),
        ("30d", [tier("1h", "5m")],
         [(["alerting", "tiers", 0], "give factor (e.g. 14.4) or budget_spent (e.g. 0.02)")]),
        ("30d", [tier("6h", "30m", factor=6), tier("1h", "5m", factor=14.4, hold="2h")],
         [(["alerting", "tiers", 1], "its hold (2h) is longer than its long window (1h)")]),
    ],
    ids=["7d-share-under-1", "longer-than-the-window", "factor-under-1", "neither",
         "hold-longer-than-the-long-window"],
)  # fmt: skip
def test_a_tier_that_would_fire_while_the_slo_is_met_is_refused(
    client: TestClient,
    admin: Headers,
    window: str,
    tiers: list[dict[str, Any]],
    problems: list[tuple[list[Any], str]],
) -> None:
    body = {"service": "churn-model", "name": "availability", "kind": "availability",
            "objective": 0.99, "window": window, "sli": {"source": "push"},
            "alerting": {"tiers": tiers}}  # fmt: skip
    response = client.post(f"{API}/slos", json=body, headers=admin)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [e["loc"] for e in errors] == [loc for loc, _ in problems]
    for error, (_, reason) in zip(errors, problems, strict=True):
        assert reason in error["msg"]
    assert client.get(f"{API}/slos", headers=admin).json()["count"] == 0  # nothing stored


def test_user_tiers_keep_their_windows_and_show_in_the_status(
    client: TestClient, admin: Headers
) -> None:
    tiers = [tier("2h", "10m", severity="page", factor=10, hold="5m"),
             tier("1d", "1h", budget_spent=0.5)]  # fmt: skip
    push_slo(client, admin, alerting={"tiers": tiers, "min_events": 100, "no_data_for": "2h"})
    status = client.get(f"{API}/slos/churn-model:availability/status", headers=admin).json()
    shown = [(t["severity"], t["long_window"], t["short_window"], t["factor"], t["hold"])
             for t in status["alerting"]["tiers"]]  # fmt: skip
    assert shown == [
        ("page", "2h", "10m", 10.0, "5m"),
        ("ticket", "1d", "1h", pytest.approx(3.5), None),
    ]
    assert (status["alerting"]["min_events"], status["alerting"]["no_data_for"]) == (100, "2h")


def test_the_service_policy_gives_min_events_and_no_data_for(
    client: TestClient, admin: Headers
) -> None:
    push_slo(client, admin)
    policy = {"alerting": {"min_events": 50, "no_data_for": "never"}}
    answer = client.put(f"{API}/services/churn-model/policy", json=policy, headers=admin)
    assert answer.status_code == 200, answer.text
    assert answer.json()["alerting"] == {"min_events": 50.0, "no_data_for": "never"}
    status = client.get(f"{API}/slos/churn-model:availability/status", headers=admin).json()
    assert (status["alerting"]["min_events"], status["alerting"]["no_data_for"]) == (50, None)
    bad = {"alerting": {"no_data_for": "soon"}}
    refused = client.put(f"{API}/services/churn-model/policy", json=bad, headers=admin)
    assert refused.status_code == 422
    assert "'soon' is not a duration" in refused.text


def test_routes_take_alerts_by_default_and_freeze_news_when_they_ask(
    client: TestClient, admin: Headers
) -> None:
    channels = [{"type": "webhook", "url": "http://127.0.0.1:9/hook"}]
    url = f"{API}/notification-routes"
    plain = client.post(url, headers=admin, json={"name": "plain", "channels": channels})
    assert plain.json()["events"] == ["alerts"]
    news = {"name": "news", "events": ["freeze"], "channels": channels}
    assert client.post(url, headers=admin, json=news).json()["events"] == ["freeze"]
    bad = client.post(url, headers=admin, json={**news, "name": "bad", "events": ["deploys"]})
    assert bad.status_code == 422
    assert "events" in bad.text
