"""``slo-service demo-exporter``: simulated ml_* metrics of two demo models, with incidents."""

import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType
from typing import Annotated, Any

import typer

from slo_service.cli.common import fail
from slo_service.demo.exporter import DemoExporter
from slo_service.demo.simulation import MODELS, Incident, Simulator
from slo_service.domain.windows import parse_duration

_Handler = Callable[[int, FrameType | None], Any] | int


def demo_exporter(
    port: Annotated[int, typer.Option(help="Port to serve /metrics on.")] = 9105,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "0.0.0.0",
    incident_every: Annotated[
        str, typer.Option(help="How often an incident starts, e.g. 10m or 1h; it lasts half.")
    ] = "10m",
    seed: Annotated[int, typer.Option(help="Seed of the traffic and of the incidents.")] = 1,
) -> None:
    """Serve realistic ml_* metrics of two demo models on /metrics until interrupted.

    churn-model and fraud-model serve two versions each, with a daily traffic cycle; every
    INCIDENT_EVERY one of them has an incident (errors, latency, accuracy, stalled features
    or a rollback), the first two minutes after the start. Each incident is printed.
    """
    try:
        every = parse_duration(incident_every).total_seconds()
    except ValueError as exc:
        raise fail(f"error: --incident-every: {exc}") from None
    if every <= 0:
        raise fail("error: --incident-every: must be longer than 0")
    simulator = Simulator(start=time.time(), every=every, seed=seed)
    stop = threading.Event()
    exporter = DemoExporter(simulator, host=host, port=port, on_incident=_announce)
    try:
        exporter.start()
    except OSError as exc:
        raise fail(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    previous = _stop_on_sigterm(stop)
    try:
        models = ", ".join(f"{m.name} ({' and '.join(m.versions)})" for m in MODELS)
        typer.echo(f"demo-exporter: serving {models} on http://{host}:{exporter.port}/metrics")
        first = simulator.incident(0)
        typer.echo(
            f"demo-exporter: an incident every {incident_every}, lasting "
            f"{simulator.duration / 60:g} min; the first ({first.kind} on {first.model}) "
            f"at {_clock(first.start)}"
        )
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        exporter.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    typer.echo("demo-exporter: stopped")


def _stop_on_sigterm(stop: threading.Event) -> _Handler | None:
    """Stop on SIGTERM too: as a container's PID 1 the process has no default action for it.
    Returns the handler to restore (None when not in the main thread, where none is set)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, handle)
    return signal.SIG_DFL if previous is None else previous


def _announce(incident: Incident, started: bool) -> None:
    if started:
        typer.echo(f"demo-exporter: {incident.describe()} started, until {_clock(incident.end)}")
    else:
        typer.echo(f"demo-exporter: {incident.describe()} ended")


def _clock(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%H:%M:%S UTC")
