"""``/metrics``: every SLO's numbers as Prometheus gauges, and the service's own health.

The SLO gauges come from the summaries evaluation keeps on each SLO (one read per render),
so a render costs the same whatever the windows; nothing is recomputed from buckets. Each
process keeps its last render for ``SLO_METRICS_CACHE_SECONDS`` (``KeptSloGauges``): however
many Prometheus replicas scrape it, every SLO is read once per interval. The process's own
health (``HEALTH``) is rendered at every scrape, so its counters are always live.

At 10,000 SLOs a render is 160,000 samples: it reads only the columns the gauges show and
writes the text format itself (``services.exposition``, byte for byte what prometheus_client
would write), reading from each kept summary the fields it shows by name (a field renamed in
``domain.summary`` fails the render instead of reading as nothing).
"""

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Set
from datetime import datetime
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Counter, Histogram
from sqlalchemy import Engine
from sqlmodel import Session

from slo_service.db import utcnow
from slo_service.domain.blocks import Layout
from slo_service.repositories import alerts as alert_repo
from slo_service.repositories import policy as policy_repo
from slo_service.repositories import slos as slo_repo
from slo_service.services.evaluation import due_until
from slo_service.services.exposition import LabelValues, header, number

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


class SloGauges:
    """The gauges of every live SLO and service, read from the database at each render."""

    def __init__(self, engine: Engine, layout: Layout) -> None:
        self.engine, self.layout = engine, layout

    def render(self) -> bytes:
        """The SLO gauges in the Prometheus text format."""
        now = utcnow()
        with Session(self.engine) as session:
            rows = slo_repo.gauge_rows(session)
            frozen = policy_repo.active_freeze_causes(session)
            due = slo_repo.count_due(session, due=due_until(now, self.layout), now=now)
            pending = alert_repo.backlog(session)
        services = sorted({row.service for row in rows})
        return text_of(rows, services, frozen, due=due, pending=pending).encode()


def text_of(
    rows: Iterable[slo_repo.GaugeRow],
    services: Iterable[str],
    frozen: Mapping[str, Set[str]],
    *,
    due: int,
    pending: int,
) -> str:
    """The families of the SLO gauges: each live SLO's (``rows``, by id), each service's
    freezes by cause (``frozen``: causes in force; ``services`` in name order), and the two
    backlogs. Label names are written in name order, as prometheus_client sorts them."""
    lines = {name: [header(f"slo_{name}", text)] for name, text in _GAUGES}
    objective, sli, remaining = lines["objective"], lines["sli"], lines["error_budget_remaining"]
    burn_rate, firing = lines["burn_rate"], lines["alert_firing"]
    evaluated = lines["evaluated_timestamp_seconds"]
    escaped = LabelValues()
    for service, name, kind, target, stored in rows:
        k, s, n = escaped[kind], escaped[service], escaped[name]
        labels = f'kind="{k}",service="{s}",slo="{n}"'
        objective.append(f"slo_objective{{{labels}}} {number(target)}\n")
        kept = _decoded(stored)
        if kept is None:  # never evaluated successfully (SQL NULL, or JSON null)
            continue
        if (value := kept["sli"]) is not None:
            sli.append(f"slo_sli{{{labels}}} {number(value)}\n")
        if (value := kept["remaining"]) is not None:
            remaining.append(f"slo_error_budget_remaining{{{labels}}} {number(value)}\n")
        for window, rate in kept["burn_rates"].items():
            if rate is not None:
                burn_rate.append(
                    f'slo_burn_rate{{{labels},window="{escaped[window]}"}} {number(rate)}\n'
                )
        for tier in kept.get("tiers", ()):  # none in summaries kept before migration 0007
            firing.append(
                f'slo_alert_firing{{kind="{k}",long_window="{escaped[tier["long_window"]]}",'
                f'service="{s}",severity="{escaped[tier["severity"]]}",'
                f'short_window="{escaped[tier["short_window"]]}",slo="{n}"}} '
                f"{_ONE_IF[tier['firing']]}\n"
            )
        at = _timestamp(kept["evaluated_at"])
        evaluated.append(f"slo_evaluated_timestamp_seconds{{{labels}}} {number(at)}\n")
    frozen_lines = [header("slo_service_frozen", _FROZEN)]
    for service in services:
        s, causes = escaped[service], frozen.get(service, set())
        for cause in _CAUSES:
            flag = _ONE_IF[cause in causes]
            frozen_lines.append(f'slo_service_frozen{{cause="{cause}",service="{s}"}} {flag}\n')
    return "".join(
        [
            *(line for family in lines.values() for line in family),
            *frozen_lines,
            header("slo_service_evaluations_due", _DUE),
            f"slo_service_evaluations_due {number(due)}\n",
            header("slo_service_notifications_pending", _PENDING),
            f"slo_service_notifications_pending {number(pending)}\n",
        ]
    )


def _decoded(stored: str | None) -> dict[str, Any] | None:
    """A kept summary from its JSON text: orjson reads it several times faster than the json
    module, which reads what orjson refuses (NaN, infinities, integers past 64 bits)."""
    if stored is None:
        return None
    try:
        kept: dict[str, Any] | None = orjson.loads(stored)
    except orjson.JSONDecodeError:
        kept = json.loads(stored)
    return kept


def _timestamp(kept: str) -> float:
    """Seconds since the epoch of a kept ISO 8601 time (as ``Summary`` dumps its aware
    datetimes); a time without its offset is refused, as ``Summary`` refuses it."""
    at = datetime.fromisoformat(kept)
    if at.tzinfo is None:
        raise ValueError(f"a kept summary's time has no UTC offset: {kept!r}")
    return at.timestamp()


# A firing tier, or a freeze in force, is 1 (as prometheus_client writes float(True)); a
# value that is not a boolean fails the render.
_ONE_IF = {True: "1.0", False: "0.0"}
_CAUSES = ("budget", "manual")
_FROZEN = "1 while deploys of the service are frozen, by cause (budget or manual)."
_DUE = "SLOs due for evaluation and not leased by any replica (the evaluation backlog)."
_PENDING = "Notifications in the outbox not delivered (nor dead) yet (the delivery backlog)."
# The SLO families (each labelled service, slo and kind; burn_rate also window, alert_firing
# also severity, long_window and short_window) and their HELP texts, as dashboards know them.
_GAUGES: tuple[tuple[str, str], ...] = (
    ("objective", "The SLO's objective, e.g. 0.999."),
    ("sli", "The SLI over the SLO's window at its last evaluation."),
    ("error_budget_remaining", "Fraction of the error budget left; negative when overspent."),
    ("burn_rate", "Burn rate over a window (5m ... 3d, and the SLO's whole window)."),
    (
        "alert_firing",
        "1 while a burn-rate tier fires, by severity and its effective long and short windows "
        "(scaled to the SLO's window).",
    ),
    ("evaluated_timestamp_seconds", "When the SLO was last evaluated successfully."),
)


class KeptSloGauges:
    """The SLO gauges as this process rendered them last, answered for ``ttl`` seconds (0:
    render every time): a render reads every SLO (a fraction of a second at 10,000), and it
    is the same for every scraper. One render runs at a time; scrapes that come meanwhile
    wait for its copy instead of reading every SLO again."""

    def __init__(
        self,
        gauges: SloGauges,
        *,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.gauges, self.ttl, self.clock = gauges, ttl, clock
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
                text = self.gauges.render()
            if self.ttl > 0:  # else never answered again: not kept (17 MB at 10,000 SLOs)
                self._kept = (started, text)
            return text
