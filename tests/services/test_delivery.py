"""Delivering the outbox against receivers that fail on demand, on both backends: retries
with backoff and Retry-After, dead letters, a sender that dies mid-delivery, and (on
Postgres) two senders at once."""

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from slo_service.db import session_scope
from slo_service.domain.alerts import Backoff
from slo_service.models import Notification, NotificationRoute
from slo_service.notify import registry
from slo_service.repositories import alerts as alert_repo
from slo_service.schemas.notify import RouteIn
from slo_service.services.alerting import routes
from slo_service.services.alerting.delivery import Sender
from tests.support.receivers import LOOPBACK, Receiver

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with Receiver() as receiver:
        yield receiver


def route_to(db: Engine, receiver: Receiver, name: str = "hooks") -> int:
    body = {"name": name, "default": True,
            "channels": [{"type": "webhook", "url": receiver.url + "/hook"}]}  # fmt: skip
    with session_scope(db) as session:
        row = routes.create(session, RouteIn.model_validate(body), actor="tests", now=NOW)
        assert row.id is not None
        return row.id


def enqueue(db: Engine, route_id: int, count: int = 1) -> None:
    rows = [
        {"idempotency_key": f"test:{i}:{route_id}:0", "route_id": route_id,
         "route_name": "hooks", "channel": 0, "channel_type": "webhook", "event": "trigger",
         "dedup_key": f"slo-1-page-1h-5m-{i}", "service": "churn-model",
         "message": {"event": "trigger", "dedup_key": f"slo-1-page-1h-5m-{i}",
                     "service": "churn-model", "slo": "churn-model:availability",
                     "severity": "page", "summary": f"message {i}", "at": NOW.isoformat(),
                     "path": "/slos/1"},
         "state": "pending", "attempts": 0, "next_attempt_at": NOW, "created_at": NOW}
        for i in range(count)
    ]  # fmt: skip
    with session_scope(db) as session:
        assert alert_repo.enqueue(session, rows) == count


def sender(db: Engine, owner: str = "a", **options: object) -> Sender:
    notifiers = registry.notifiers(pagerduty_url="http://127.0.0.1:9", timeout=0.5, egress=LOOPBACK)
    return Sender(db, notifiers, base_url="https://slo.example.com", owner=owner,
                  backoff=Backoff(max_attempts=3), **options)  # type: ignore[arg-type]  # fmt: skip


def rows(db: Engine) -> list[Notification]:
    with Session(db) as session:
        return list(session.exec(select(Notification).order_by(col(Notification.id))).all())


def test_a_failed_try_waits_its_backoff_then_delivers(db: Engine, hook: Receiver) -> None:
    enqueue(db, route_to(db, hook))
    hook.respond(500, b"upstream down")
    assert sender(db).run_once(now=NOW) == {"delivered": 0, "retry": 1, "dead": 0}
    (row,) = rows(db)
    assert row.attempts == 1
    assert row.last_error == "Webhook answered 500"  # what the receiver said is not kept
    assert timedelta(seconds=5) <= row.next_attempt_at - NOW <= timedelta(seconds=10)
    assert sender(db).run_once(now=NOW + timedelta(seconds=4))["delivered"] == 0  # not yet
    assert sender(db).run_once(now=NOW + timedelta(seconds=10))["delivered"] == 1
    (row,) = rows(db)
    assert (row.state, row.attempts, row.last_status, row.last_error) == (
        "delivered", 2, 200, None
    )  # fmt: skip
    first, second = hook.requests
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]


def test_429_retry_after_is_honoured(db: Engine, hook: Receiver) -> None:
    enqueue(db, route_to(db, hook))
    hook.respond(429, headers={"Retry-After": "120"})
    sender(db).run_once(now=NOW)
    (row,) = rows(db)
    assert row.next_attempt_at - NOW == timedelta(seconds=120)
    assert sender(db).run_once(now=NOW + timedelta(seconds=119))["delivered"] == 0
    assert sender(db).run_once(now=NOW + timedelta(seconds=120))["delivered"] == 1
    assert len(hook.requests) == 2


def test_timeouts_then_the_dead_letter(
    db: Engine, hook: Receiver, client: TestClient, admin: dict[str, str]
) -> None:
    enqueue(db, route_to(db, hook))
    hook.respond(200, delay=1.5, times=1)  # over the 0.5 s timeout
    hook.respond(503, times=5)
    at = NOW
    for attempt in range(3):
        counts = sender(db).run_once(now=at)
        assert counts == ({"delivered": 0, "retry": 1, "dead": 0} if attempt < 2 else
                          {"delivered": 0, "retry": 0, "dead": 1})  # fmt: skip
        at += timedelta(hours=1)
    (row,) = rows(db)
    assert (row.state, row.attempts) == ("dead", 3)
    assert sender(db).run_once(now=at + timedelta(days=1))["delivered"] == 0  # dead stays dead
    answer = client.get("/api/v1/notifications?state=dead", headers=admin).json()
    assert answer["count"] == 1
    (dead,) = answer["data"]
    assert (dead["attempts"], dead["last_error"], dead["summary"]) == (
        3, "Webhook answered 503", "message 0"
    )  # fmt: skip


def test_a_refusal_is_dead_at_once(db: Engine, hook: Receiver) -> None:
    enqueue(db, route_to(db, hook))
    hook.respond(400, b"unknown event")
    assert sender(db).run_once(now=NOW) == {"delivered": 0, "retry": 0, "dead": 1}
    assert rows(db)[0].last_error == "Webhook answered 400"


def test_a_deleted_route_leaves_its_messages_dead(db: Engine, hook: Receiver) -> None:
    enqueue(db, route_to(db, hook))
    with session_scope(db) as session:
        row = session.get(NotificationRoute, rows(db)[0].route_id)
        assert row is not None
        routes.delete(session, row, actor="tests")
    assert sender(db).run_once(now=NOW)["dead"] == 1
    assert "deleted" in (rows(db)[0].last_error or "")
    assert hook.requests == []


def test_a_sender_that_dies_mid_delivery_loses_nothing(db: Engine, hook: Receiver) -> None:
    enqueue(db, route_to(db, hook), count=3)
    with session_scope(db) as session:  # a sender claims two rows, then its process dies
        dead = alert_repo.claim(session, owner="dead", now=NOW, until=NOW + timedelta(minutes=2),
                                limit=2)  # fmt: skip
    assert len(dead) == 2
    survivor = sender(db, owner="b")
    assert survivor.run_once(now=NOW)["delivered"] == 1  # the third; two are leased
    assert survivor.run_once(now=NOW + timedelta(minutes=2, seconds=1))["delivered"] == 2
    assert [r.state for r in rows(db)] == ["delivered"] * 3
    keys = [r.headers["idempotency-key"] for r in hook.requests]
    assert sorted(keys) == sorted(r.idempotency_key for r in rows(db))


def test_a_late_result_of_a_lost_lease_is_not_recorded(db: Engine, hook: Receiver) -> None:
    """A sender whose lease ran out mid-send does not overwrite what the next one did."""
    enqueue(db, route_to(db, hook))
    slow = sender(db, owner="slow")
    with session_scope(db) as session:
        (claimed,) = alert_repo.claim(session, owner="slow", now=NOW, until=NOW, limit=1)
        prepared = slow._prepare(session, alert_repo.get_many(session, [claimed])[0])
    outcome = slow._send(prepared)  # sent; its result is not recorded yet...
    assert sender(db, owner="fast").run_once(now=NOW + timedelta(seconds=1))["delivered"] == 1
    with session_scope(db) as session:  # ...and when it is, it is refused
        assert slow._record(session, prepared, outcome, now=NOW) == "retry"
    (row,) = rows(db)
    assert (row.state, row.attempts) == ("delivered", 1)
    assert len({r.headers["idempotency-key"] for r in hook.requests}) == 1


def test_two_senders_at_once_deliver_each_message_once(db: Engine, hook: Receiver) -> None:
    if db.dialect.name != "postgresql":
        pytest.skip("SQLite runs one process: one sender")
    enqueue(db, route_to(db, hook), count=40)
    start = threading.Barrier(2)
    results: dict[str, dict[str, int]] = {}

    def run(owner: str) -> None:
        start.wait()
        results[owner] = sender(db, owner=owner, batch=3).run_once(now=NOW)

    threads = [threading.Thread(target=run, args=(owner,)) for owner in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results["a"]["delivered"] + results["b"]["delivered"] == 40
    assert results["a"]["delivered"] > 0
    assert results["b"]["delivered"] > 0
    keys = [r.headers["idempotency-key"] for r in hook.requests]
    assert len(keys) == len(set(keys)) == 40
    assert {r.state for r in rows(db)} == {"delivered"}
