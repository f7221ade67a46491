"""``/metrics``: every SLO's numbers as Prometheus gauges, and the service's own health.

The SLO gauges come from the summaries evaluation keeps on each SLO (one read per render),
so a render costs the same whatever the windows; nothing is recomputed from buckets. Each
process keeps its last render for ``SLO_METRICS_CACHE_SECONDS`` (``KeptSloGauges``): however
many Prometheus replicas scrape it, every SLO is read once per interval. The process's own
health (``HEALTH``) is rendered at every scrape, so its counters are always live.
"""

import threading
import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from sqlmodel import Session

from slo_service.db import utcnow
from slo_service.domain.blocks import Layout
from slo_service.domain.summary import Summary
from slo_service.repositories import alerts as alert_repo
from slo_service.repositories import policy as policy_repo
from slo_service.repositories import slos as slo_repo
from slo_service.services.evaluation import due_until

# The process's own health, shared by every app of the process (the scheduler updates it).
HEALTH = CollectorRegistry(auto_describe=True)
EVALUATION_SECONDS = Histogram(
    "slo_service_evaluation_cycle_seconds",
    "Duration of one evaluation cycle of this process.",
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
    registry=HEALTH,
)
EVALUATIONS = Counter(
    "slo_service_evaluations",
    "SLO evaluations by this process, by outcome (ok or error).",
    ["outcome"],
    registry=HEALTH,
)

NOTIFICATIONS = Counter(
    "slo_service_notifications",
    "Notification delivery tries by this process, by channel type and outcome (delivered, "
    "retry or dead).",
    ["channel", "outcome"],
    registry=HEALTH,
)

HTTP_SECONDS = Histogram(
    "slo_service_http_request_duration_seconds",
    "Time to answer an HTTP request, by method, route (its template, e.g. /api/v1/slos/{ref})"
    " and status code.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=HEALTH,
)

METRICS_RENDER_SECONDS = Histogram(
    "slo_service_metrics_render_seconds",
    "Time to render the SLO gauges of /metrics from the database; its count is the number of "
    "renders (at most one per SLO_METRICS_CACHE_SECONDS, whoever scrapes).",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=HEALTH,
)

_SLO_LABELS = ["service", "slo", "kind"]


class SloCollector(Collector):
    """Gauges of every live SLO and service, read from the database at each scrape."""

    def __init__(self, engine: Engine, layout: Layout) -> None:
        self.engine, self.layout = engine, layout

    def collect(self) -> Iterator[Metric]:
        now = utcnow()
        with Session(self.engine) as session:
            slos = slo_repo.live(session)
            frozen = policy_repo.active_freezes_of(session, sorted({s.service for s in slos}))
            due = slo_repo.count_due(session, due=due_until(now, self.layout), now=now)
            pending = alert_repo.backlog(session)
        gauges = {
            name: GaugeMetricFamily(f"slo_{name}", text, labels=[*_SLO_LABELS, *extra])
            for name, text, extra in _GAUGES
        }
        for slo in slos:
            labels = [slo.service, slo.name, slo.kind]
            gauges["objective"].add_metric(labels, slo.objective)
            summary = Summary.of(slo.summary)
            if summary is None:
                continue
            for name, value in (
                ("sli", summary.sli),
                ("error_budget_remaining", summary.remaining),
            ):
                if value is not None:
                    gauges[name].add_metric(labels, value)
            for window, rate in summary.burn_rates.items():
                if rate is not None:
                    gauges["burn_rate"].add_metric([*labels, window], rate)
            for tier in summary.tiers:
                tier_key = [tier.severity, tier.long_window, tier.short_window]
                gauges["alert_firing"].add_metric([*labels, *tier_key], float(tier.firing))
            at = summary.evaluated_at.timestamp()
            gauges["evaluated_timestamp_seconds"].add_metric(labels, at)
        yield from gauges.values()
        services = GaugeMetricFamily(
            "slo_service_frozen",
            "1 while deploys of the service are frozen, by cause (budget or manual).",
            labels=["service", "cause"],
        )
        for service in sorted({s.service for s in slos}):
            causes = {f.cause for f in frozen.get(service, [])}
            for cause in ("budget", "manual"):
                services.add_metric([service, cause], float(cause in causes))
        yield services
        yield GaugeMetricFamily(
            "slo_service_evaluations_due",
            "SLOs due for evaluation and not leased by any replica (the evaluation backlog).",
            value=due,
        )
        yield GaugeMetricFamily(
            "slo_service_notifications_pending",
            "Notifications in the outbox not delivered (nor dead) yet (the delivery backlog).",
            value=pending,
        )


_GAUGES: tuple[tuple[str, str, list[str]], ...] = (
    ("objective", "The SLO's objective, e.g. 0.999.", []),
    ("sli", "The SLI over the SLO's window at its last evaluation.", []),
    ("error_budget_remaining", "Fraction of the error budget left; negative when overspent.", []),
    ("burn_rate", "Burn rate over a window (5m ... 3d, and the SLO's whole window).", ["window"]),
    (
        "alert_firing",
        "1 while a burn-rate tier fires, by severity and its effective long and short windows "
        "(scaled to the SLO's window).",
        ["severity", "long_window", "short_window"],
    ),
    ("evaluated_timestamp_seconds", "When the SLO was last evaluated successfully.", []),
)


def registry_for(engine: Engine, layout: Layout) -> CollectorRegistry:
    """The SLO gauges of the app's database (the process's own health is in ``HEALTH``)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SloCollector(engine, layout))
    return registry


class KeptSloGauges:
    """The SLO gauges as this process rendered them last, answered for ``ttl`` seconds (0:
    render every time): a render reads every SLO (seconds at 10,000), and it is the same for
    every scraper. One render runs at a time; scrapes that come meanwhile wait for its copy
    instead of reading every SLO again."""

    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry, self.ttl, self.clock = registry, ttl, clock
        self._kept: tuple[float, bytes] | None = None  # (when its render started, the text)
        self._lock = threading.Lock()

    def text(self) -> bytes:
        """The gauges in Prometheus text format, at most ``ttl`` seconds old."""
        with self._lock:
            if self._kept is not None and self.clock() - self._kept[0] < self.ttl:
                return self._kept[1]
            # Its age counts from the start: the rows it shows were read after this.
            started = self.clock()
            with METRICS_RENDER_SECONDS.time():
                text = generate_latest(self.registry)
            self._kept = (started, text)
            return text
