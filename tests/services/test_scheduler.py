"""Leases, concurrent workers and the scheduler in the app, against a real Prometheus."""

import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from slo_service.app import create_app
from slo_service.config import Settings
from slo_service.db import session_scope
from slo_service.domain.blocks import Layout
from slo_service.models import SLO
from slo_service.repositories import slos as slo_repo
from slo_service.schemas.slo import SLOCreate
from slo_service.services import evaluation, slos
from slo_service.sources.base import NoQueryChecker
from slo_service.sources.prometheus import PrometheusSource
from tests.services.test_evaluation import AVAILABILITY, at
from tests.support.metrics import Scenario

LAYOUT = Layout(60)


def make_slos(db: Engine, count: int, spec: dict[str, Any] = AVAILABILITY) -> list[int]:
    ids = []
    with session_scope(db) as session:
        for index in range(count):
            data = SLOCreate.model_validate(
                {"service": "churn", "name": f"s{index}", "objective": 0.99, "window": "1d", **spec}
            )
            slo = slos.create(session, slos.prepare(data, NoQueryChecker()), actor="tests")
            assert slo.id is not None
            ids.append(slo.id)
    return ids


def evaluated_until(db: Engine) -> set[Any]:
    with Session(db) as session:
        return set(session.exec(select(SLO.evaluated_until)).all())


def test_two_workers_evaluate_each_slo_once(
    db: Engine, scenario: Scenario, scenario_prometheus: str
) -> None:
    if db.dialect.name == "sqlite":
        pytest.skip("SQLite runs one process; replicas share a Postgres")
    ids = make_slos(db, 24)
    sources = {"prometheus": PrometheusSource(scenario_prometheus, timeout=10)}
    results: dict[str, list[evaluation.Outcome]] = {}
    barrier = threading.Barrier(2)

    def worker(owner: str) -> None:
        barrier.wait()
        results[owner] = evaluation.run_cycle(
            db, sources=sources, layout=LAYOUT, owner=owner, now=at(scenario.end + 60), batch=3
        )

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    evaluated = Counter(o.slo_id for outcomes in results.values() for o in outcomes)
    assert evaluated == Counter(ids)  # every SLO exactly once
    assert results["a"]
    assert results["b"]
    assert evaluated_until(db) == {at(scenario.end)}
    again = evaluation.run_cycle(
        db, sources=sources, layout=LAYOUT, owner="a", now=at(scenario.end + 60)
    )
    assert again == []  # nothing is due twice in a cycle


def test_a_dead_workers_lease_expires(
    db: Engine, scenario: Scenario, scenario_prometheus: str
) -> None:
    (slo_id,) = make_slos(db, 1)
    now = at(scenario.end + 60)
    with session_scope(db) as session:
        claimed = slo_repo.claim_due(
            session, due=now, owner="dead", now=now, lease=timedelta(minutes=5), limit=10
        )
    assert claimed == [slo_id]
    sources = {"prometheus": PrometheusSource(scenario_prometheus, timeout=10)}

    def cycle(minutes: int) -> list[evaluation.Outcome]:
        return evaluation.run_cycle(
            db, sources=sources, layout=LAYOUT, owner="alive", now=now + timedelta(minutes=minutes)
        )

    assert cycle(1) == []  # still leased to the dead worker
    taken_over = cycle(6)
    assert [o.slo_id for o in taken_over] == [slo_id]
    assert taken_over[0].ok


def test_the_app_evaluates_new_slos_in_the_background(
    db: Engine, settings: Settings, scenario_prometheus: str, make_token: Callable[..., Any]
) -> None:
    live = settings.model_copy(
        update={
            "scheduler": True,
            "evaluation_interval_seconds": 5,
            "prometheus_url": scenario_prometheus,
        }
    )
    make_slos(db, 2)
    with TestClient(create_app(live, engine=db)):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with Session(db) as session:
                pending = session.exec(select(SLO).where(col(SLO.last_success_at).is_(None))).all()
            if not pending:
                break
            time.sleep(0.3)
    assert not pending, "the scheduler did not evaluate the SLOs"
    with Session(db) as session:
        rows = session.exec(select(SLO)).all()
    assert all(row.lease_owner is None and row.last_error is None for row in rows)
