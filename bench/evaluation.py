"""The evaluation engine at scale: M models x 5 ML kinds of SLOs over D days of metrics that
promtool backfills into a real Prometheus, on a throwaway Postgres (or SQLite).

Reports the cold backfill of every window, the steady cycle for one new minute (``--steady``
of them, each one minute later: the first opens a new hour's block, the others rewrite it),
Prometheus requests per cycle, rows and bytes stored per SLO per 30 days, and status read
p50/p99. Each cycle also reports where its time went: wall seconds inside the main steps
(Prometheus's HTTP answers, decoding them, storing buckets, summaries, alerts, the gate; the
measurement runs in a thread beside the storing, so steps can overlap) and CPU seconds of
this process, Prometheus and Postgres (the machine is shared: CPU is steadier than wall time).
``--profile DIR`` keeps a cProfile of each cycle there and prints its top entries.
"""

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from sqlalchemy import Engine, func, text
from sqlmodel import Session, select

from bench.status import read_times
from bench.timing import Split, process_cpu, tree_cpu
from slo_service import migrate
from slo_service.db import make_engine, session_scope
from slo_service.domain.blocks import Layout
from slo_service.models import SliBlock
from slo_service.schemas.slo import SLOCreate
from slo_service.services import evaluation, slos
from slo_service.sources.base import NoQueryChecker
from slo_service.sources.prometheus import PrometheusSource
from tests.support.metrics import backfill_file
from tests.support.servers import postgres_cluster, prometheus_server

LAYOUT = Layout(60)
COUNTER_STEP = 30  # two samples a minute: increase(x[1m]) at a minute mark sees three
GAUGE_STEP = 60
KINDS = {
    "availability": {},
    "latency": {"threshold_ms": 500},
    "model_freshness": {},
    "accuracy": {"baseline": 0.9, "tolerance": 0.05},
    "data_freshness": {"max_age_minutes": 30},
}


def _counter(out: TextIO, series: str, start: int, end: int, per_step: float) -> None:
    out.write(
        "".join(
            f"{series} {per_step * i} {t}\n"
            for i, t in enumerate(range(start, end + 1, COUNTER_STEP))
        )
    )


def _gauge(out: TextIO, series: str, start: int, end: int, value: str) -> None:
    out.write("".join(f"{series} {value} {t}\n" for t in range(start, end + 1, GAUGE_STEP)))


def write_metrics(path: Path, models: list[str], start: int, end: int) -> None:
    """OpenMetrics for promtool: families in order, each model's series one after another."""
    with path.open("w") as out:
        out.write("# TYPE ml_predictions counter\n")
        for m in models:
            _counter(out, f'ml_predictions_total{{model_name="{m}",status="ok"}}', start, end, 50)
            _counter(
                out, f'ml_predictions_total{{model_name="{m}",status="error"}}', start, end, 0.05
            )
        out.write("# TYPE ml_prediction_duration_seconds histogram\n")
        for m in models:
            name = "ml_prediction_duration_seconds"
            _counter(out, f'{name}_bucket{{model_name="{m}",le="0.5"}}', start, end, 48)
            _counter(out, f'{name}_bucket{{model_name="{m}",le="+Inf"}}', start, end, 50)
            _counter(out, f'{name}_count{{model_name="{m}"}}', start, end, 50)
        for family, value in (("ml_model_is_latest", "1"), ("ml_model_accuracy", "0.9")):
            out.write(f"# TYPE {family} gauge\n")
            for m in models:
                _gauge(out, f'{family}{{model_name="{m}"}}', start, end, value)
        out.write("# TYPE ml_feature_last_updated_timestamp_seconds gauge\n")
        for m in models:
            series = f'ml_feature_last_updated_timestamp_seconds{{model_name="{m}"}}'
            out.write(
                "".join(f"{series} {t - 60} {t}\n" for t in range(start, end + 1, GAUGE_STEP))
            )
        out.write("# EOF\n")


def create_slos(engine: Engine, models: list[str], window: str) -> list[int]:
    ids = []
    with session_scope(engine) as session:
        for model in models:
            for kind, params in KINDS.items():
                data = SLOCreate.model_validate(
                    {
                        "service": model,
                        "name": kind,
                        "kind": kind,
                        "objective": 0.99,
                        "window": window,
                        "params": params,
                    }
                )
                slo = slos.create(session, slos.prepare(data, NoQueryChecker()), actor="bench")
                assert slo.id is not None
                ids.append(slo.id)
    return ids


# Where a cycle's time goes: label → the function whose calls are timed (a missing one is
# reported as missing: the code moved).
STEPS = {
    "claim": "slo_service.services.evaluation:_Cycle.claim",
    "pending": "slo_service.services.evaluation:_Cycle._pending",
    "measure (thread)": "slo_service.services.evaluation:_Cycle._measure",
    "prometheus_http (thread)": "slo_service.sources.prometheus_http:PrometheusApi._request",
    "decode_matrix (thread)": "slo_service.sources.prometheus_http:decode_matrix",
    "store_slice": "slo_service.services.evaluation:_Cycle._store",
    "store_last_slice": "slo_service.services.evaluation:keep",
    "write_buckets": "slo_service.services.buckets:write_many",
    "summaries": "slo_service.services.summaries:update",
    "statuses": "slo_service.services.status:statuses",
    "statuses: running totals": "slo_service.services.buckets:totals_at_many",
    "statuses: each SLO's": "slo_service.services.status:_status",
    "slo objects read": "slo_service.repositories.slos:get_many",
    "orm flushes": "sqlalchemy.orm.session:Session.flush",
    "alerts": "slo_service.services.alerting.follow:follow",
    "gate": "slo_service.services.gate.state:refresh",
    "release": "slo_service.repositories.slos:release",
}


@dataclass
class Servers:
    """The processes whose CPU a cycle reports besides this one."""

    prometheus: int
    postgres: int | None

    def cpu(self) -> dict[str, float]:
        found = {"bench": process_cpu(os.getpid()), "prometheus": process_cpu(self.prometheus)}
        if self.postgres is not None:
            found["postgres"] = tree_cpu(self.postgres)
        return found


def timed_cycle(
    engine: Engine, source: PrometheusSource, now: int, servers: Servers, profile: Path | None
) -> dict[str, object]:
    source.api.requests = 0
    split = Split(STEPS)
    profiler = cProfile.Profile() if profile else None
    cpu_before = servers.cpu()
    with split.wrapped():
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        outcomes = evaluation.run_cycle(
            engine,
            sources={"prometheus": source},
            layout=LAYOUT,
            owner="bench",
            now=datetime.fromtimestamp(now, UTC),
        )
        if profiler:
            profiler.disable()
        seconds = time.perf_counter() - started
    cpu = {name: round(spent - cpu_before[name], 2) for name, spent in servers.cpu().items()}
    failed = [o.error for o in outcomes if not o.ok]
    if failed:
        raise SystemExit(f"{len(failed)} evaluations failed, e.g. {failed[0]}")
    if profiler and profile:
        profiler.dump_stats(profile)
        print(f"--- {profile} ({seconds:.2f} s)\n{top_entries(profiler)}", flush=True)
    return {
        "seconds": round(seconds, 2),
        "slos": len(outcomes),
        "prometheus_requests": source.api.requests,
        "cpu_seconds": cpu,
        "split": split.report(),
    }


def top_entries(profiler: cProfile.Profile, count: int = 25) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(count)
    stats.sort_stats("cumulative").print_stats(count)
    return out.getvalue()


def server_pids(url: str, workdir: Path, sqlite: bool) -> Servers:
    """Prometheus's process (found by its listen address) and Postgres's postmaster."""
    listen = f"--web.listen-address={url.removeprefix('http://')}".encode()
    prometheus = next(
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and listen in _cmdline(entry)
    )
    postmaster = workdir / "postgres" / "pgdata" / "postmaster.pid"
    postgres = None if sqlite else int(postmaster.read_text().split()[0])
    return Servers(prometheus, postgres)


def _cmdline(entry: Path) -> bytes:
    try:
        return (entry / "cmdline").read_bytes()
    except OSError:
        return b""


def storage(engine: Engine, count: int, days: int, sqlite: Path | None) -> dict[str, float]:
    with Session(engine) as session:
        rows = session.exec(select(func.count()).select_from(SliBlock)).one()
    if sqlite is not None:
        size = sqlite.stat().st_size
    else:
        with engine.connect() as connection:
            connection.execute(text("ANALYZE sli_block"))
            size = int(
                connection.execute(text("SELECT pg_total_relation_size('sli_block')")).scalar() or 0
            )
    scale = 30 / days
    return {
        "rows_per_slo_per_30d": round(rows / count * scale),
        "bytes_per_slo_per_30d": round(size / count * scale),
    }


def status_reads(engine: Engine, ids: list[int], now: int, reads: int) -> dict[str, float]:
    times = read_times(engine, ids, datetime.fromtimestamp(now, UTC), reads)
    q = statistics.quantiles(times, n=100)
    return {"status_p50_ms": round(q[49] * 1000, 2), "status_p99_ms": round(q[98] * 1000, 2)}


@contextlib.contextmanager
def database(workdir: Path, sqlite: bool) -> Iterator[tuple[Engine, Path | None]]:
    if sqlite:
        path = workdir / "bench.db"
        yield make_engine(f"sqlite:///{path}"), path
        return
    with postgres_cluster(workdir / "postgres") as url:
        engine = make_engine(url)
        yield engine, None
        engine.dispose()


def prepare(workdir: Path, models: list[str], days: int, report: dict[str, object]) -> int:
    """Generate and backfill the metrics unless ``workdir`` has them; returns their end."""
    meta = workdir / "meta.json"
    if not meta.exists():
        now = int(time.time())
        end = now - now % 3600 - 3600
        started = time.perf_counter()
        metrics = workdir / "metrics.om"
        write_metrics(metrics, models, end - days * 86400, end + 600)
        report["generate_seconds"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        backfill_file(metrics, workdir / "tsdb")
        report["promtool_seconds"] = round(time.perf_counter() - started, 1)
        metrics.unlink()
        meta.write_text(json.dumps({"end": end, "models": len(models), "days": days}))
    return int(json.loads(meta.read_text())["end"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of Postgres")
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument(
        "--window", default="30d", help="the SLOs' window: a cold run backfills it (3d at least)"
    )
    parser.add_argument(
        "--reuse", type=Path, help="the work directory of an earlier run: its metrics are kept"
    )
    parser.add_argument(
        "--steady", type=int, default=3, help="steady cycles, one new minute each (1 to 9)"
    )
    parser.add_argument("--profile", type=Path, help="a directory for each cycle's cProfile")
    parser.add_argument(
        "--concurrency", type=int, help="Prometheus queries in flight (the source's default)"
    )
    args = parser.parse_args()
    workdir = args.reuse or Path(tempfile.mkdtemp(prefix="slo-bench-eval-"))
    workdir.chmod(0o755)
    models = [f"model-{i:04d}" for i in range(args.models)]
    report: dict[str, object] = {
        "models": args.models,
        "slos": 5 * args.models,
        "days": args.days,
        "window": args.window,
    }
    end = prepare(workdir, models, args.days, report)
    for leftover in ("prometheus", "postgres", "bench.db"):
        shutil.rmtree(workdir / leftover, ignore_errors=True)
    with (
        prometheus_server(workdir / "prometheus", tsdb=workdir / "tsdb") as url,
        database(workdir, args.sqlite) as (engine, sqlite_path),
    ):
        migrate.upgrade(engine)
        ids = create_slos(engine, models, args.window)
        source = PrometheusSource(url, timeout=120)
        if args.concurrency:
            source.concurrency = args.concurrency
        report["prometheus_concurrency"] = source.concurrency
        servers = server_pids(url, workdir, args.sqlite)
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
        profile = (lambda name: args.profile / f"{name}.prof") if args.profile else lambda _: None
        report["cold_backfill"] = timed_cycle(engine, source, end + 60, servers, profile("cold"))
        steady = [
            timed_cycle(engine, source, end + 60 * (2 + i), servers, profile(f"steady-{i + 1}"))
            for i in range(max(1, min(args.steady, 9)))  # the metrics end 10 minutes in
        ]
        report["steady_cycles"] = steady
        seconds = [float(str(cycle["seconds"])) for cycle in steady]
        report["steady_seconds"] = seconds
        report["steady_median_seconds"] = statistics.median(seconds)
        report.update(storage(engine, len(ids), args.days, sqlite_path))
        report.update(status_reads(engine, ids, end + 60 * (1 + len(steady)), args.reads))
    report["backend"] = "sqlite" if args.sqlite else "postgresql"
    report["workdir"] = str(workdir)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
