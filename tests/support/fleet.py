"""A fleet of SLOs with realistic data for the SLA pages, seeded straight into the database:
services of five push SLOs each (the demo's kinds: availability and latency budgeted by
occurrences, model freshness, accuracy and data freshness by timeslices; windows 30d, 7d and
the calendar month; objectives 99.9%, 99% and 95%), each with days of one-minute buckets up to
the minute it is seeded: a daily traffic cycle, a steady error rate, and for the worst SLO of
some services an incident that leaves its budget low (at risk), spent (breached: its service's
deploys freeze) or burning right now (page alerts fire). Each service is summarized as
evaluation does (``summaries.update``). ``bench/pages.py`` times the pages over it; the page
tests drive them at a few hundred SLOs."""

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Engine

from slo_service.db import session_scope
from slo_service.domain.blocks import Layout, epoch
from slo_service.domain.kinds import Budgeting
from slo_service.domain.series import Buckets
from slo_service.domain.windows import align
from slo_service.schemas.slo import SLOCreate
from slo_service.services import buckets, overview, slos, summaries
from slo_service.sources.base import NoQueryChecker

MINUTE = 60
DAY_MINUTES = 24 * 60

# (name, kind, params) of the 5 SLOs of each service; their windows and objectives rotate.
KINDS: list[tuple[str, str, dict[str, object]]] = [
    ("availability", "availability", {}),
    ("latency-p95-500ms", "latency", {"threshold_ms": 500}),
    ("model-freshness", "model_freshness", {}),
    ("accuracy", "accuracy", {"baseline": 0.91, "tolerance": 0.05}),
    ("data-freshness", "data_freshness", {"max_age_minutes": 30}),
]
WINDOWS = ("30d", "7d", "month")
OBJECTIVES = (0.999, 0.99, 0.95)
# A timeslice budget counts whole bad minutes: 99.9% of this month's first day would be one.
TIMESLICE_OBJECTIVES = (0.99, 0.95)
# Share of services whose worst SLO is breached, at risk, or burning right now; the others
# are healthy: each of their SLOs, and every other SLO, spends SPENT_HEALTHY of its budget.
PROFILES = (("breached", 0.06), ("at_risk", 0.14), ("burning", 0.04))
SPENT = {"breached": (1.1, 2.5), "at_risk": (0.8, 0.97), "burning": (0.3, 0.6)}
SPENT_HEALTHY = (0.02, 0.6)
BACKGROUND = (0.02, 0.2)  # of the budget spent by the steady error rate (at most all of it)
MAX_INCIDENT_RATE = 0.5  # of bad events (or bad minutes) during an incident


@dataclass(frozen=True)
class Plan:
    """One SLO's data: how much of its window's budget it spends, and whether the incident
    that spends it is still going on."""

    spent: float
    ongoing: bool


def profile_of(rng: random.Random) -> str:
    draw, low = rng.random(), 0.0
    for name, share in PROFILES:
        if draw < low + share:
            return name
        low += share
    return "healthy"


def minutes_of(
    plan: Plan,
    *,
    timeslices: bool,
    objective: float,
    first: int,
    window_from: int,
    minutes: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray[Any, np.dtype[np.float64]], np.ndarray[Any, np.dtype[np.float64]]]:
    """(good, total) per minute over ``minutes`` from ``first`` (epoch): requests for
    occurrences (a daily cycle), 1 per minute for timeslices. A steady error rate spends part
    of the budget; an incident in the window (minute index >= ``window_from``) spends the rest
    of ``plan.spent`` (in expectation)."""
    if timeslices:
        total = np.ones(minutes)
    else:
        of_day = ((first // MINUTE + np.arange(minutes)) % DAY_MINUTES) / DAY_MINUTES
        traffic = float(rng.uniform(200, 2000))
        cycle = 1 + 0.6 * np.sin(2 * np.pi * of_day)
        total = np.round(traffic * cycle * rng.uniform(0.9, 1.1, minutes))
    allowed = 1 - objective
    background = min(plan.spent, float(rng.uniform(*BACKGROUND)))
    rate = np.full(minutes, background * allowed)
    inside = total[window_from:]
    extra = (plan.spent - background) * allowed * float(inside.sum())  # bad events to add
    if extra > 0 and len(inside):
        shortest = int(np.ceil(extra / (MAX_INCIDENT_RATE * float(inside.mean()))))
        length = min(len(inside), max(int(rng.integers(30, 360)), shortest))
        if plan.ongoing:
            end = minutes
        else:
            latest = max(window_from + length, minutes - 60)
            end = int(rng.integers(window_from + length, latest + 1))
        rate[end - length : end] += extra / float(total[end - length : end].sum())
    rate = np.clip(rate, 0.0, 1.0)
    if timeslices:
        return (rng.random(minutes) >= rate).astype(np.float64), total
    bad = rng.binomial(total.astype(np.int64), rate)
    return total - bad, total


def objective_of(kind: str, turn: int) -> float:
    occurrences = kind in ("availability", "latency")
    choices = OBJECTIVES if occurrences else TIMESLICE_OBJECTIVES
    return choices[turn % len(choices)]


def specs(count: int) -> list[tuple[str, str, dict[str, object]]]:
    """The SLOs of one service: the kinds in turn (named -2, -3, ... past the fifth)."""
    return [
        (name if n < len(KINDS) else f"{name}-{n // len(KINDS) + 1}", kind, params)
        for n in range(count)
        for name, kind, params in [KINDS[n % len(KINDS)]]
    ]


def seed_service(
    engine: Engine,
    index: int,
    *,
    slos_per_service: int,
    days: int,
    layout: Layout,
    rng: random.Random,
    np_rng: np.random.Generator,
    teams: int = 12,
    windows: tuple[str, ...] = WINDOWS,
) -> str:
    """One service of push SLOs with ``days`` of buckets up to this minute, summarized now,
    labelled with one of ``teams`` teams; returns its profile."""
    service = f"model-{index:03d}"
    profile = profile_of(rng)
    worst = rng.randrange(slos_per_service)
    now = datetime.now(UTC)
    end = align(now, timedelta(seconds=layout.bucket_seconds))
    minutes = days * DAY_MINUTES
    first = epoch(end) - minutes * MINUTE
    with session_scope(engine) as session:
        created, measured = [], {}
        for position, (name, kind, params) in enumerate(specs(slos_per_service)):
            data = SLOCreate.model_validate(
                {
                    "service": service,
                    "name": name,
                    "kind": kind,
                    "objective": objective_of(kind, index + position),
                    "window": windows[(index + 2 * position) % len(windows)],
                    "params": params,
                    "sli": {"source": "push"},
                    "labels": {"team": f"team-{index % teams}"},
                }
            )
            slo = slos.create(session, slos.prepare(data, NoQueryChecker()), actor="bench")
            assert slo.id is not None
            unhealthy = profile != "healthy" and position == worst
            plan = Plan(
                rng.uniform(*(SPENT[profile] if unhealthy else SPENT_HEALTHY)),
                unhealthy and profile == "burning",
            )
            window = overview.span_of("window", slo, end)
            good, total = minutes_of(
                plan, timeslices=slo.budgeting == Budgeting.TIMESLICES, objective=slo.objective,
                first=first, window_from=max(0, (epoch(window.start) - first) // MINUTE),
                minutes=minutes, rng=np_rng,
            )  # fmt: skip
            measured[slo.id] = Buckets(first, layout.bucket_seconds, good, total)
            created.append(slo)
        buckets.write_many(session, measured, layout=layout, add=False)
        summaries.update(session, created, now=now, layout=layout)
    return profile
