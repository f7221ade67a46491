"""``/metrics`` at scale: the time, body and Python memory of a scrape that renders every SLO,
next to scrapes answered from the copy a process keeps (``SLO_METRICS_CACHE_SECONDS``).

N services of 5 summarized push SLOs, seeded as ``bench.pages`` does (D days of one-minute
buckets; the scrape reads only each SLO's summary, so D hardly matters). Then ``/metrics`` is
scraped ``--scrapes`` times one after the other in-process (FastAPI's TestClient: the server's
time, no network), once with the copy off (every scrape renders) and once with it on (the
first scrape renders; the others are within the interval). The Python memory is
tracemalloc's peak during one scrape, measured in a pass of its own (tracing slows it down).
"""

import argparse
import gc
import shlex
import shutil
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, text

from bench import load
from bench.pages import progress, seed, settings_for, workdir_of
from slo_service import migrate
from slo_service.app import create_app
from slo_service.db import make_engine

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


def run(url: str, args: argparse.Namespace) -> tuple[str, Path | None]:
    engine = make_engine(url)
    migrate.upgrade(engine)
    workdir = None if args.database_url else workdir_of(engine)
    slo_count = args.services * args.slos_per_service
    progress(f"seeding {args.services} services x {args.slos_per_service} SLOs, {args.days} days")
    started = time.perf_counter()
    seed(engine, args)
    seeded = time.perf_counter() - started
    if load.backend(url) == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    progress("scraping without the copy")
    fresh = scrapes(engine, url, ttl=0, count=args.scrapes)
    progress("scraping with the copy")
    kept = scrapes(engine, url, ttl=3600, count=args.scrapes)
    engine.dispose()
    lines = [
        f"backend: {load.backend(url)}; SLOs: {slo_count:,} ({args.services} services x "
        f"{args.slos_per_service}); seeded in {seeded:.0f} s",
        f"{args.scrapes} sequential scrapes in-process after one that is measured for memory",
        "",
        f"{'':<22}{'p50 ms':>10}{'max ms':>10}{'body KB':>10}{'renders':>9}{'peak MB':>9}",
    ]
    for name, figures in (("copy off (ttl 0)", fresh), ("copy kept (ttl 3600)", kept)):
        lines.append(
            f"{name:<22}{figures['p50_ms']:>10.1f}{figures['max_ms']:>10.1f}"
            f"{figures['body_kb']:>10.0f}{figures['renders']:>9.0f}{figures['peak_mb']:>9.1f}"
        )
    lines.append("(peak MB: tracemalloc's peak during the first scrape, which renders in both)")
    return "\n".join(lines), workdir


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
    args = parser.parse_args()
    started = time.perf_counter()
    with load.database(args) as url:
        report, workdir = run(url, args)
    if workdir is not None:
        shutil.rmtree(workdir, ignore_errors=True)
    print(report)
    print(f"\ncommand: {shlex.join(['.venv/bin/python', '-m', 'bench.metrics', *sys.argv[1:]])}")
    print(f"run took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
