"""``serve --demo``'s feed: the demo seeded, then fed as ``serve --demo`` feeds it every minute,
so that it never goes silent."""

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from slo_service import migrate
from slo_service.app import sources_for
from slo_service.config import Settings
from slo_service.db import make_engine, session_scope, utcnow
from slo_service.demo import seed as demo
from slo_service.domain import drift_columns
from slo_service.domain.blocks import Layout
from slo_service.domain.budget import Counts
from slo_service.models import SLO, DriftBatch, PushEvent
from slo_service.scheduler import DEMO_FEED_SECONDS, demo_feeder, feed_demo
from slo_service.schemas.slo import SLOCreate
from slo_service.schemas.status import SLOStatusPublic
from slo_service.services import evaluation, events, slos, status
from slo_service.services.alerting import follow as alerting
from slo_service.services.drift import store as drift
from slo_service.sources.base import NoQueryChecker

T0 = datetime(2026, 11, 23, 10, 35, tzinfo=UTC)  # when the demo is seeded: on a 5-minute step
T1 = T0 + timedelta(minutes=47)
LAYOUT = Layout(60)  # the default
PUSHED = {str(spec["name"]) for spec in demo.DEMO_SLOS}
SEEDED_BATCHES = int(timedelta(days=demo.BATCH_DAYS) / demo.BATCH_EVERY) - 1


def steps(first: datetime, last: datetime) -> list[datetime]:
    """The 5-minute steps from ``first`` to ``last`` included."""
    return [first + i * demo.STEP for i in range(int((last - first) / demo.STEP) + 1)]


def seeded(db: Engine, layout: Layout = LAYOUT) -> None:
    with session_scope(db) as session:
        assert demo.seed(session, now=T0, layout=layout)


def fed(db: Engine, at: datetime, layout: Layout = LAYOUT) -> int:
    with session_scope(db) as session:
        return demo.feed(session, now=at, layout=layout)


def started(
    db: Engine,
    *,
    at: datetime = T0,
    layout: Layout = LAYOUT,
    names: set[str] = PUSHED,
    store: bool = False,
) -> None:
    """The demo as a seed at ``at`` leaves it, cheaply: its push SLOs ``names`` with only
    their last hour of steps, under the seed's ids; with ``store``, a small drift reference
    and one batch two hours before ``at``."""
    last_hour = steps(at - timedelta(hours=1), at - demo.STEP)
    with session_scope(db) as session:
        for spec in demo.DEMO_SLOS:
            if spec["name"] not in names:
                continue
            data = SLOCreate.model_validate(
                {**spec, "service": demo.SERVICE, "sli": {"source": "push"}}
            )
            slo = slos.create(session, slos.prepare(data, NoQueryChecker()), actor="tests")
            assert slo.id is not None
            seeded = [(f"demo-{int(t.timestamp())}", t, Counts(5, 5)) for t in last_hour]
            events.record(session, slo.id, seeded, layout=layout)
        if store:
            values: dict[str, list[Any]] = {
                "age": [30.0, 41.0, 52.0, 63.0],
                "income": [20_000.0, 36_000.0, None, 51_000.0],
                "country": ["de", "fr", "us", "uk"],
            }
            reference = drift_columns.from_json(values, {})
            drift.create_reference(session, demo.SERVICE, reference, bins=4, actor="tests")
            columns = drift_columns.from_json(values, drift.reference_types(session, demo.SERVICE))
            drift.ingest_batch(
                session, demo.SERVICE, columns, observed_at=at - demo.BATCH_EVERY,
                batch_key="seeded", now=at, layout=layout,
            )  # fmt: skip


def pushed(session: Session) -> dict[str, SLO]:
    rows = session.exec(select(SLO).where(col(SLO.service) == demo.SERVICE)).all()
    return {slo.name: slo for slo in rows if slo.sli.get("source") == "push"}


def events_since(session: Session, slo: SLO, since: datetime) -> list[PushEvent]:
    return list(
        session.exec(
            select(PushEvent)
            .where(col(PushEvent.slo_id) == slo.id, col(PushEvent.ts) >= since)
            .order_by(col(PushEvent.ts))
        ).all()
    )


def batches(db: Engine) -> list[datetime]:
    with Session(db) as session:
        return sorted(
            session.exec(
                select(DriftBatch.observed_at).where(col(DriftBatch.service) == demo.SERVICE)
            ).all()
        )


def statuses(db: Engine, at: datetime) -> dict[str, tuple[SLO, SLOStatusPublic]]:
    with Session(db) as session:
        return {
            name: (slo, status.status(session, slo, now=at, layout=LAYOUT))
            for name, slo in pushed(session).items()
        }


def test_a_feed_continues_every_push_slo_up_to_now(db: Engine) -> None:
    seeded(db)
    before = statuses(db, T1)
    assert set(before) == PUSHED
    for name, (slo, current) in before.items():  # unfed, every one would be silent by now
        assert "nodata" in alerting.wanted(slo, current, now=T1), name

    fed_steps = steps(T0, T0 + timedelta(minutes=45))
    assert fed(db, T1) == len(PUSHED) * len(fed_steps)

    after = statuses(db, T1)
    with Session(db) as session:
        for name, slo in pushed(session).items():
            new = events_since(session, slo, T0)
            assert [e.ts for e in new] == fed_steps, name
            assert [e.event_id for e in new] == [f"demo-{int(s.timestamp())}" for s in fed_steps]
            # The last step's bucket (one minute) ends its data.
            assert slo.data_until == fed_steps[-1] + timedelta(minutes=1), name
            good, total = sum(e.good for e in new), sum(e.total for e in new)
            was, now = before[name][1], after[name][1]
            assert now.total - was.total == pytest.approx(total), name
            assert now.good - was.good == pytest.approx(good), name
            bad = (was.total - was.good) + (total - good)
            consumed = now.error_budget.consumed
            assert consumed == pytest.approx(bad / now.total / (1 - slo.objective)), name
            assert consumed is not None
            assert 0 < consumed < 1, name  # the incident's burn is still there
            assert good >= 0.95 * total, name  # healthy: no incident in what is fed
            assert "nodata" not in alerting.wanted(slo, now, now=T1), name
    minutes = len(fed_steps) * demo.STEP.total_seconds() / 60
    assert (after["model-freshness"][1].total - before["model-freshness"][1].total) == minutes
    assert batches(db)[-1] == T0  # the seed's last was two hours before it
    assert len(batches(db)) == SEEDED_BATCHES + 1

    assert fed(db, T1) == 0  # fed again: nothing twice
    assert len(batches(db)) == SEEDED_BATCHES + 1
    again = statuses(db, T1)
    assert {n: s.total for n, (_, s) in again.items()} == {
        n: s.total for n, (_, s) in after.items()
    }

    later = T0 + timedelta(hours=2, minutes=10)
    assert fed(db, later) == len(PUSHED) * len(steps(T0 + timedelta(minutes=50), later))
    assert len(batches(db)) == SEEDED_BATCHES + 2
    assert batches(db)[-1] == T0 + demo.BATCH_EVERY


def test_the_alerts_api_shows_no_nodata_ticket_once_fed(
    db: Engine, settings: Settings, client: TestClient, admin: dict[str, str]
) -> None:
    seeded(db)
    sources = sources_for(settings, db)

    def nodata(at: datetime) -> set[str]:
        evaluation.run_cycle(db, sources=sources, layout=LAYOUT, owner="tests", now=at)
        body = client.get("/api/v1/alerts", headers=admin).json()
        return {a["slo"] for a in body["data"] if a["name"] == "nodata" and a["state"] == "firing"}

    # Unfed for 47 minutes, every push SLO raises its no-data ticket...
    assert nodata(T1) == {f"{demo.SERVICE}:{name}" for name in PUSHED}
    fed(db, T1 + timedelta(minutes=2))
    # ... and fed, none.
    assert nodata(T1 + timedelta(minutes=2)) == set()


def test_a_month_old_demo_catches_up_at_most_the_seeds_span(db: Engine) -> None:
    started(db, names={"availability"}, store=True)
    now = T0 + timedelta(days=40)
    per_slo = demo.DAYS * 24 * 12
    assert fed(db, now) == per_slo
    with Session(db) as session:
        new = events_since(session, pushed(session)["availability"], T0)
    assert len(new) == per_slo
    assert new[0].ts == now - timedelta(days=demo.DAYS) + demo.STEP
    assert new[-1].ts == now
    fresh = [at for at in batches(db) if at >= T0]
    assert len(fresh) == SEEDED_BATCHES + 1  # the marks of the last week, now's included
    assert fresh[0] == now - timedelta(days=demo.BATCH_DAYS) + demo.BATCH_EVERY
    assert fresh[-1] == now


def test_the_feed_starts_after_the_last_bucket_whatever_its_width(db: Engine) -> None:
    hourly = Layout(3600)  # the seed's last step (10:30) ends data_until at 11:00
    started(db, layout=hourly)
    fed_steps = steps(T0, T0 + timedelta(minutes=45))
    assert fed(db, T1, hourly) == len(PUSHED) * len(fed_steps)
    with Session(db) as session:
        for name, slo in pushed(session).items():
            assert [e.ts for e in events_since(session, slo, T0)] == fed_steps, name
            assert slo.data_until == datetime(2026, 11, 23, 12, 0, tzinfo=UTC), name


def fed_counts(db: Engine) -> dict[tuple[str, str], tuple[float, float]]:
    with Session(db) as session:
        return {
            (name, e.event_id): (e.good, e.total)
            for name, slo in pushed(session).items()
            for e in events_since(session, slo, T0)
        }


def test_a_feed_draws_each_step_from_its_time_alone(db: Engine, tmp_path: Path) -> None:
    started(db)
    assert fed(db, T1) == len(PUSHED) * 10
    twin = make_engine(f"sqlite:///{tmp_path / 'twin.db'}")  # the same demo, fed in two goes
    migrate.upgrade(twin)
    started(twin)
    assert fed(twin, T0 + timedelta(minutes=20)) == len(PUSHED) * 5
    assert fed(twin, T1) == len(PUSHED) * 5
    counts = fed_counts(twin)
    twin.dispose()
    assert len(counts) == len(PUSHED) * 10
    assert counts == fed_counts(db)


def test_the_feeder_feeds_the_demo_every_minute_and_logs_a_failure(
    db: Engine, settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    feeder = demo_feeder(db, settings)
    (job,) = feeder.get_jobs()
    assert job.func is feed_demo
    assert job.trigger.interval == timedelta(seconds=DEMO_FEED_SECONDS) == timedelta(minutes=1)
    assert job.args == (db, settings)

    # Its run: the demo fed up to the clock's time, and kept.
    clock = int(utcnow().timestamp())
    step = int(demo.STEP.total_seconds())
    started(db, at=datetime.fromtimestamp(clock - clock % step, UTC), layout=settings.layout)
    with Session(db) as session:
        seeded_until = {name: slo.data_until for name, slo in pushed(session).items()}
    feed_demo(db, settings)
    with Session(db) as session:
        for name, slo in pushed(session).items():
            seen = seeded_until[name]
            assert slo.data_until is not None
            assert seen is not None
            assert slo.data_until > seen, name

    unmigrated = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with caplog.at_level(logging.ERROR, logger="slo_service.scheduler"):
        feed_demo(unmigrated, settings)  # no tables: the feed fails, the job does not raise
    unmigrated.dispose()
    assert any(
        r.levelno == logging.ERROR and r.message.startswith("demo: feeding") for r in caplog.records
    )
