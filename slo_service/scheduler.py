"""Periodic evaluation and notification delivery with APScheduler 3: inside ``serve``, or
alone as ``slo-service worker``; and, for ``serve --demo``, the demo's feed.

Every replica runs the same jobs; row leases (``services.evaluation.run_cycle``,
``services.notifications.Sender``) make each SLO evaluated once per cycle and each
notification sent by one replica, whatever the replica count.
"""

import logging
import os
import socket
import uuid
from collections.abc import Callable, Mapping
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import Engine

from slo_service.config import Settings
from slo_service.db import session_scope, utcnow
from slo_service.demo import seed as demo
from slo_service.domain.alerts import Backoff
from slo_service.notify.base import Notifier
from slo_service.services import evaluation
from slo_service.services.alerting.delivery import Sender, lease_for
from slo_service.services.drift import predictions as prediction_drift
from slo_service.services.metrics import EVALUATION_SECONDS, EVALUATIONS, NOTIFICATIONS
from slo_service.services.performance import log as prediction_log
from slo_service.sources.base import SliSource

log = logging.getLogger(__name__)
NOTIFY_BATCH = 10  # notifications a sender claims at a time
DEMO_FEED_SECONDS = 60  # how often ``serve --demo`` feeds its demo
PRUNE_SECONDS = 3600  # how often the prediction log drops what is past its retention
PREDICTION_DRIFT_SECONDS = 300  # how often ended hours of predictions are measured


def owner_id() -> str:
    """Names this process in leases: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def cycle(engine: Engine, sources: Mapping[str, SliSource], settings: Settings, owner: str) -> None:
    interval = timedelta(seconds=settings.evaluation_interval_seconds)
    lease = max(5 * interval, timedelta(minutes=5))
    if settings.evaluation_lease_seconds is not None:
        lease = timedelta(seconds=settings.evaluation_lease_seconds)
    with EVALUATION_SECONDS.time():
        outcomes = evaluation.run_cycle(
            engine,
            sources=sources,
            layout=settings.layout,
            owner=owner,
            lease=lease,
            retry_after=interval / 2,
        )
    failed = [o for o in outcomes if not o.ok]
    EVALUATIONS.labels("ok").inc(len(outcomes) - len(failed))
    EVALUATIONS.labels("error").inc(len(failed))
    if outcomes:
        log.info("evaluated %d SLOs, %d failed", len(outcomes), len(failed))


def sender(engine: Engine, notifiers: Mapping[str, Notifier], settings: Settings) -> Sender:
    """What delivers the outbox in this process (every replica runs one; leases share out)."""
    return Sender(
        engine,
        notifiers,
        base_url=str(settings.public_base_url),
        owner=owner_id(),
        lease=lease_for(NOTIFY_BATCH, settings.notify_timeout_seconds),
        batch=NOTIFY_BATCH,
        backoff=Backoff(
            base=timedelta(seconds=settings.notify_backoff_seconds),
            max_attempts=settings.notify_max_attempts,
        ),
        on_result=lambda channel, outcome: NOTIFICATIONS.labels(channel, outcome).inc(),
    )


def deliver(notify: Sender) -> None:
    counts = notify.run_once()
    if any(counts.values()):
        log.info("notifications: %s", ", ".join(f"{n} {kind}" for kind, n in counts.items()))


def prune(engine: Engine, settings: Settings) -> None:
    """Drop predictions past their retention and labels that waited too long."""
    with session_scope(engine) as session:
        predictions, labels = prediction_log.prune(
            session, now=utcnow(), limits=prediction_log.limits_of(settings)
        )
    if predictions or labels:
        log.info("pruned %d predictions and %d waiting labels", predictions, labels)


def measure_predictions(engine: Engine, settings: Settings) -> None:
    """Measure the ended hours of logged predictions against their prediction references."""
    hours = prediction_drift.measure_due(engine, now=utcnow(), layout=settings.layout)
    if hours:
        log.info("measured the prediction drift of %d hours", hours)


def schedule(
    engine: Engine,
    sources: Mapping[str, SliSource],
    notifiers: Mapping[str, Notifier],
    settings: Settings,
    *,
    blocking: bool = False,
) -> BaseScheduler:
    """A scheduler with the evaluation, delivery, pruning and prediction-drift jobs, first
    run now; the caller starts it."""
    scheduler: BaseScheduler = BlockingScheduler() if blocking else BackgroundScheduler()
    jobs: list[tuple[str, Callable[..., None], float, tuple[object, ...]]] = [
        ("evaluate", cycle, settings.evaluation_interval_seconds,
         (engine, sources, settings, owner_id())),
        ("notify", deliver, settings.notify_interval_seconds,
         (sender(engine, notifiers, settings),)),
        ("prune", prune, PRUNE_SECONDS, (engine, settings)),
        ("prediction-drift", measure_predictions, PREDICTION_DRIFT_SECONDS, (engine, settings)),
    ]  # fmt: skip
    for name, job, seconds, args in jobs:
        # One run at a time per job; a run missed while one ran is not run twice.
        scheduler.add_job(
            job, "interval", seconds=seconds, args=args, id=name, max_instances=1,
            coalesce=True, next_run_time=utcnow(),
        )  # fmt: skip
    return scheduler


def feed_demo(engine: Engine, settings: Settings) -> None:
    """Continue the demo's data up to now (``services.demo.feed``) in a transaction of its
    own; a failure is logged, and the next run catches up."""
    try:
        with session_scope(engine) as session:
            recorded = demo.feed(session, now=utcnow(), layout=settings.layout)
    except Exception:
        log.exception("demo: feeding %s failed; the next run catches up", demo.SERVICE)
        return
    if recorded:
        log.info("demo: fed %d events to %s", recorded, demo.SERVICE)


def demo_feeder(engine: Engine, settings: Settings) -> BaseScheduler:
    """A scheduler with the demo's feed, every minute, first run now; the caller starts it.
    It runs apart from the evaluation's (``SLO_SCHEDULER``): the demo's data keeps coming
    whatever process evaluates it."""
    scheduler = BackgroundScheduler()
    scheduler.add_job(
        feed_demo,
        "interval",
        seconds=DEMO_FEED_SECONDS,
        args=(engine, settings),
        id="demo-feed",
        max_instances=1,
        coalesce=True,
        next_run_time=utcnow(),
    )
    return scheduler
