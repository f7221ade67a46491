"""``/metrics`` at scale: the time, body and Python memory of a scrape that renders every SLO,
next to scrapes answered from the copy a process keeps (``SLO_METRICS_CACHE_SECONDS``); and
with ``--serve``, the memory of one ``slo-service serve`` process that serves it.

N services of 5 summarized push SLOs, seeded as ``bench.pages`` does (D days of one-minute
buckets; the scrape reads only each SLO's summary, so D hardly matters). Then ``/metrics`` is
scraped ``--scrapes`` times one after the other in-process (FastAPI's TestClient: the server's
time, no network), once with the copy off (every scrape renders) and once with it on (the
first scrape renders; the others are within the interval), and as many renders alone
(``SloGauges.render``: no HTTP, no client; wall and this process's CPU time, which a busy
machine inflates less). The Python memory is tracemalloc's peak during one scrape, measured
in a pass of its own (tracing slows it down). ``--profile`` adds cProfile of one render.

``--serve`` then starts one ``slo-service serve`` process on the same database with the copy
off (``SLO_METRICS_CACHE_SECONDS=0``) and reads its resident memory (VmRSS) and peak (VmHWM)
from /proc after each phase: started, ``--scrapes`` scrapes of ``/metrics`` (timed over
HTTP), as many renders of ``/``, wrk on the gate (every service, a gate-only token, 32
clients), and all of it ``--rounds`` times (steady, or still growing?).
"""

import argparse
import cProfile
import gc
import io
import os
import pstats
import shlex
import statistics
import sys
import time
import tracemalloc

import httpx
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, text
from sqlmodel import Session

from bench import load
from bench.drift import memory_mb, server_pid
from bench.pages import progress, seed, settings_for
from slo_service import migrate
from slo_service.app import create_app
from slo_service.db import make_engine, session_scope
from slo_service.domain.scopes import Scope
from slo_service.repositories import slos as slo_repo
from slo_service.services import tokens
from slo_service.services.metrics import SloGauges
from tests.support.servers import free_port

RENDERS = "slo_service_metrics_render_seconds"


def renders(body: str) -> int:
    for family in text_string_to_metric_families(body):
        if family.name == RENDERS:
            for sample in family.samples:
                if sample.name == f"{RENDERS}_count":
                    return int(sample.value)
    return 0


def scrapes(engine: Engine, url: str, *, ttl: float, count: int) -> dict[str, float]:
    """``count`` scrapes of one app whose copy lasts ``ttl`` s: their times, the body, how
    many rendered, and the peak Python memory of the first (a render either way)."""
    settings = settings_for(url).model_copy(update={"metrics_cache_seconds": ttl})
    app = create_app(settings, engine=engine)
    gc.collect()
    gc.freeze()
    with TestClient(app) as client:
        tracemalloc.start()
        first = client.get("/metrics")
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        first.raise_for_status()
        before = renders(first.text)
        ms = []
        for _ in range(count):
            started = time.perf_counter()
            response = client.get("/metrics")
            ms.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
    return {
        "p50_ms": statistics.median(ms),
        "max_ms": max(ms),
        "body_kb": len(response.content) / 1024,
        "renders": renders(response.text) - before,
        "peak_mb": peak / 1e6,
    }


def rendered(engine: Engine, url: str, count: int) -> dict[str, float]:
    """``count`` renders of the SLO gauges alone (no HTTP, no client): wall and CPU time."""
    gauges = SloGauges(engine, settings_for(url).layout)
    wall, cpu = [], []
    for _ in range(count):
        started, used = time.perf_counter(), time.process_time()
        body = gauges.render()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - used) * 1000)
    return {
        "p50_ms": statistics.median(wall),
        "max_ms": max(wall),
        "cpu_p50_ms": statistics.median(cpu),
        "body_kb": len(body) / 1024,
    }


def profiled(engine: Engine, url: str) -> str:
    """cProfile of one render of the SLO gauges (after one that warms up)."""
    gauges = SloGauges(engine, settings_for(url).layout)
    gauges.render()
    profile = cProfile.Profile()
    profile.runcall(gauges.render)
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(25)
    return out.getvalue()


def gate_token(engine: Engine) -> str:
    with session_scope(engine) as session:
        _, token = tokens.create(
            session, name=f"bench-metrics-{time.time_ns()}", scopes=[Scope.GATE], actor="bench"
        )
    return token


def timed_gets(client: httpx.Client, path: str, count: int) -> list[float]:
    ms = []
    for _ in range(count):
        started = time.perf_counter()
        client.get(path).raise_for_status()
        ms.append((time.perf_counter() - started) * 1000)
    return ms


def served(engine: Engine, url: str, args: argparse.Namespace) -> list[str]:
    """The memory of one ``slo-service serve`` process after each phase of its use."""
    with Session(engine) as session:
        services = slo_repo.services(session)
    token = gate_token(engine)
    gate_paths = [f"/api/v1/gate?service={service}" for service in services]
    # For the server process that load.server starts (it passes this environment on).
    os.environ["SLO_METRICS_CACHE_SECONDS"] = "0"
    os.environ["SLO_PUBLIC_READ"] = "true"
    os.environ["SLO_BUCKET_SECONDS"] = str(settings_for(url).bucket_seconds)
    lines = [
        "",
        "one `slo-service serve` process (SLO_METRICS_CACHE_SECONDS=0), after each phase:",
        f"{'':<44}{'RSS MB':>8}{'peak MB':>9}   HTTP ms p50 / max",
    ]
    port = args.port or free_port()
    with (
        load.server(url, port) as base,
        httpx.Client(base_url=base, timeout=300) as client,
    ):
        pid = server_pid(port)

        def phase(name: str, ms: list[float] | None = None) -> None:
            rss, peak = memory_mb(pid)
            timing = f"   {statistics.median(ms):7.0f} / {max(ms):7.0f}" if ms else ""
            lines.append(f"{name:<44}{rss:>8.0f}{peak:>9.0f}{timing}")
            progress(lines[-1].strip())

        phase("started (ready)")
        for turn in range(1, args.rounds + 1):
            suffix = f" (round {turn})"
            phase(
                f"{args.scrapes} x /metrics{suffix}", timed_gets(client, "/metrics", args.scrapes)
            )
            phase(f"{args.scrapes} x /{suffix}", timed_gets(client, "/", args.scrapes))
            gated = load.wrk(base, gate_paths, 32, args.gate_seconds, token=token)
            phase(
                f"gate, wrk {args.gate_seconds} s ({gated['requests_per_second']:.0f}/s, "
                f"{gated['errors']} err){suffix}"
            )
    lines.append("(RSS: VmRSS after the phase; peak: VmHWM since the process started)")
    return lines


def seeded_count(engine: Engine) -> int:
    with Session(engine) as session:
        return len(slo_repo.gauge_rows(session))


def run(url: str, args: argparse.Namespace) -> str:
    engine = make_engine(url)
    migrate.upgrade(engine)
    slo_count = args.services * args.slos_per_service
    started = time.perf_counter()
    if args.seeded:
        found = seeded_count(engine)
        if found != slo_count:
            raise SystemExit(f"--seeded: the database holds {found} live SLOs, not {slo_count}")
    else:
        progress(
            f"seeding {args.services} services x {args.slos_per_service} SLOs, {args.days} days"
        )
        seed(engine, args)
    seeded = time.perf_counter() - started
    if load.backend(url) == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    progress("scraping without the copy")
    fresh = scrapes(engine, url, ttl=0, count=args.scrapes)
    progress("scraping with the copy")
    kept = scrapes(engine, url, ttl=3600, count=args.scrapes)
    progress("rendering alone")
    alone = rendered(engine, url, args.scrapes)
    lines = [
        f"backend: {load.backend(url)}; SLOs: {slo_count:,} ({args.services} services x "
        f"{args.slos_per_service}); "
        + ("seeded before" if args.seeded else f"seeded in {seeded:.0f} s"),
        f"{args.scrapes} sequential scrapes in-process after one that is measured for memory",
        "",
        f"{'':<22}{'p50 ms':>10}{'max ms':>10}{'body KB':>10}{'renders':>9}{'peak MB':>9}",
    ]
    for name, figures in (("copy off (ttl 0)", fresh), ("copy kept (ttl 3600)", kept)):
        lines.append(
            f"{name:<22}{figures['p50_ms']:>10.1f}{figures['max_ms']:>10.1f}"
            f"{figures['body_kb']:>10.0f}{figures['renders']:>9.0f}{figures['peak_mb']:>9.1f}"
        )
    lines.append(
        f"{'render alone':<22}{alone['p50_ms']:>10.1f}{alone['max_ms']:>10.1f}"
        f"{alone['body_kb']:>10.0f}   (CPU p50 {alone['cpu_p50_ms']:.0f} ms: SloGauges.render)"
    )
    lines.append("(peak MB: tracemalloc's peak during the first scrape, which renders in both)")
    if args.profile:
        progress("profiling one render")
        lines += ["", "cProfile of one render of the SLO gauges:", profiled(engine, url)]
    if args.serve:
        progress("serving")
        lines += served(engine, url, args)
    engine.dispose()
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", help="default: a new SQLite file")
    parser.add_argument(
        "--postgres", action="store_true", help="start a throwaway Postgres cluster and use it"
    )
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--slos-per-service", type=int, default=5, help="kinds in turn")
    parser.add_argument("--days", type=int, default=1, help="of one-minute buckets per SLO")
    parser.add_argument("--scrapes", type=int, default=10, help="timed scrapes per setting")
    parser.add_argument(
        "--seeded",
        action="store_true",
        help="the --database-url holds the SLOs of an earlier run with these counts: no seeding",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile of one render")
    parser.add_argument(
        "--serve", action="store_true", help="the memory of one `slo-service serve` process"
    )
    parser.add_argument("--gate-seconds", type=int, default=20, help="of wrk on the gate")
    parser.add_argument("--rounds", type=int, default=3, help="of --serve's phases")
    parser.add_argument("--port", type=int, default=0, help="of --serve (default: a free one)")
    args = parser.parse_args()
    started = time.perf_counter()
    with load.database(args, remove=True) as url:
        report = run(url, args)
    print(report)
    print(f"\ncommand: {shlex.join(['.venv/bin/python', '-m', 'bench.metrics', *sys.argv[1:]])}")
    print(f"run took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
