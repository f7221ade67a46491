"""A real ``slo-service worker`` killed in the middle of a delivery, and another one started:
nothing is lost, and the message sent twice carries one idempotency key (both backends)."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from tests.services.test_delivery import enqueue, route_to, rows
from tests.support.receivers import LOOPBACK_NETWORKS, Receiver

TIMEOUT = 0.5  # SLO_NOTIFY_TIMEOUT_SECONDS: the lease is then 2 x 10 x 0.5 + 5 = 15 s


@contextmanager
def worker(db: Engine, prometheus: str) -> Iterator[subprocess.Popen[str]]:
    env = {
        **os.environ,
        "SLO_DATABASE_URL": db.url.render_as_string(hide_password=False),
        "SLO_PROMETHEUS_URL": prometheus,
        "SLO_EVALUATION_INTERVAL_SECONDS": "3600",
        "SLO_NOTIFY_INTERVAL_SECONDS": "0.2",
        "SLO_NOTIFY_TIMEOUT_SECONDS": str(TIMEOUT),
        "SLO_NOTIFY_ALLOWED_NETWORKS": LOOPBACK_NETWORKS,  # the receiver is on loopback
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "slo_service", "worker"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)


def until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_a_killed_worker_loses_nothing(db: Engine, closed_port_url: str) -> None:
    with Receiver() as hook:
        enqueue(db, route_to(db, hook), count=3)
        hook.respond(200, delay=5 * TIMEOUT)  # the first send hangs: the worker dies in it
        with worker(db, closed_port_url) as first:
            assert until(lambda: len(hook.requests) == 1, 30), "the worker sent nothing"
            first.kill()  # SIGKILL: no shutdown, no chance to record anything
            first.wait(timeout=10)
        assert [r.state for r in rows(db)] == ["pending"] * 3
        assert all(r.lease_owner for r in rows(db)[:1])  # held by the dead worker
        with worker(db, closed_port_url) as second:
            delivered = until(lambda: {r.state for r in rows(db)} == {"delivered"}, 60)
            assert delivered, second.stdout.read() if second.stdout and second.poll() else rows(db)
        keys = [r.headers["idempotency-key"] for r in hook.requests]
        assert sorted(set(keys)) == sorted(r.idempotency_key for r in rows(db))
        assert keys.count(keys[0]) == 2  # the one in flight was sent again, with its key
        assert len(keys) == 4
