"""``serve --demo``: one model with an SLO of each ML kind: 30 days of pushed events, a drift
store with a reference and a week of batches every two hours, and a week of logged predictions
with their labels a day later (``demo.predictions``).

The data is synthetic but shaped like production: a daily cycle, a steady error rate well
inside every objective, and one incident three days ago that burns a visible part of each
budget; during it the batches' age feature drifts and their income goes missing more often.

While ``serve --demo`` runs, ``feed`` keeps the demo alive (the scheduler calls it every
minute): it continues the events of the push SLOs up to now and the batches every two hours,
healthy, so no SLO of the demo goes silent and raises its no-data ticket. Each step is drawn
from its own time and stored under its own id, so feeding again records nothing twice.
"""

import math
import random
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlmodel import Session

from slo_service.demo import predictions as demo_predictions
from slo_service.domain import drift_columns
from slo_service.domain.blocks import Layout, epoch, instant
from slo_service.domain.budget import Counts
from slo_service.domain.drift_columns import FeatureType
from slo_service.domain.kinds import Kind
from slo_service.repositories import drift as drift_repo
from slo_service.repositories import slos as slo_repo
from slo_service.schemas.slo import SLOCreate
from slo_service.services import events, slos
from slo_service.services.drift import store as drift
from slo_service.sources.base import NoQueryChecker, QueryChecker

SERVICE = "demo-churn-model"
STEP = timedelta(minutes=5)
DAYS = 30
INCIDENT_AGO = timedelta(days=3)
INCIDENT_LENGTH = timedelta(minutes=90)

DEMO_SLOS: list[dict[str, object]] = [
    {"name": "availability", "kind": "availability", "objective": 0.999, "window": "30d",
     "description": "Predictions that return a valid answer."},
    {"name": "latency-p95-500ms", "kind": "latency", "objective": 0.95, "window": "7d",
     "params": {"threshold_ms": 500}, "description": "Predictions served under 500 ms."},
    {"name": "model-freshness", "kind": "model_freshness", "objective": 0.99, "window": "30d",
     "description": "Time the latest model version is serving."},
    {"name": "accuracy", "kind": "accuracy", "objective": 0.95, "window": "7d",
     "params": {"baseline": 0.91, "tolerance": 0.05},
     "description": "Time accuracy stays within 5% of the validation baseline."},
    {"name": "data-freshness", "kind": "data_freshness", "objective": 0.99, "window": "7d",
     "params": {"max_age_minutes": 30}, "description": "Time features are under 30 minutes old."},
]  # fmt: skip
DRIFT_SLO: dict[str, object] = {
    "name": "feature-drift", "kind": "drift", "objective": 0.95, "window": "7d",
    "params": {"thresholds": {"age": 0.25}, "default_threshold": 0.2},
    "description": "Batches whose every feature stays under its PSI threshold.",
}  # fmt: skip
BATCH_EVERY = timedelta(hours=2)
BATCH_ROWS = 2_000
BATCH_DAYS = 7  # the drift store the seed makes, and the most a feed catches up


def seed(
    session: Session, *, now: datetime, layout: Layout, checker: QueryChecker | None = None
) -> bool:
    """Create the demo on an empty database; returns False (and does nothing) otherwise."""
    if slo_repo.any_exist(session):
        return False
    checker = checker or NoQueryChecker()
    rng = random.Random(20261123)
    end = now.replace(second=0, microsecond=0) - timedelta(minutes=now.minute % 5)
    for spec in DEMO_SLOS:
        data = SLOCreate.model_validate(
            {**spec, "service": SERVICE, "sli": {"source": "push"}, "labels": {"team": "demo"}}
        )
        slo = slos.create(session, slos.prepare(data, checker), actor="demo")
        assert slo.id is not None
        events.record(session, slo.id, list(_events(Kind(data.kind), end, rng)), layout=layout)
    for spec in (DRIFT_SLO, *demo_predictions.SLOS):
        data = SLOCreate.model_validate({**spec, "service": SERVICE, "labels": {"team": "demo"}})
        slos.create(session, slos.prepare(data, checker), actor="demo")
    _drift_store(session, end, layout=layout)
    incident = (end - INCIDENT_AGO, end - INCIDENT_AGO + INCIDENT_LENGTH)
    demo_predictions.seed(session, SERVICE, end=end, incident=incident, layout=layout)
    return True


def feed(session: Session, *, now: datetime, layout: Layout) -> int:
    """Continue the demo up to ``now``; returns how many events it recorded.

    Each push SLO of the demo gets the 5-minute steps after its last bucket with data
    (``data_until``) up to ``now`` aligned down to the step; the drift store gets a batch for
    every two-hour mark after its latest batch. All healthy (no incident), each step's counts
    drawn from a generator seeded by its time, under the seed's ids (``demo-<epoch>``): a
    repeated feed records nothing twice. A demo left stopped catches up at most the seed's
    span (``DAYS`` of events, ``BATCH_DAYS`` of batches)."""
    last = _aligned(now)
    oldest = last - timedelta(days=DAYS) + STEP
    width = timedelta(seconds=layout.bucket_seconds)
    recorded = 0
    for slo in slo_repo.live_in_services(session, [SERVICE]):
        if slo.id is None or slo.sli.get("source") != "push":
            continue
        # ``data_until`` ends the last bucket with data: the steps after that bucket's start
        # are new, but for those already there (ignored by their ids) when a bucket holds many.
        first = oldest
        if slo.data_until is not None:
            first = max(first, _aligned(slo.data_until - width) + STEP)
        steps = list(_fed(Kind(slo.kind), first, last))
        if steps:
            recorded += events.record(session, slo.id, steps, layout=layout)
    _feed_drift(session, now=now, layout=layout)
    demo_predictions.feed(session, SERVICE, now=now)
    return recorded


def _aligned(at: datetime) -> datetime:
    """The start of the 5-minute step holding ``at``."""
    stamp = epoch(at)
    return instant(stamp - stamp % int(STEP.total_seconds()))


def _fed(kind: Kind, first: datetime, last: datetime) -> Iterator[tuple[str, datetime, Counts]]:
    """Healthy steps from ``first`` to ``last`` included, each the same whenever drawn."""
    at = first
    while at <= last:
        good, total = _counts(kind, at, False, random.Random(epoch(at)))
        yield f"demo-{epoch(at)}", at, Counts(good, total)
        at += STEP


def _feed_drift(session: Session, *, now: datetime, layout: Layout) -> None:
    """A healthy batch at every two-hour mark after the service's latest batch, up to ``now``,
    on the seed's marks (a store without batches starts at ``now``'s step)."""
    if drift_repo.latest_reference(session, SERVICE) is None:
        return
    latest = drift_repo.latest_batch_at(session, SERVICE)
    at = _aligned(now) if latest is None else latest + BATCH_EVERY
    oldest = now - timedelta(days=BATCH_DAYS)
    if at <= oldest:
        at += ((oldest - at) // BATCH_EVERY + 1) * BATCH_EVERY
    if at > now:
        return
    types = drift.reference_types(session, SERVICE)
    while at <= now:
        rng = np.random.default_rng(epoch(at))
        _batch(session, at, rng, types, drifting=False, now=now, layout=layout)
        at += BATCH_EVERY


def _batch(
    session: Session,
    at: datetime,
    rng: np.random.Generator,
    types: Mapping[str, FeatureType],
    *,
    drifting: bool,
    now: datetime,
    layout: Layout,
) -> None:
    """One production batch of the demo model, observed at ``at``."""
    columns = drift_columns.from_json(_features(BATCH_ROWS, rng, drifting=drifting), types)
    drift.ingest_batch(
        session, SERVICE, columns, observed_at=at, batch_key=f"demo-{epoch(at)}",
        now=now, layout=layout,
    )  # fmt: skip


def _features(rows: int, rng: np.random.Generator, *, drifting: bool) -> dict[str, list[Any]]:
    income = rng.lognormal(10.5, 0.6, rows).round(2).tolist()
    missing = rng.random(rows) < (0.3 if drifting else 0.01)
    return {
        "age": rng.normal(53 if drifting else 41, 12, rows).round(1).tolist(),
        "income": [None if gone else value for gone, value in zip(missing, income, strict=True)],
        "country": rng.choice(["de", "fr", "us", "uk"], rows, p=[0.4, 0.3, 0.2, 0.1]).tolist(),
    }


def _drift_store(session: Session, end: datetime, *, layout: Layout) -> None:
    """A reference, then a batch every two hours for the drift SLO's window."""
    rng = np.random.default_rng(20261201)
    reference = drift_columns.from_json(_features(20_000, rng, drifting=False), {})
    drift.create_reference(session, SERVICE, reference, bins=10, actor="demo")
    types = drift.reference_types(session, SERVICE)
    incident = (end - INCIDENT_AGO, end - INCIDENT_AGO + INCIDENT_LENGTH + BATCH_EVERY)
    at = end - timedelta(days=BATCH_DAYS) + BATCH_EVERY
    while at < end:
        drifting = incident[0] <= at < incident[1]
        _batch(session, at, rng, types, drifting=drifting, now=end, layout=layout)
        at += BATCH_EVERY


def _events(
    kind: Kind, end: datetime, rng: random.Random
) -> Iterator[tuple[str, datetime, Counts]]:
    start = end - timedelta(days=DAYS)
    incident = (end - INCIDENT_AGO, end - INCIDENT_AGO + INCIDENT_LENGTH)
    at = start
    while at < end:
        in_incident = incident[0] <= at < incident[1]
        good, total = _counts(kind, at, in_incident, rng)
        yield f"demo-{int(at.timestamp())}", at, Counts(good, total)
        at += STEP


def _counts(kind: Kind, at: datetime, in_incident: bool, rng: random.Random) -> tuple[float, float]:
    """(good, total) of one 5-minute step: requests for occurrences, minutes for timeslices."""
    if kind in (Kind.AVAILABILITY, Kind.LATENCY):
        daily = 1 + 0.6 * math.sin(2 * math.pi * (at.hour * 60 + at.minute) / 1440)
        total = float(round(600 * daily * rng.uniform(0.9, 1.1)))
        bad_rate = 0.0004 if kind is Kind.AVAILABILITY else 0.02
        if in_incident:
            bad_rate = 0.12 if kind is Kind.AVAILABILITY else 0.4
        mean = total * bad_rate
        bad = float(min(total, max(0, round(rng.gauss(mean, math.sqrt(mean * (1 - bad_rate)))))))
        return total - bad, total
    minutes = STEP.total_seconds() / 60
    return (0.0 if in_incident else minutes), minutes
