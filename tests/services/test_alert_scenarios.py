"""The issue's scenarios of burn alerts people can trust, on both backends: pushed events,
evaluations at pinned times, the outbox, and real Slack and PagerDuty receivers on loopback;
and a Prometheus that stops answering."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from slo_service.db import session_scope
from slo_service.domain.alerts import Backoff
from slo_service.domain.blocks import Layout
from slo_service.models import SLO, Alert
from slo_service.notify import registry
from slo_service.schemas.notify import RouteIn
from slo_service.schemas.slo import SLOCreate
from slo_service.services import evaluation, events, slos
from slo_service.services.alerting import routes
from slo_service.services.alerting.delivery import Sender
from slo_service.sources.base import NoQueryChecker
from slo_service.sources.prometheus import PrometheusSource
from tests.support.receivers import LOOPBACK, Receiver

LAYOUT = Layout(60)
# An hour boundary four days ago: three days of burning fit before now.
B = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=4)
SLACK_PATH = "/services/T000/B000/XXXXSECRET"
ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"


@pytest.fixture
def oncall(db: Engine) -> Iterator[tuple[Receiver, Receiver, Sender]]:
    """One route, every severity, to a Slack and a PagerDuty channel (alerts only)."""
    with Receiver() as slack, Receiver() as pagerduty:
        body = {"name": "oncall", "channels": [
            {"type": "slack", "webhook_url": slack.url + SLACK_PATH},
            {"type": "pagerduty", "routing_key": ROUTING_KEY}]}  # fmt: skip
        with session_scope(db) as session:
            routes.create(session, RouteIn.model_validate(body), actor="tests", now=B)
        notifiers = registry.notifiers(pagerduty_url=pagerduty.url, timeout=2, egress=LOOPBACK)
        sender = Sender(db, notifiers, base_url="https://slo.example.com", owner="tests",
                        backoff=Backoff(max_attempts=3))  # fmt: skip
        yield slack, pagerduty, sender


def make_slo(db: Engine, *, window: str, objective: float, **extra: Any) -> int:
    data = SLOCreate.model_validate(
        {"service": "churn-model", "name": "availability", "kind": "availability",
         "objective": objective, "window": window, "sli": {"source": "push"}, **extra}
    )  # fmt: skip
    with session_scope(db) as session:
        slo = slos.create(session, slos.prepare(data, NoQueryChecker()), actor="tests")
        assert slo.id is not None
        return slo.id


def push(db: Engine, minutes: range, *, total: float, bad: float, at: datetime) -> None:
    """``total`` events a minute, ``bad`` of them bad, in the minutes after B."""
    items = [
        {"slo": "churn-model:availability", "timestamp": (B + timedelta(minutes=m)).isoformat(),
         "good": total - bad, "total": total, "event_id": f"m{m}"}
        for m in minutes
    ]  # fmt: skip
    for start in range(0, len(items), 10_000):
        with session_scope(db) as session:
            result = events.ingest(session, items[start : start + 10_000], layout=LAYOUT, now=at)
        assert not result.rejected, result.rejected[:3]


def evaluate(db: Engine, slo_id: int, at: datetime) -> None:
    with session_scope(db) as session:
        slo = session.get(SLO, slo_id)
        assert slo is not None
        evaluation.evaluate(session, slo, sources={}, layout=LAYOUT, now=at)


def alerts(db: Engine) -> list[tuple[str, str]]:
    with Session(db) as session:
        rows = session.exec(select(Alert).order_by(col(Alert.id))).all()
        return [(a.name, a.state) for a in rows]


def pagerduty_events(receiver: Receiver) -> list[tuple[str, str, str | None]]:
    return [
        (b["event_action"], b["dedup_key"], b.get("payload", {}).get("severity"))
        for b in (r.json() for r in receiver.requests)
    ]


def test_a_7_day_slo_burning_at_0_9_for_three_days_sends_nothing(
    db: Engine, oncall: tuple[Receiver, Receiver, Sender]
) -> None:
    slack, pagerduty, sender = oncall
    slo_id = make_slo(db, window="7d", objective=0.999)
    days = 3 * 24 * 60
    push(db, range(days), total=1000, bad=0.9, at=B + timedelta(days=3))  # 0.9x the budget
    for hour in range(1, 3 * 24 + 1, 2):
        at = B + timedelta(hours=hour)
        evaluate(db, slo_id, at)
        sender.run_once(now=at)
    assert alerts(db) == []
    assert slack.requests == pagerduty.requests == []


def test_10_percent_errors_open_one_incident_and_one_slack_page_and_resolve_each_once(
    db: Engine, oncall: tuple[Receiver, Receiver, Sender]
) -> None:
    slack, pagerduty, sender = oncall
    slo_id = make_slo(db, window="30d", objective=0.999)
    push(db, range(24 * 60), total=1000, bad=0, at=B + timedelta(days=1))  # a clean day
    incident = range(24 * 60, 24 * 60 + 30)  # 30 minutes at 10% errors: 100x the budget
    push(db, incident, total=1000, bad=100, at=B + timedelta(days=1, minutes=30))
    recovery = range(24 * 60 + 30, 24 * 60 + 30 + 8 * 60)
    push(db, recovery, total=1000, bad=0, at=B + timedelta(days=1, hours=9))
    for minute in range(24 * 60 + 5, 24 * 60 + 30 + 8 * 60, 5):  # every 5 minutes
        at = B + timedelta(minutes=minute)
        evaluate(db, slo_id, at)
        sender.run_once(now=at)

    assert pagerduty_events(pagerduty) == [
        ("trigger", f"slo-{slo_id}-page", "critical"), ("resolve", f"slo-{slo_id}-page", None),
    ]  # fmt: skip
    headers = [r.json()["blocks"][0]["text"]["text"] for r in slack.requests]
    assert headers == ["🔥 PAGE: churn-model:availability",
                       "✅ RESOLVED PAGE: churn-model:availability"]  # fmt: skip
    # The ticket fired too, muted by the page and then while the page's burn was in its
    # windows; it resolved unsent.
    assert alerts(db) == [("page", "resolved"), ("ticket", "resolved")]


def test_a_low_traffic_burst_sends_nothing(
    db: Engine, oncall: tuple[Receiver, Receiver, Sender]
) -> None:
    slack, pagerduty, sender = oncall
    slo_id = make_slo(db, window="30d", objective=0.999)
    push(db, range(60, 61), total=3, bad=2, at=B + timedelta(hours=1, minutes=1))
    for minute in range(61, 61 + 30):
        at = B + timedelta(minutes=minute)
        evaluate(db, slo_id, at)
        sender.run_once(now=at)
    with session_scope(db) as session:
        slo = session.get(SLO, slo_id)
        assert slo is not None
        assert slo.summary is not None
        # Over their factors, held back by the 10-event guard: visible, not alerting.
        assert any(t["firing"] is False for t in slo.summary["tiers"])
    assert alerts(db) == []
    assert slack.requests == pagerduty.requests == []
    # The same ratio at real traffic pages.
    push(db, range(61, 66), total=300, bad=200, at=B + timedelta(hours=1, minutes=6))
    evaluate(db, slo_id, B + timedelta(hours=1, minutes=6))
    assert alerts(db)[0] == ("page", "firing")


def test_silent_pushes_raise_the_no_data_ticket_and_it_resolves_when_data_returns(
    db: Engine, oncall: tuple[Receiver, Receiver, Sender]
) -> None:
    slack, pagerduty, sender = oncall
    slo_id = make_slo(db, window="7d", objective=0.99)
    push(db, range(60), total=100, bad=0, at=B + timedelta(hours=1))
    # The last data is the bucket ending at B+1h; silence is counted from there.
    evaluate(db, slo_id, B + timedelta(hours=1, minutes=29))
    assert alerts(db) == []
    evaluate(db, slo_id, B + timedelta(hours=1, minutes=30))
    assert alerts(db) == [("nodata", "firing")]
    sender.run_once(now=B + timedelta(hours=1, minutes=30))
    trigger = pagerduty.requests[-1].json()
    assert (trigger["event_action"], trigger["dedup_key"]) == ("trigger", f"slo-{slo_id}-nodata")
    assert trigger["payload"]["severity"] == "warning"  # a ticket, not a page
    assert "no data from its source since" in trigger["payload"]["summary"]
    push(db, range(95, 96), total=100, bad=0, at=B + timedelta(hours=1, minutes=36))
    evaluate(db, slo_id, B + timedelta(hours=1, minutes=36))
    assert alerts(db) == [("nodata", "resolved")]
    sender.run_once(now=B + timedelta(hours=1, minutes=36))
    assert pagerduty_events(pagerduty)[-1] == ("resolve", f"slo-{slo_id}-nodata", None)
    assert len(slack.requests) == 2


def test_a_prometheus_that_stops_answering_raises_the_no_data_ticket(
    db: Engine, closed_port_url: str
) -> None:
    data = SLOCreate.model_validate(
        {"service": "churn-model", "name": "availability", "kind": "availability",
         "objective": 0.999, "window": "30d", "alerting": {"no_data_for": "20m"}}
    )  # fmt: skip
    with session_scope(db) as session:
        slo = slos.create(session, slos.prepare(data, NoQueryChecker()), actor="tests")
        assert slo.id is not None
        slo_id, created = slo.id, slo.created_at
    sources = {"prometheus": PrometheusSource(closed_port_url, timeout=0.3, retries=0)}
    for minutes, expected in ((10, []), (21, [("nodata", "firing")])):
        evaluation.run_cycle(db, sources=sources, layout=LAYOUT, owner="tests",
                             now=created + timedelta(minutes=minutes))  # fmt: skip
        assert alerts(db) == expected
    with Session(db) as session:
        alert = session.exec(select(Alert)).one()
        stored = session.get(SLO, slo_id)
        assert stored is not None
        assert stored.last_error is not None  # the evaluation failed: Prometheus is down
        assert stored.data_until is None
        assert (alert.dedup_key, alert.severity) == (f"slo-{slo_id}-nodata", "ticket")
