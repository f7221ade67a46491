"""Three real ``slo-service serve`` replicas on one Postgres, under failure.

The three migrate a new database together (one at a time: none fails), then evaluate 100 SLOs
over a real Prometheus (backfilled with promtool: one model in an outage that goes on, one
healthy) and 8 pushed-event SLOs; the notification routes go to a real loopback receiver (a
webhook and PagerDuty's Events API). One replica is killed with SIGKILL while it holds the
evaluation leases of its cycle, another while a notification it sent is received and not yet
answered. Then the stored buckets and the budgets are those of one process evaluating the
same SLOs over the same Prometheus (on a second database), nothing is left leased, and every
notification arrived at least once, all copies of one with one idempotency key.
"""

import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from slo_service import migrate
from slo_service.app import sources_for
from slo_service.config import Settings
from slo_service.db import make_engine, session_scope
from slo_service.domain.blocks import Layout, instant
from slo_service.domain.scopes import parse_scopes
from slo_service.domain.summary import Summary
from slo_service.models import SLO, Alert, Notification
from slo_service.repositories import blocks as block_repo
from slo_service.schemas.notify import RouteIn
from slo_service.schemas.slo import SLOCreate
from slo_service.services import evaluation, events, slos, status, summaries, tokens
from slo_service.services.alerting import routes
from slo_service.sources.base import NoQueryChecker
from tests.support.metrics import Scenario, backfill
from tests.support.receivers import LOOPBACK_NETWORKS, Recorded
from tests.support.replicas import KillingReceiver, Replica, replicas, until, wait_healthy
from tests.support.servers import prometheus_server

pytestmark = [pytest.mark.postgres, pytest.mark.prometheus]

WIDTH = 60
LAYOUT = Layout(WIDTH)
LEASE_SECONDS = 8  # SLO_EVALUATION_LEASE_SECONDS: a dead replica's SLOs wait this long
NOTIFY_TIMEOUT = 0.5  # the delivery lease is then 2 x 10 x 0.5 + 5 = 15 s
ROUTING_KEY = "R" * 32
OBJECTIVES = (0.9, 0.95, 0.99, 0.995, 0.999)
WINDOWS = ("1d", "3d", "6h")
PUSHED = 8
# Compared with one process's: what a status says of the budget and the alerts.
STATUS_FIELDS = ("window", "sli", "good", "total", "error_budget", "burn_rates", "state",
                 "alerts", "time_to_exhaustion_seconds", "evaluated_until")  # fmt: skip


@pytest.fixture(scope="module")
def live_prometheus(scratch: Path) -> Iterator[str]:
    """A Prometheus whose data runs from 73 hours ago to a few minutes from now: the model
    "churn" has been failing 80% of its requests for the last half hour and still is; the
    model "fraud" never fails."""
    now = int(time.time())
    end = now - now % 60 + 120
    burning = Scenario(end=end, hours=73, models=("churn",), outage=(1800, -3600))
    healthy = Scenario(end=end, hours=73, models=("fraud",), outage=(-3600, -3601))
    workdir = scratch / "replicas-prometheus"
    data = backfill([burning.generate(), healthy.generate()], workdir)
    with prometheus_server(workdir, tsdb=data) as url:
        yield url


def spec(index: int) -> dict[str, Any]:
    """The ``index``-th measured SLO: each model, each kind, objectives and windows mixed."""
    model = ("churn", "fraud")[index % 2]
    kinds: list[dict[str, Any]] = [
        {"kind": "custom", "sli": {
            "type": "ratio", "good": f'ml_predictions_total{{model_name="{model}",status="ok"}}',
            "total": f'ml_predictions_total{{model_name="{model}"}}'}},
        {"kind": "latency", "params": {"threshold_ms": 500, "model_name": model}},
        {"kind": "custom", "sli": {
            "type": "threshold", "query": f'min(ml_model_accuracy{{model_name="{model}"}})',
            "op": ">=", "threshold": 0.85}},
    ]  # fmt: skip
    return {
        "service": f"{model}-model", "name": f"slo-{index}", "objective": OBJECTIVES[index % 5],
        "window": WINDOWS[index % 3], **kinds[index // 2 % 3],
    }  # fmt: skip


def define(engine: Engine) -> None:
    """The same 100 measured and 8 pushed SLOs in a database."""
    pushed = [
        {"service": "pushed", "name": f"p{i}", "kind": "availability", "objective": 0.99,
         "window": "1d", "sli": {"source": "push"}}
        for i in range(PUSHED)
    ]  # fmt: skip
    with session_scope(engine) as session:
        for body in [spec(i) for i in range(100)] + pushed:
            data = SLOCreate.model_validate(body)
            slos.create(session, slos.prepare(data, NoQueryChecker()), actor="tests")


def pushed_events(at: datetime) -> list[dict[str, Any]]:
    """A minute of events per pushed SLO from 100 to 40 minutes before ``at`` (no short
    burn window sees them, so their alerts do not change while the test runs); SLO ``pi``
    fails 0%, 1%, 5% or 20% of them."""
    return [
        {"slo": f"pushed:p{i}", "timestamp": (at - timedelta(minutes=m)).isoformat(),
         "good": 100 - (0, 1, 5, 20)[i % 4], "total": 100, "event_id": f"p{i}-{m}"}
        for i in range(PUSHED)
        for m in range(40, 100)
    ]  # fmt: skip


def post_twice(first: Replica, second: Replica, items: list[dict[str, Any]], token: str) -> None:
    """The same events to two replicas at once (a client retrying elsewhere): each is kept
    once, and each answer accounts for every one."""
    answers: dict[str, dict[str, Any]] = {}

    def post(replica: Replica) -> None:
        response = httpx.post(
            f"{replica.url}/api/v1/events", json={"events": items},
            headers={"Authorization": f"Bearer {token}"}, timeout=60,
        )  # fmt: skip
        assert response.status_code == 200, response.text
        answers[replica.name] = response.json()

    threads = [threading.Thread(target=post, args=(r,)) for r in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert len(answers) == 2
    for answer in answers.values():
        assert answer["rejected"] == []
        assert answer["accepted"] + answer["duplicates"] == len(items)
    assert sum(answer["accepted"] for answer in answers.values()) == len(items)


def pid_of(owner: str) -> int:
    """The process of a lease owner (``scheduler.owner_id``: host, pid, suffix)."""
    return int(owner.rsplit(":", 2)[1])


def slo_owners(engine: Engine) -> set[str]:
    with Session(engine) as session:
        found = session.exec(select(SLO.lease_owner).where(col(SLO.lease_owner).is_not(None)))
        return {owner for owner in found if owner}


def notification_owner(engine: Engine, key: str) -> str | None:
    with Session(engine) as session:
        row = session.exec(select(Notification).where(Notification.idempotency_key == key)).one()
        return row.lease_owner


def settled(engine: Engine, dead: set[int]) -> bool:
    """Every SLO evaluated and summarized as of its last bucket, every notification
    delivered, and nothing held by a dead replica."""
    with Session(engine) as session:
        rows = session.exec(select(SLO)).all()
        sent = session.exec(select(Notification)).all()
    for slo in rows:
        summary = Summary.of(slo.summary)
        if summary is None or (slo.lease_owner and pid_of(slo.lease_owner) in dead):
            return False
        if slo.sli.get("source") != "push" and summary.evaluated_until != slo.evaluated_until:
            return False
    return bool(sent) and all(row.state == "delivered" for row in sent)


def stored_buckets(engine: Engine) -> dict[str, dict[int, tuple[float, float]]]:
    """Each measured SLO's buckets as stored (start → good, total), those with events."""
    found: dict[str, dict[int, tuple[float, float]]] = {}
    with Session(engine) as session:
        for slo in session.exec(select(SLO)).all():
            if slo.id is None or slo.sli.get("source") == "push":
                continue
            values = found.setdefault(f"{slo.service}:{slo.name}", {})
            for start, block in block_repo.between(session, slo.id, 0, 2**62).items():
                for slot, (good, total) in enumerate(zip(block.good, block.total, strict=True)):
                    if good or total:
                        values[start + slot * WIDTH] = (good, total)
    return found


def evaluate_alone(
    engine: Engine, prometheus: str, ranges: dict[str, tuple[int, int]], at: datetime
) -> None:
    """One process, with the service's own evaluation, on a database of its own with the same
    SLOs: the pushed events once, and each measured SLO over the buckets the replicas stored
    for it (``ranges``: name → start of the first, end of the last), the SLOs of one range
    measured together (queries shared, as a cycle does) and summarized as of its end."""
    source = sources_for(Settings(prometheus_url=prometheus), engine)["prometheus"]
    with session_scope(engine) as session:
        assert not events.ingest(session, pushed_events(at), layout=LAYOUT, now=at).rejected
    together: dict[tuple[int, int], list[str]] = defaultdict(list)
    for name, span in ranges.items():
        together[span].append(name)
    for (first, end), these in together.items():
        with session_scope(engine) as session:
            rows = [row for row in session.exec(select(SLO)).all() if row.id is not None]
            chosen = [row for row in rows if f"{row.service}:{row.name}" in these]
            requests = [evaluation.request_for(slo, instant(first), instant(end)) for slo in chosen]
            answers = source.measure(requests, bucket=WIDTH)
            now = instant(end + WIDTH)
            measured = [(slo, r, answers[r.key]) for slo, r in zip(chosen, requests, strict=True)]
            outcomes = evaluation.store(session, measured, now=now, layout=LAYOUT)
            assert all(outcome.ok for outcome in outcomes), outcomes
            summaries.update(session, chosen, now=now, layout=LAYOUT)
    with session_scope(engine) as session:
        pushed = [row for row in session.exec(select(SLO)).all() if row.sli["source"] == "push"]
        summaries.update(session, pushed, now=datetime.now(UTC), layout=LAYOUT)


def statuses(engine: Engine, now: datetime) -> dict[str, dict[str, Any]]:
    with Session(engine) as session:
        found = {}
        for slo in session.exec(select(SLO)).all():
            answer = status.status(session, slo, now=now, layout=LAYOUT).model_dump(mode="json")
            found[f"{slo.service}:{slo.name}"] = {name: answer[name] for name in STATUS_FIELDS}
        return found


def firing(engine: Engine) -> set[tuple[str, str, str, bool]]:
    with Session(engine) as session:
        alerts = session.exec(select(Alert).where(col(Alert.resolved_at).is_(None))).all()
        return {(a.service, a.slo_name, a.name, a.inhibited) for a in alerts}


def test_three_replicas_survive_a_kill_mid_cycle_and_one_mid_delivery(
    database_factory: Callable[[str, str], str], live_prometheus: str, scratch: Path
) -> None:
    url = database_factory("postgres", "slo_replicas")  # empty: the replicas migrate it
    engine = make_engine(url)
    started = datetime.now(UTC).replace(second=0, microsecond=0)
    by_pid: dict[int, Replica] = {}
    killed: dict[str, Replica] = {}
    missed: list[Recorded] = []

    def kill_sender(request: Recorded) -> None:  # in the receiver, before it answers
        owner = notification_owner(engine, request.headers["idempotency-key"])
        if owner is None:  # sent without a lease, or its sender gave up on it already
            missed.append(request)
            return
        sender = by_pid[pid_of(owner)]
        sender.kill()
        killed["delivery"] = sender

    workdir = scratch / "replicas"
    workdir.mkdir(exist_ok=True)
    with KillingReceiver(kill_sender, wanted=lambda request: True) as receiver:
        body = {"name": "everything", "default": True, "channels": [
            {"type": "webhook", "url": f"{receiver.url}/hook"},
            {"type": "pagerduty", "routing_key": ROUTING_KEY}]}  # fmt: skip
        env = {
            "SLO_DATABASE_URL": url, "SLO_PROMETHEUS_URL": live_prometheus,
            "SLO_PROMETHEUS_TIMEOUT_SECONDS": "20", "SLO_SCHEDULER": "true",
            "SLO_BUCKET_SECONDS": str(WIDTH), "SLO_EVALUATION_INTERVAL_SECONDS": "5",
            "SLO_EVALUATION_LEASE_SECONDS": str(LEASE_SECONDS),
            "SLO_NOTIFY_INTERVAL_SECONDS": "0.2", "SLO_NOTIFY_TIMEOUT_SECONDS": str(NOTIFY_TIMEOUT),
            "SLO_NOTIFY_BACKOFF_SECONDS": "1", "SLO_NOTIFY_ALLOWED_NETWORKS": LOOPBACK_NETWORKS,
            "SLO_PAGERDUTY_URL": receiver.url, "SLO_PUBLIC_BASE_URL": "https://slo.example.com",
        }  # fmt: skip
        with replicas(3, env, workdir) as running:
            by_pid.update({replica.pid: replica for replica in running})

            def logs() -> str:
                return "\n".join(replica.tail() for replica in running)

            # 0. All three migrate the empty database at once, and serve; then the SLOs come.
            alone = make_engine(database_factory("postgres", "slo_replicas_alone"))
            migrate.upgrade(alone)
            define(alone)
            for replica in running:
                wait_healthy(replica)
            define(engine)
            with session_scope(engine) as session:
                routes.create(session, RouteIn.model_validate(body), actor="tests", now=started)
                _, token = tokens.create(
                    session, name="events", scopes=parse_scopes("write"), actor="tests"
                )
            # 1. The first replica to claim SLOs dies in its cycle, with their leases.
            assert until(lambda: bool(slo_owners(engine)), 120, step=0.01), logs()
            (owner,) = slo_owners(engine)
            first = by_pid[pid_of(owner)]
            first.kill()
            assert slo_owners(engine) == {owner}, "the dead replica's leases are gone"
            survivors = [replica for replica in running if replica is not first]
            post_twice(survivors[0], survivors[1], pushed_events(started), token)
            # 2. Another dies with a notification sent and not answered (the receiver kills it).
            assert until(lambda: "delivery" in killed or bool(missed), 90), logs()
            assert not missed, "the first notification was not leased while it was sent"
            second = killed["delivery"]
            assert second in survivors
            assert not second.alive()
            (last,) = [replica for replica in survivors if replica is not second]
            stalled = receiver.chosen
            assert stalled is not None
            key = stalled.headers["idempotency-key"]
            assert notification_owner(engine, key) is not None, "recorded after the kill"
            # 3. The last one takes over what both held and delivers everything.
            assert until(lambda: settled(engine, {first.pid, second.pid}), 90, step=0.2), logs()
            assert last.stop(), last.tail()
        arrivals = receiver.requests

    with Session(engine) as session:
        rows = session.exec(select(SLO)).all()
        sent = session.exec(select(Notification)).all()
    assert [(r.lease_owner, r.lease_until) for r in rows] == [(None, None)] * len(rows)
    assert {(r.state, r.lease_owner) for r in sent} == {("delivered", None)}

    # Buckets: each SLO's, every one from its first to its evaluated_until, are one process's.
    measured = {f"{r.service}:{r.name}": r for r in rows if r.sli.get("source") != "push"}
    span = int(evaluation.span_to_cover(next(iter(measured.values()))).total_seconds())
    stored = stored_buckets(engine)
    ranges: dict[str, tuple[int, int]] = {}
    for name, slo in measured.items():
        assert slo.evaluated_until is not None
        end, begin = int(slo.evaluated_until.timestamp()), min(stored[name])
        assert sorted(stored[name]) == list(range(begin, end, WIDTH)), f"{name}: buckets missing"
        assert end - begin >= span, f"{name}: its window was not all measured"
        ranges[name] = (begin, end)
    evaluate_alone(alone, live_prometheus, ranges, started)
    assert stored_buckets(alone) == stored

    # Budgets and alerts: those of the one process (each SLO as of its last bucket).
    now = datetime.now(UTC)
    single = statuses(alone, now)
    assert statuses(engine, now) == single
    for name, slo in measured.items():
        summary = Summary.of(slo.summary)  # as the replica that evaluated it last left it
        assert summary is not None
        assert summary.remaining == single[name]["error_budget"]["remaining"], name
        assert summary.state == single[name]["state"], name
    assert firing(engine) == firing(alone)
    assert any(alert[2] == "page" for alert in firing(engine))

    # Notifications: each row arrived, every copy of one with its key and the same bytes,
    # one key per transition; the one in flight when its sender died came again.
    by_key: dict[str, list[Recorded]] = defaultdict(list)
    for request in arrivals:
        by_key[request.headers["idempotency-key"]].append(request)
    assert set(by_key) == {row.idempotency_key for row in sent}
    for row in sent:
        copies = by_key[row.idempotency_key]
        assert {request.body for request in copies} == {copies[0].body}, row.idempotency_key
        path = "/v2/enqueue" if row.channel_type == "pagerduty" else "/hook"
        assert {request.path for request in copies} == {path}
        if row.channel_type == "pagerduty":
            assert copies[0].json()["dedup_key"] == row.dedup_key
    assert len(by_key[key]) >= 2, "the notification in flight was not sent again"
    transitions: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for request in arrivals:
        if request.path == "/hook":
            message = json.loads(request.body)
            transition = (message["dedup_key"], message["event"], message["at"])
            transitions[transition].add(request.headers["idempotency-key"])
    assert transitions
    assert all(len(keys) == 1 for keys in transitions.values())
    with Session(engine) as session:
        triggered = session.exec(select(Alert)).all()
    told = {(row.alert_id, row.channel_type) for row in sent if row.event == "trigger"}
    for alert in triggered:
        if not alert.inhibited:
            assert {(alert.id, "webhook"), (alert.id, "pagerduty")} <= told, alert.dedup_key
