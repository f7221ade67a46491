"""The SLA pages at scale: the server time to render ``/`` with no kept copy (targets: at most
150 ms with 1,000 SLOs; 500 ms and 300 KB of HTML with 10,000), its filters and other periods,
one SLO's page and the monthly report (HTML and CSV), and a screenshot of ``/``.

N services of 5 push SLOs each (the demo's kinds: availability and latency budgeted by
occurrences, model freshness, accuracy and data freshness by timeslices; windows 30d, 7d and
the calendar month; objectives 99.9%, 99% and 95%), each with D days of one-minute buckets up
to the minute it is seeded: a daily traffic cycle, a steady error rate, and for the worst SLO
of some services an incident that leaves its budget low (at risk), spent (breached: its
service's deploys freeze) or burning right now (page alerts fire). Each service is summarized
as evaluation does (``summaries.update``: burn rates, alert transitions, gate state).

Each page is then requested ``--requests`` times one after the other, after 3 warm-up
requests: in-process with FastAPI's TestClient (the server's time, no network), then over HTTP
from one ``slo-service serve`` process (the same plus HTTP). When ``/`` is over the target
(or with ``--profile``), one render of it is profiled in-process with cProfile. Last, headless
Chromium takes a full-page screenshot of ``/`` (bench/results/pages-overview.png).
"""

import argparse
import cProfile
import gc
import io
import os
import pstats
import random
import shlex
import shutil
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, text
from sqlmodel import Session, col, select
from starlette.requests import Request

from bench import load
from bench.status import LAYOUT, stored_bytes
from slo_service import migrate
from slo_service.api.pages import routes as pages
from slo_service.app import create_app
from slo_service.config import Settings
from slo_service.db import make_engine
from slo_service.models import SLO, Alert, SliBlock
from slo_service.services import overview
from tests.support import browser, fleet
from tests.support.servers import free_port, serve_in_thread


def target_ms(slos: int) -> float:
    """Issue 17's targets for ``/``: 150 ms up to 1,000 SLOs, 500 ms up to 10,000."""
    return 150.0 if slos <= 1000 else 500.0


TARGET_KB = 300.0  # of HTML for / at 10,000 SLOs
WARMUP = 3
ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = ROOT / "bench" / "results" / "pages-overview.png"


@dataclass(frozen=True)
class Timed:
    """Milliseconds of each request after the warm-up, and the size of the last response."""

    ms: list[float]
    kb: float

    def spread(self) -> str:
        ms = sorted(self.ms)
        p90 = ms[min(len(ms) - 1, round(0.9 * (len(ms) - 1)))]
        return f"{statistics.median(ms):7.1f} / {p90:7.1f} / {ms[-1]:7.1f}"


def progress(message: str) -> None:
    print(f"[bench.pages] {message}", file=sys.stderr, flush=True)


def seed(engine: Engine, args: argparse.Namespace) -> Counter[str]:
    rng, np_rng = random.Random(7), np.random.default_rng(7)
    profiles: Counter[str] = Counter()
    started = time.perf_counter()
    services = args.services
    for index in range(services):
        profile = fleet.seed_service(
            engine,
            index,
            slos_per_service=args.slos_per_service,
            days=args.days,
            layout=LAYOUT,
            rng=rng,
            np_rng=np_rng,
        )
        profiles[profile] += 1
        if (index + 1) % 20 == 0:
            elapsed = time.perf_counter() - started
            progress(f"seeded {index + 1} of {services} services in {elapsed:.0f} s")
    return profiles


def chosen_slo(engine: Engine) -> int:
    """The SLO whose page is timed: the first 30-day availability SLO."""
    with Session(engine) as session:
        found = session.exec(
            select(SLO.id)
            .where(SLO.kind == "availability", SLO.window == "30d")
            .order_by(col(SLO.id))
        ).first()
    assert found is not None
    return found


def paths_of(slo_id: int) -> list[str]:
    return [
        "/",
        "/?state=all",
        "/?state=all&page=3",
        "/?q=model-01&state=all",
        "/?team=team-3&state=healthy",
        "/?period=7d",
        "/?period=last-month",
        f"/slos/{slo_id}",
        "/reports/monthly",
        "/reports/monthly?state=all",
        "/reports/monthly.csv",
    ]


def timed(get: Callable[[str], httpx.Response], path: str, requests: int) -> Timed:
    for _ in range(WARMUP):
        response = get(path)
        if response.status_code != 200:
            raise SystemExit(f"GET {path}: {response.status_code} {response.text[:2000]}")
    ms = []
    for _ in range(requests):
        started = time.perf_counter()
        response = get(path)
        ms.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return Timed(ms, len(response.content) / 1024)


def settings_for(url: str) -> Settings:
    return Settings(
        database_url=url,
        scheduler=False,
        public_read=True,
        migrate_on_start=False,
        bucket_seconds=LAYOUT.bucket_seconds,
        pages_cache_seconds=0,  # every request renders: no kept copy
    )


def in_process(app: FastAPI, paths: list[str], requests: int) -> dict[str, Timed]:
    # As `serve` does before it serves: what is alive now stays out of the collector's passes.
    gc.collect()
    gc.freeze()
    with TestClient(app) as client:
        return {path: timed(client.get, path, requests) for path in paths}


def served(url: str, paths: list[str], requests: int, port: int) -> dict[str, Timed]:
    """The same over HTTP from one ``slo-service serve`` process (it reads its settings from
    the environment: reads without a token, like the in-process app)."""
    os.environ["SLO_PUBLIC_READ"] = "true"
    os.environ["SLO_PAGES_CACHE_SECONDS"] = "0"
    with load.server(url, port) as base, httpx.Client(base_url=base, timeout=60) as client:
        return {path: timed(client.get, path, requests) for path in paths}


def tiles_now(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        view = overview.overview(session, key="window", now=datetime.now(UTC), layout=LAYOUT)
        return view.tiles


def counted(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {
            "alerts": session.exec(select(func.count()).select_from(Alert)).one(),
            "blocks": session.exec(select(func.count()).select_from(SliBlock)).one(),
        }


def request_for(app: FastAPI, path: str = "/") -> Request:
    """A bare GET of ``path`` for calling a page's handler directly."""
    scope = {
        "type": "http", "method": "GET", "path": path, "raw_path": path.encode(),
        "query_string": b"", "headers": [], "scheme": "http", "root_path": "",
        "server": ("testserver", 80), "client": ("127.0.0.1", 1), "app": app,
        "router": app.router, "http_version": "1.1",
    }  # fmt: skip
    return Request(scope)


def profile_overview(app: FastAPI, engine: Engine, settings: Settings, top: int = 25) -> str:
    """One render of ``/`` (the handler: data and template, without HTTP) under cProfile: the
    top functions by cumulative time."""

    def render() -> int:
        with Session(engine) as session:
            response = pages.overview_page(request_for(app), session, settings, period="window")
            return len(response.body)

    render()  # warm: templates compiled, connections open
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    render()
    profiler.disable()
    took = (time.perf_counter() - started) * 1000
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("cumulative").print_stats(top)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    start = next(i for i, line in enumerate(lines) if "ncalls" in line)
    return "\n".join(
        [f"cProfile of one render of / in-process (handler only, {took:.0f} ms under the "
         f"profiler), top {top} by cumulative time:", *lines[start:]]
    )  # fmt: skip


def screenshot(app: FastAPI) -> tuple[Path, float, int]:
    """A full-page screenshot of ``/`` at 1280x800 in Debian's headless Chromium: the path,
    the seconds it took (load and capture) and the page's height in CSS px."""
    from playwright.sync_api import sync_playwright

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    with serve_in_thread(app) as base, sync_playwright() as playwright:
        chromium = browser.launch(playwright.chromium)
        try:
            context = chromium.new_context(viewport=browser.VIEWPORT)
            page = context.new_page()
            started = time.perf_counter()
            page.goto(f"{base}/", wait_until="load", timeout=120_000)
            height = int(page.evaluate("document.documentElement.scrollHeight"))
            page.screenshot(path=SCREENSHOT, full_page=True, timeout=120_000)
            took = time.perf_counter() - started
            context.close()
        finally:
            chromium.close()
    return SCREENSHOT, took, height


def workdir_of(engine: Engine) -> Path | None:
    """The directory ``load.database`` made for this run's SQLite file or Postgres cluster
    (removed afterwards unless ``--keep``); None for a database given by URL."""
    if engine.dialect.name == "sqlite":
        found = Path(str(engine.url.database)).parent
    else:
        with engine.connect() as connection:
            data = connection.execute(text("SHOW data_directory")).scalar()
        found = Path(str(data)).parent.parent  # <workdir>/postgres/pgdata
    return found if found.name.startswith("slo-bench-") else None


def table(rows: list[tuple[str, str]]) -> str:
    width = max(len(label) for label, value in rows if value)
    return "\n".join(f"{label:<{width}}  {value}" if value else label for label, value in rows)


def page_table(local: dict[str, Timed], remote: dict[str, Timed] | None) -> str:
    width = max(len(path) for path in local)
    head = f"{'page':<{width}}  {'in-process p50 / p90 / max ms':>29}"
    if remote is not None:
        head += f"  {'served p50 / p90 / max ms':>29}"
    lines = [head + f"  {'size KB':>8}"]
    for path, measured in local.items():
        line = f"{path:<{width}}  {measured.spread():>29}"
        if remote is not None:
            line += f"  {remote[path].spread():>29}"
        lines.append(line + f"  {measured.kb:8.1f}")
    return "\n".join(lines)


def run(url: str, args: argparse.Namespace) -> tuple[str, Path | None]:
    """The figures as a table, and the directory to remove afterwards."""
    load_before = os.getloadavg()[0]
    engine = make_engine(url)
    migrate.upgrade(engine)
    workdir = None if args.database_url else workdir_of(engine)
    started = time.perf_counter()
    if args.no_seed:
        progress("timing the database as it is (--no-seed)")
        profiles = Counter({"as seeded before": args.services})
    else:
        progress(f"seeding {args.services} services x {args.slos_per_service} SLOs, "
                 f"{args.days} days")  # fmt: skip
        profiles = seed(engine, args)
    seed_seconds = time.perf_counter() - started
    if args.seed_only:
        return f"seeded in {seed_seconds:.0f} s: {url}", None
    backend = load.backend(url)
    if backend == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    settings = settings_for(url)
    app = create_app(settings, engine=engine)
    paths = paths_of(chosen_slo(engine))
    progress("timing the pages in-process")
    local = in_process(app, paths, args.requests)
    remote = None
    if not args.no_serve:
        progress("timing the pages over HTTP from slo-service serve")
        remote = served(url, paths, args.requests, args.port or free_port())
    tiles = tiles_now(engine)
    count = counted(engine)
    sqlite_path = Path(url.removeprefix("sqlite:///")) if backend == "sqlite" else None
    total_bytes = stored_bytes(engine, sqlite_path)
    slo_count = args.services * args.slos_per_service
    overview_p50 = statistics.median(local["/"].ms)
    target = target_ms(slo_count)
    rows: list[tuple[str, str]] = [
        ("backend / cpus", f"{backend} / {os.cpu_count()}"),
        ("load average (1 min) at start / after timing", f"{load_before:.1f} / "
         f"{os.getloadavg()[0]:.1f} (other work on the machine shows here)"),
        ("SLOs", f"{slo_count:,} ({args.services} services x {args.slos_per_service}), "
         f"{args.days} days of one-minute buckets each"),
        ("services by their worst SLO", ", ".join(f"{k} {v}" for k, v in sorted(profiles.items()))),
        ("tiles on / now", f"meeting {tiles['meeting']}, at risk {tiles['at_risk']}, breached "
         f"{tiles['breached']}, no data {tiles['no_data']}, services frozen {tiles['frozen']}, "
         f"alerts firing {tiles['alerts']}"),
        ("alerts stored / blocks stored", f"{count['alerts']:,} / {count['blocks']:,}"),
        ("seeding (create, buckets, summaries)", f"{seed_seconds:.0f} s = "
         f"{seed_seconds / slo_count * 1000:.0f} ms per SLO"),
        ("database size" + (" (SQLite file)" if sqlite_path else " (sli_block)"),
         f"{total_bytes / 1e6:.0f} MB"),
        ("requests per page", f"{WARMUP} warm-up, then {args.requests} sequential timed"),
        ("/ in-process p50 vs the target", f"{overview_p50:.0f} ms vs {target:.0f} ms: "
         + ("within" if overview_p50 <= target else "OVER")),
        ("/ HTML vs the target", f"{local['/'].kb:.0f} KB vs {TARGET_KB:.0f} KB: "
         + ("within" if local["/"].kb <= TARGET_KB else "OVER")),
    ]  # fmt: skip
    report = table(rows) + "\n\n" + page_table(local, remote)
    report += (
        "\n\nin-process: FastAPI's TestClient, no network (the server's time); served: one "
        "`slo-service serve` process, one httpx client with keep-alive (adds HTTP)"
    )
    if args.profile or overview_p50 > target:
        progress("profiling one render of /")
        report += "\n\n" + profile_overview(app, engine, settings)
    if not args.no_screenshot:
        progress("screenshot of /")
        path, took, height = screenshot(app)
        report += (
            f"\n\nscreenshot of / (1280x800 viewport, full page {height} px tall, "
            f"{took:.1f} s to load and capture): {path}"
        )
    engine.dispose()
    return report, workdir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", help="default: a new SQLite file")
    parser.add_argument(
        "--postgres", action="store_true", help="start a throwaway Postgres cluster and use it"
    )
    parser.add_argument("--services", type=int, default=200)
    parser.add_argument(
        "--slos-per-service", type=int, default=len(fleet.KINDS), help="kinds in turn"
    )
    parser.add_argument("--days", type=int, default=30, help="of one-minute buckets per SLO")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page")
    parser.add_argument("--port", type=int, default=0, help="of slo-service serve (default: free)")
    parser.add_argument("--profile", action="store_true", help="profile / even within target")
    parser.add_argument("--no-serve", action="store_true", help="skip the slo-service serve run")
    parser.add_argument("--no-screenshot", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file or cluster")
    parser.add_argument(
        "--seed-only",
        action="store_true",
        help="seed and stop: time it later",
    )
    parser.add_argument(
        "--no-seed", action="store_true", help="time the database of --database-url as it is"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    with load.database(args) as url:
        report, workdir = run(url, args)
    if workdir is not None and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    elif workdir is not None:
        report += f"\n\nkept: {workdir}"
    print(report)
    print(f"\ncommand: {shlex.join(['.venv/bin/python', '-m', 'bench.pages', *sys.argv[1:]])}")
    print(f"run took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
