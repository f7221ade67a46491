"""GET /api/v1/gate?service=S on one server process, N concurrent clients, next to the bare
GET /healthz of the same process in the same run: requests/s, p50, p99, max, errors, and the
ratio of the two throughputs.

N services of 5 push SLOs each, with pushed events over the last hour and summarized (as an
evaluation would) right before the load, so that the gate state is fresh: most services
allow, some warn (a budget under the warn threshold), some deny (a budget spent: a budget
freeze). Each request asks for a random service, with a token that has only the gate scope.
"""

import argparse
import os
import random
import time
from collections import Counter
from datetime import timedelta

import httpx

from bench import load
from slo_service import migrate
from slo_service.db import make_engine, session_scope, utcnow
from slo_service.domain.blocks import Layout
from slo_service.domain.budget import Counts
from slo_service.domain.scopes import Scope
from slo_service.schemas.slo import SLOCreate
from slo_service.services import events, slos, summaries, tokens
from slo_service.sources.base import NoQueryChecker

LAYOUT = Layout(60)
# (name, kind, params, objective): the 5 push SLOs of each service.
SLOS = [
    ("availability", "availability", {}, 0.99),
    ("latency", "latency", {"threshold_ms": 500}, 0.95),
    ("valid-inputs", "custom", {}, 0.999),
    ("no-fallback", "custom", {}, 0.99),
    ("feedback", "custom", {}, 0.9),
]
EVENTS_PER_SLO = 30  # one every 2 minutes over the last hour
# Share of services whose worst SLO warns, and denies; the others allow.
WARN_SHARE, DENY_SHARE = 0.2, 0.1


def budget_spent(profile: str, worst: bool, rng: random.Random) -> float:
    """The fraction of its budget an SLO spends over the hour: under the warn threshold's
    0.75 when healthy; 0.8 to 0.95 for the SLO that warns, 1.2 to 3 for the one that denies
    (well under the burn rate of a page, 14.4)."""
    if worst and profile == "warn":
        return rng.uniform(0.8, 0.95)
    if worst and profile == "deny":
        return rng.uniform(1.2, 3.0)
    return rng.uniform(0.0, 0.6)


def seed(url: str, count: int) -> str:
    """N services of 5 push SLOs with an hour of events, summarized now; returns a token
    with only the gate scope."""
    rng = random.Random(7)
    engine = make_engine(url)
    migrate.upgrade(engine)
    with session_scope(engine) as session:
        _, token = tokens.create(
            session, name=f"bench-gate-{time.time_ns()}", scopes=[Scope.GATE], actor="bench"
        )
    minute = utcnow().replace(second=0, microsecond=0)
    for index in range(count):
        service = f"model-{index}"
        draw = rng.random()
        profile = "deny" if draw < DENY_SHARE else "warn" if draw < DENY_SHARE + WARN_SHARE else ""
        worst = rng.randrange(len(SLOS))
        with session_scope(engine) as session:
            created = []
            for position, (name, kind, params, objective) in enumerate(SLOS):
                data = SLOCreate.model_validate(
                    {
                        "service": service,
                        "name": name,
                        "kind": kind,
                        "objective": objective,
                        "window": "7d",
                        "params": params,
                        "sli": {"source": "push"},
                        "labels": {"team": "bench"},
                    }
                )
                slo = slos.create(session, slos.prepare(data, NoQueryChecker()), actor="bench")
                assert slo.id is not None
                bad = budget_spent(profile, position == worst, rng) * (1 - objective)
                batch = []
                for n in range(EVENTS_PER_SLO):
                    total = float(rng.randint(500, 2000))
                    good = total * (1 - bad * rng.uniform(0.8, 1.2))
                    at = minute - timedelta(minutes=2 * n + 1)
                    batch.append((f"bench-{n}", at, Counts(good, total)))
                events.record(session, slo.id, batch, layout=LAYOUT)
                created.append(slo)
            summaries.update(session, created, now=utcnow(), layout=LAYOUT)
    engine.dispose()
    return token


def decisions(base: str, token: str, services: list[str]) -> dict[str, object]:
    """Ask the gate once per service: how many allow, warn and deny, and the first error."""
    counted: Counter[str] = Counter()
    first_error = None
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
        for service in services:
            response = client.get("/api/v1/gate", params={"service": service})
            if response.status_code == 200:
                counted[response.json()["decision"]] += 1
            else:
                counted[f"http_{response.status_code}"] += 1
                first_error = first_error or f"{response.status_code} {response.text[:2000]}"
    result: dict[str, object] = dict(sorted(counted.items()))
    if first_error is not None:
        result["first_error"] = first_error
    return result


def main() -> None:
    load.main(__doc__, run, "--services", 200)


def run(url: str, args: argparse.Namespace) -> dict[str, object]:
    started = time.perf_counter()
    token = seed(url, args.services)
    seeded_at = utcnow()
    seed_seconds = round(time.perf_counter() - started, 1)
    services = [f"model-{i}" for i in range(args.services)]
    gate_paths = [f"/api/v1/gate?service={s}" for s in services]
    with load.server(url, args.port) as base:
        before = decisions(base, token, services)
        load.wrk(base, ["/healthz"], args.clients, args.warmup)
        bare = load.wrk(base, ["/healthz"], args.clients, args.seconds)
        load.wrk(base, gate_paths, args.clients, args.warmup, token=token)
        gated = load.wrk(base, gate_paths, args.clients, args.seconds, token=token)
        after = decisions(base, token, services)
    ratio = gated["requests_per_second"] / bare["requests_per_second"]
    return {
        "endpoint_gate": {"endpoint": "GET /api/v1/gate?service={service}", **gated},
        "endpoint_bare": {"endpoint": "GET /healthz", **bare},
        "gate_to_bare": round(ratio, 3),
        "decisions_before": before,
        "decisions_after": after,
        "seeded_at": seeded_at.isoformat(timespec="seconds"),
        "seeded": "push events over the last hour, summarized right before the load "
        "(default 15-minute staleness limit)",
        "seed_seconds": seed_seconds,
        "backend": load.backend(url),
        "services": args.services,
        "slos": args.services * len(SLOS),
        "clients": args.clients,
        "seconds": args.seconds,
        "cpus": os.cpu_count(),
    }


if __name__ == "__main__":
    main()
