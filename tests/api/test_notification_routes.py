"""Notification routes over HTTP on both backends: CRUD, write-only secrets, checks that name
the channel field, the audit log, the test send (API and CLI), and the alerts list."""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from slo_service.cli import app
from tests.api.test_events_status import push_slo
from tests.support.receivers import LOOPBACK_NETWORKS, Receiver

Headers = dict[str, str]
SECRET_PATH = "/services/T000/B000/XXXXSECRET"
URL = "/api/v1/notification-routes"


@pytest.fixture
def slack() -> Iterator[Receiver]:
    with Receiver() as receiver:
        yield receiver


def route_body(slack: Receiver, **fields: Any) -> dict[str, Any]:
    return {
        "name": "ml-oncall",
        "services": ["churn-model"],
        "severities": ["page"],
        "channels": [
            {"type": "slack", "name": "#ml-oncall", "webhook_url": slack.url + SECRET_PATH}
        ],
        **fields,
    }


def test_routes_keep_secrets_write_only(
    client: TestClient, admin: Headers, slack: Receiver
) -> None:
    created = client.post(URL, json=route_body(slack, **{"continue": True}), headers=admin)
    assert created.status_code == 201, created.text
    route = created.json()
    assert route["channels"] == [
        {"type": "slack", "name": "#ml-oncall", "configured": ["webhook_url"]}
    ]
    assert route["continue"] is True
    assert route["repeat_interval"] == "4h"
    for answer in (client.get(URL, headers=admin), client.get(f"{URL}/ml-oncall", headers=admin),
                   client.get("/api/v1/audit", headers=admin)):  # fmt: skip
        assert answer.status_code == 200
        assert "XXXXSECRET" not in answer.text
    replaced = client.put(f"{URL}/{route['id']}", headers=admin,
                          json=route_body(slack, severities=["page", "ticket"]))  # fmt: skip
    assert replaced.json()["severities"] == ["page", "ticket"]
    assert client.post(URL, json=route_body(slack), headers=admin).status_code == 409
    assert client.delete(f"{URL}/ml-oncall", headers=admin).status_code == 204
    assert client.get(f"{URL}/ml-oncall", headers=admin).status_code == 404


@pytest.mark.parametrize(
    ("channel", "loc", "reason"),
    [
        ({"type": "slack"}, ["channels", 0, "webhook_url"], "required"),
        ({"type": "slack", "webhook_url": "hooks.slack.com/x"}, ["channels", 0, "webhook_url"],
         "must be an http:// or https:// URL"),
        ({"type": "pagerduty", "routing_key": "short"}, ["channels", 0, "routing_key"],
         "must be an Events API v2 integration key"),
        ({"type": "email", "to": "x@y"}, ["channels", 0], "'type' must be one of"),
        ({"type": "webhook", "url": "https://x.example", "token": "t"}, ["channels", 0],
         "a webhook channel has no field token"),
    ],
    ids=["slack-missing-url", "slack-bad-url", "pagerduty-key", "unknown-type", "extra-field"],
)  # fmt: skip
def test_bad_channels_name_the_field(
    client: TestClient, admin: Headers, slack: Receiver, channel: dict[str, Any],
    loc: list[Any], reason: str,
) -> None:  # fmt: skip
    answer = client.post(URL, json=route_body(slack, channels=[channel]), headers=admin)
    assert answer.status_code == 422, answer.text
    assert any(e["loc"] == loc and reason in e["msg"] for e in answer.json()["errors"]), answer.text
    if "routing_key" in channel:
        assert channel["routing_key"] not in answer.json()["detail"]  # a secret, not quoted back
    assert client.get(URL, headers=admin).json()["count"] == 0


def test_route_writes_need_admin(
    client: TestClient, make_token: Callable[..., Headers], slack: Receiver
) -> None:
    writer = make_token("write")
    assert client.post(URL, json=route_body(slack), headers=writer).status_code == 403
    assert client.get(URL, headers=writer).status_code == 200


def test_a_test_send_reaches_every_channel(
    client: TestClient, admin: Headers, slack: Receiver, db: Engine,
    monkeypatch: pytest.MonkeyPatch, closed_port_url: str,
) -> None:  # fmt: skip
    body = route_body(slack)
    body["channels"].append({"type": "webhook", "url": closed_port_url + "/hook"})
    client.post(URL, json=body, headers=admin)
    answer = client.post(f"{URL}/ml-oncall/test", headers=admin).json()
    assert [(r["type"], r["outcome"]) for r in answer] == [("slack", "delivered"),
                                                           ("webhook", "retry")]  # fmt: skip
    assert "connection refused" in answer[1]["detail"]
    (sent,) = slack.requests
    assert "Test message from slo-service" in sent.json()["text"]

    monkeypatch.setenv("SLO_DATABASE_URL", db.url.render_as_string(hide_password=False))
    monkeypatch.setenv("SLO_NOTIFY_ALLOWED_NETWORKS", LOOPBACK_NETWORKS)
    result = CliRunner().invoke(app, ["notify", "test", "--route", "ml-oncall"])
    assert result.exit_code == 1, result.output
    assert "channel 0 (slack #ml-oncall): delivered, answered 200" in result.output
    assert "1 of 2 channels did not take the test message" in result.output
    assert len(slack.requests) == 2
    missing = CliRunner().invoke(app, ["notify", "test", "--route", "nope"])
    assert missing.exit_code == 1
    assert "no notification route 'nope'" in missing.output


def test_alerts_lists_firing_and_recently_resolved(client: TestClient, admin: Headers) -> None:
    push_slo(client, admin)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    events = [
        {"slo": "churn-model:availability", "good": 50, "total": 100, "event_id": f"e{m}",
         "timestamp": (now - timedelta(minutes=m)).isoformat()}
        for m in range(0, 6)  # the current minute too: the last whole one fails if it turns
    ]  # fmt: skip
    assert client.post("/api/v1/events", json={"events": events}, headers=admin).status_code == 200
    client.post("/api/v1/slos/churn-model:availability/evaluate", headers=admin)
    alerts = client.get("/api/v1/alerts", headers=admin).json()
    assert alerts["count"] == 2  # one page and one ticket, each an "or" of its tiers
    assert {a["state"] for a in alerts["data"]} == {"firing"}
    by_name = {a["name"]: a for a in alerts["data"]}
    page, ticket = by_name["page"], by_name["ticket"]
    assert page["slo"] == "churn-model:availability"
    assert page["dedup_key"] == f"slo-{page['slo_id']}-page"
    assert (page["severity"], page["inhibited"]) == ("page", False)
    # A 7d SLO: the page tiers' windows are 1h/5m and 6h/30m scaled by 7/30.
    assert [(t["long_window"], t["short_window"]) for t in page["tiers"]] == [
        ("14m", "1m"), ("84m", "7m"),
    ]  # fmt: skip
    assert page["tiers"][0]["long_burn_rate"] == pytest.approx(50 / 0.01 / 100)
    assert (ticket["dedup_key"], ticket["inhibited"]) == (f"slo-{page['slo_id']}-ticket", True)
    other = client.get("/api/v1/alerts?service=fraud-model", headers=admin).json()
    assert other["count"] == 0
