"""A demo model exporter: ``slo-service demo-exporter`` serves the simulation's ml_* metrics
(``demo.simulation``) on ``/metrics`` for the docker-compose demo, so that the SLOs of
``deploy/slos.yaml`` have something to measure and budgets burn within minutes.

:class:`SimulatorCollector` turns the simulator's state into metric families and
:class:`DemoExporter` is the only I/O: a thread that ticks every second and an HTTP server.
"""

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Self
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from slo_service.demo.simulation import (
    BUCKETS,
    DAY,
    Incident,
    IncidentKind,
    Simulator,
)
from slo_service.domain import kinds

log = logging.getLogger(__name__)


def _le(bound: float) -> str:
    """A bucket bound as prometheus-client spells it: 0.5, 1.0, +Inf."""
    return "+Inf" if math.isinf(bound) else repr(float(bound))


class SimulatorCollector(Collector):
    """The simulator's state as Prometheus metric families, read at each scrape."""

    def __init__(self, simulator: Simulator) -> None:
        self._simulator = simulator

    def collect(self) -> Iterator[Metric]:
        simulator = self._simulator
        snap = simulator.snapshot()
        predictions = CounterMetricFamily(
            kinds.PREDICTIONS,
            "Predictions served, by model, version and outcome (ok or error).",
            labels=["model_name", "model_version", "status"],
        )
        for (model, version, status), count in snap.predictions.items():
            predictions.add_metric([model, version, status], count)
        yield predictions

        latency = HistogramMetricFamily(
            kinds.LATENCY_HISTOGRAM,
            "Time to answer one prediction, in seconds.",
            labels=["model_name", "model_version"],
        )
        for (model, version), counts in snap.latency_buckets.items():
            cumulative, total = [], 0
            for bound, count in zip((*BUCKETS, math.inf), counts, strict=True):
                total += count
                cumulative.append((_le(bound), float(total)))
            latency.add_metric([model, version], cumulative, snap.latency_sum[model, version])
        yield latency

        is_latest = GaugeMetricFamily(
            kinds.MODEL_IS_LATEST,
            "1 while the newest version in the model registry serves, else 0.",
            labels=["model_name"],
        )
        deployed = GaugeMetricFamily(
            kinds.MODEL_DEPLOYED_AT,
            "When the serving version was deployed (Unix time).",
            labels=["model_name", "model_version"],
        )
        for spec in simulator.models:
            serving = snap.serving[spec.name]
            is_latest.add_metric([spec.name], float(spec.latest in serving))
            for number, version in enumerate(spec.versions):
                if version in serving:
                    deployed_at = simulator.start - spec.deployed_days_ago[number] * DAY
                    deployed.add_metric([spec.name, version], deployed_at)
        yield is_latest
        yield deployed

        accuracy = GaugeMetricFamily(
            kinds.MODEL_ACCURACY,
            "Accuracy of the model on the labelled feedback of the last hour.",
            labels=["model_name"],
        )
        for model, value in snap.accuracy.items():
            accuracy.add_metric([model], value)
        yield accuracy

        updated = GaugeMetricFamily(
            kinds.FEATURE_UPDATED_AT,
            "When the model's features were last refreshed in the feature store (Unix time).",
            labels=["model_name"],
        )
        for model, at in snap.feature_updated_at.items():
            updated.add_metric([model], at)
        yield updated

        psi = GaugeMetricFamily(
            "ml_feature_psi",
            "Population stability index of the feature in the latest batch vs the reference.",
            labels=["model_name", "feature_name"],
        )
        for (model, feature), value in snap.psi.items():
            psi.add_metric([model, feature], value)
        yield psi

        active = GaugeMetricFamily(
            "demo_incident_active",
            "1 while the demo exporter simulates an incident of this kind on this model.",
            labels=["model_name", "kind"],
        )
        for spec in simulator.models:
            for kind in IncidentKind:
                on = snap.incident is not None and (snap.incident.model, snap.incident.kind) == (
                    spec.name,
                    kind,
                )
                active.add_metric([spec.name, str(kind)], float(on))
        yield active


class DemoExporter:
    """Serves a simulator's metrics on ``http://host:port/metrics`` and ticks it every
    ``tick_seconds`` with ``clock``; ``on_incident(incident, started)`` is told when an
    incident starts and ends. Use as a context manager, or call start() and stop()."""

    def __init__(
        self,
        simulator: Simulator,
        *,
        host: str = "0.0.0.0",
        port: int = 9105,
        tick_seconds: float = 1.0,
        clock: Callable[[], float] = time.time,
        on_incident: Callable[[Incident, bool], None] | None = None,
    ) -> None:
        self.simulator = simulator
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(SimulatorCollector(simulator))
        self._host, self._port = host, port
        self._tick_seconds = tick_seconds
        self._clock = clock
        self._on_incident = on_incident
        self._stop = threading.Event()
        self._server: WSGIServer | None = None
        self._threads: list[threading.Thread] = []

    @property
    def port(self) -> int:
        """The port it listens on (the one the system chose when given 0)."""
        if self._server is None:
            raise RuntimeError("the exporter is not started")
        return int(self._server.server_port)

    def start(self) -> None:
        self.simulator.tick(self._clock())
        server, server_thread = start_http_server(self._port, self._host, self.registry)
        self._server = server
        ticker = threading.Thread(target=self._run, name="demo-exporter-ticker", daemon=True)
        ticker.start()
        self._threads = [server_thread, ticker]

    def _run(self) -> None:
        current: Incident | None = None
        while not self._stop.wait(self._tick_seconds):
            try:
                incident = self.simulator.tick(self._clock())
            except Exception:  # a bad tick must not freeze the metrics for good
                log.exception("demo exporter: tick failed")
                continue
            if incident != current and self._on_incident is not None:
                if current is not None:
                    self._on_incident(current, False)
                if incident is not None:
                    self._on_incident(incident, True)
            current = incident

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=10)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
