"""Burn-rate alerts end to end, on both backends: pushed events, evaluation at pinned times,
the outbox, and real Slack, PagerDuty and webhook receivers on loopback."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from slo_service.db import session_scope
from slo_service.domain.alerts import Backoff
from slo_service.domain.blocks import Layout
from slo_service.models import SLO, Alert, Notification
from slo_service.notify import registry
from slo_service.schemas.notify import RouteIn
from slo_service.schemas.slo import SLOCreate
from slo_service.services import evaluation, events, slos
from slo_service.services.alerting import routes
from slo_service.services.alerting.delivery import Sender
from slo_service.sources.base import NoQueryChecker
from tests.support.receivers import LOOPBACK, Receiver

LAYOUT = Layout(60)
# An hour boundary a day ago: every window of the test lies in the past.
T = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
SLACK_PATH = "/services/T000/B000/XXXXSECRET"
ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"


@dataclass
class Receivers:
    slack: Receiver
    pagerduty: Receiver
    webhook: Receiver


@pytest.fixture
def receivers() -> Iterator[Receivers]:
    with Receiver() as slack, Receiver() as pagerduty, Receiver() as webhook:
        yield Receivers(slack, pagerduty, webhook)


@pytest.fixture
def sender(db: Engine, receivers: Receivers) -> Sender:
    notifiers = registry.notifiers(
        pagerduty_url=receivers.pagerduty.url, timeout=2, egress=LOOPBACK
    )
    return Sender(db, notifiers, base_url="https://slo.example.com", owner="tests",
                  backoff=Backoff(max_attempts=3))  # fmt: skip


def add_routes(db: Engine, receivers: Receivers) -> None:
    pages = {"name": "pages", "severities": ["page"],
             "channels": [{"type": "slack", "name": "#ml-oncall",
                           "webhook_url": receivers.slack.url + SLACK_PATH},
                          {"type": "pagerduty", "routing_key": ROUTING_KEY}]}  # fmt: skip
    rest = {"name": "everything-else", "default": True, "repeat_interval": "30m",
            "events": ["alerts", "freeze"],
            "channels": [{"type": "webhook", "url": receivers.webhook.url + "/hook",
                          "secret": "s3cret"}]}  # fmt: skip
    with session_scope(db) as session:
        for body in (pages, rest):
            routes.create(session, RouteIn.model_validate(body), actor="tests", now=T)


def push_slo(db: Engine) -> int:
    data = SLOCreate.model_validate(
        {"service": "churn-model", "name": "availability", "kind": "availability",
         "objective": 0.99, "window": "30d", "sli": {"source": "push"},
         "labels": {"team": "growth"}}
    )  # fmt: skip
    with session_scope(db) as session:
        slo = slos.create(session, slos.prepare(data, NoQueryChecker()), actor="tests")
        assert slo.id is not None
        return slo.id


def push(db: Engine, minutes: range, *, bad: int, at: datetime) -> None:
    """100 events a minute, ``bad`` of them bad, in the minutes after T."""
    items = [
        {"slo": "churn-model:availability", "timestamp": (T + timedelta(minutes=m)).isoformat(),
         "good": 100 - bad, "total": 100, "event_id": f"m{m}"}
        for m in minutes
    ]  # fmt: skip
    with session_scope(db) as session:
        result = events.ingest(session, items, layout=LAYOUT, now=at)
    assert result.accepted == len(items), result.rejected


def evaluate(db: Engine, slo_id: int, at: datetime) -> None:
    with session_scope(db) as session:
        slo = session.get(SLO, slo_id)
        assert slo is not None
        evaluation.evaluate(session, slo, sources={}, layout=LAYOUT, now=at)


def firing(db: Engine) -> list[str]:
    """The firing alerts, each with the windows of its tiers over their factor."""
    with Session(db) as session:
        rows = session.exec(select(Alert).where(Alert.state == "firing")).all()
        return sorted(
            f"{a.name}{' (inhibited)' if a.inhibited else ''}: "
            + " ".join(f"{t['long_window']}/{t['short_window']}" for t in a.tiers)
            for a in rows
        )


def bodies(receiver: Receiver) -> list[Any]:
    return [request.json() for request in receiver.requests]


def test_every_transition_reaches_its_channels_once(
    db: Engine, receivers: Receivers, sender: Sender
) -> None:
    add_routes(db, receivers)
    slo_id = push_slo(db)
    # Half the requests fail for five minutes: every tier burns far over its factor. One page
    # alert and one ticket alert, the ticket inhibited while the page fires.
    push(db, range(-5, 0), bad=50, at=T)
    evaluate(db, slo_id, T)
    assert firing(db) == ["page: 1h/5m 6h/30m", "ticket (inhibited): 1d/2h 3d/6h"]
    assert sender.run_once(now=T) == {"delivered": 3, "retry": 0, "dead": 0}
    slack, pagerduty = bodies(receivers.slack), bodies(receivers.pagerduty)
    assert [b["blocks"][0]["text"]["text"] for b in slack] == ["🔥 PAGE: churn-model:availability"]
    assert [(b["event_action"], b["dedup_key"], b["payload"]["severity"]) for b in pagerduty] == [
        ("trigger", f"slo-{slo_id}-page", "critical")
    ]
    assert pagerduty[0]["payload"]["summary"] == (
        "churn-model:availability burns its error budget too fast: 50.0x over 1h and 50.0x "
        "over 5m (over 14.4x); 50.0x over 6h and 50.0x over 30m (over 6x)"
    )
    assert {r.path for r in receivers.slack.requests} == {SLACK_PATH}
    hook = sorted((b["event"], b["dedup_key"]) for b in bodies(receivers.webhook))
    # The budget is spent: deploys freeze; the ticket is inhibited, so it is not sent.
    assert hook == [("freeze_start", "freeze-churn-model-budget")]

    # Evaluated again with nothing new: no transition, nothing sent (dedup).
    evaluate(db, slo_id, T + timedelta(seconds=30))
    assert sender.run_once(now=T + timedelta(seconds=30)) == {"delivered": 0, "retry": 0,
                                                              "dead": 0}  # fmt: skip

    # Ten good minutes: the 5m window is clean, so the fastest tier stops; the page fires on
    # (its 6h/30m tier), and nothing is sent: the alert did not change.
    push(db, range(10), bad=0, at=T + timedelta(minutes=10))
    evaluate(db, slo_id, T + timedelta(minutes=10))
    assert firing(db) == ["page: 6h/30m", "ticket (inhibited): 1d/2h 3d/6h"]
    assert sender.run_once(now=T + timedelta(minutes=10))["delivered"] == 0

    # Forty minutes in: the 30m window is clean too, and the page resolves. The ticket still
    # fires, but on the page's burn: it stays muted while that burn is inside its longest
    # short window (6h). One burning SLO, one incident.
    push(db, range(10, 40), bad=0, at=T + timedelta(minutes=40))
    evaluate(db, slo_id, T + timedelta(minutes=40))
    assert firing(db) == ["ticket (inhibited): 1d/2h 3d/6h"]
    sender.run_once(now=T + timedelta(minutes=40))
    assert bodies(receivers.pagerduty)[-1] == {
        "routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": f"slo-{slo_id}-page",
    }  # fmt: skip
    assert bodies(receivers.slack)[-1]["blocks"][0]["text"]["text"].startswith("✅ RESOLVED")
    assert [b["event"] for b in bodies(receivers.webhook)] == ["freeze_start"]

    # The budget goes on burning at 5x for six hours more: no page (under 6x), but the 1d/2h
    # and 3d/6h tickets fire on a burn of their own once the page's is out of their windows:
    # sent then, and repeated on its route 30 minutes later.
    six_hours = T + timedelta(minutes=40) + timedelta(hours=6)
    push(db, range(40, 40 + 6 * 60), bad=5, at=six_hours)
    evaluate(db, slo_id, six_hours - timedelta(minutes=1))
    assert sender.run_once(now=six_hours - timedelta(minutes=1))["delivered"] == 0
    evaluate(db, slo_id, six_hours)
    assert firing(db) == ["ticket: 1d/2h 3d/6h"]
    sender.run_once(now=six_hours)
    push(db, range(40 + 6 * 60, 70 + 6 * 60), bad=5, at=six_hours + timedelta(minutes=30))
    evaluate(db, slo_id, six_hours + timedelta(minutes=30))
    sender.run_once(now=six_hours + timedelta(minutes=30))
    tickets = [b for b in bodies(receivers.webhook) if b["dedup_key"] == f"slo-{slo_id}-ticket"]
    assert [b["event"] for b in tickets] == ["trigger", "repeat"]
    assert "5.1x over 1d and 5.0x over 2h (over 3x)" in tickets[0]["summary"]
    assert len(receivers.slack.requests) == 2  # the page's trigger and resolve, no repeat
    assert len(receivers.pagerduty.requests) == 2
    keys = [r.headers["idempotency-key"] for r in receivers.webhook.requests]
    assert len(keys) == len(set(keys)) == 3


def test_disabled_alerting_and_unmatched_routes_send_nothing(
    db: Engine, receivers: Receivers, sender: Sender
) -> None:
    pages_only = {"name": "pages", "severities": ["page"], "services": ["other-model"],
                  "channels": [{"type": "webhook", "url": receivers.webhook.url}]}  # fmt: skip
    with session_scope(db) as session:
        routes.create(session, RouteIn.model_validate(pages_only), actor="tests", now=T)
    slo_id = push_slo(db)
    push(db, range(-5, 0), bad=50, at=T)
    evaluate(db, slo_id, T)
    assert len(firing(db)) == 2  # alerts are kept, whether or not a route takes them
    assert sender.run_once(now=T)["delivered"] == 0
    with session_scope(db) as session:
        slo = session.get(SLO, slo_id)
        assert slo is not None
        slo.alerting = {"enabled": False}
        session.add(slo)
    evaluate(db, slo_id, T + timedelta(minutes=1))
    assert firing(db) == []  # disabled: what fired resolves, nothing new fires
    with Session(db) as session:
        assert session.exec(select(Notification)).all() == []
    assert receivers.webhook.requests == []


def test_deleting_an_slo_resolves_its_alerts(
    db: Engine, receivers: Receivers, sender: Sender
) -> None:
    add_routes(db, receivers)
    slo_id = push_slo(db)
    push(db, range(-5, 0), bad=50, at=T)
    evaluate(db, slo_id, T)
    sender.run_once(now=T)
    with session_scope(db) as session:
        slo = session.get(SLO, slo_id)
        assert slo is not None
        slos.delete(session, slo, actor="tests")
    assert firing(db) == []
    # Deleted just now: the page's resolve to its two channels; the ticket, inhibited and
    # never sent, resolves unheard; the freeze the SLO's budget held lifts.
    assert sender.run_once() == {"delivered": 3, "retry": 0, "dead": 0}
    resolves = [b for b in bodies(receivers.pagerduty) if b["event_action"] == "resolve"]
    assert [b["dedup_key"] for b in resolves] == [f"slo-{slo_id}-page"]
    hook = [b for b in bodies(receivers.webhook) if b["at"] != T.isoformat()]
    assert [b["event"] for b in hook] == ["freeze_lift"]
    slack = bodies(receivers.slack)[-1]
    assert "churn-model:availability was deleted: its page alert is resolved" in str(slack)
