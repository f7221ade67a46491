"""Real ``slo-service serve`` replicas for the failure tests, and a notification receiver that
kills whoever sends it a chosen request before answering it.

A replica is a child process (``python -m slo_service serve``) with its own port and log
file; ``kill`` is SIGKILL (no shutdown, nothing recorded), ``stop`` a graceful SIGTERM. The
receiver is ``tests.support.receivers.Receiver`` (every request recorded with its headers and
exact body) with a hook run in the request's own thread before the answer: the test kills the
sender there, so the request is received and never answered, as when a replica dies between
sending a notification and recording its outcome.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.receivers import Receiver, Recorded, _Answer
from tests.support.servers import free_port


@dataclass
class Replica:
    """One ``serve`` process: its base URL, its process and where it logs."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: the process ends at once, with its leases held and nothing recorded."""
        self.process.kill()
        self.process.wait(timeout=30)

    def stop(self) -> bool:
        """A graceful stop (SIGTERM: uvicorn's shutdown, the scheduler waits for its jobs);
        whether it went through (uvicorn ends by raising the signal again: exit -15)."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        done = "Application shutdown complete" in self.log.read_text(errors="replace")
        return code in (0, -signal.SIGTERM) and done

    def tail(self, lines: int = 40) -> str:
        """The end of its log, for a failure's message."""
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join([f"--- {self.name} (pid {self.pid}) ---", *text[-lines:]])


def start(name: str, env: Mapping[str, str], workdir: Path) -> Replica:
    """Start ``serve`` on a free loopback port with exactly ``env`` as its SLO_ settings."""
    port = free_port()
    log = workdir / f"{name}.log"
    inherited = {key: value for key, value in os.environ.items() if not key.startswith("SLO_")}
    command = [sys.executable, "-m", "slo_service", "serve", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env={**inherited, **env}, stdout=out, stderr=subprocess.STDOUT
        )
    return Replica(name, f"http://127.0.0.1:{port}", process, log)


@contextmanager
def replicas(count: int, env: Mapping[str, str], workdir: Path) -> Iterator[list[Replica]]:
    """``count`` replicas started together; those still running are stopped at the end."""
    with ExitStack() as stack:
        started = []
        for index in range(count):
            replica = start(f"replica-{index}", env, workdir)
            stack.callback(_end, replica)
            started.append(replica)
        yield started


def _end(replica: Replica) -> None:
    if replica.alive():
        replica.process.kill()
        replica.process.wait(timeout=30)


def wait_healthy(replica: Replica, timeout: float = 60) -> None:
    """Until the replica answers ``/healthz`` (it has migrated and serves)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not replica.alive():
            raise AssertionError(f"{replica.name} exited\n{replica.tail()}")
        try:
            if httpx.get(f"{replica.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{replica.name} not serving after {timeout} s\n{replica.tail()}")


def until(condition: Callable[[], bool], seconds: float, step: float = 0.1) -> bool:
    """Poll ``condition`` until it holds or ``seconds`` pass; whether it held."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


class KillingReceiver(Receiver):
    """A receiver that hands the first request ``wanted`` accepts to ``on_request`` (in the
    request's thread, before any answer), then answers it and every other as ``Receiver``
    does. ``chosen`` is that request once it came."""

    def __init__(
        self, on_request: Callable[[Recorded], None], wanted: Callable[[Recorded], bool]
    ) -> None:
        super().__init__()
        self._on_request = on_request
        self._wanted = wanted
        self._lock = threading.Lock()
        self.chosen: Recorded | None = None

    def _take(self, request: Recorded) -> _Answer:
        with self._lock:
            first = self.chosen is None and self._wanted(request)
            if first:
                self.chosen = request
        if first:
            self._on_request(request)
        return super()._take(request)
