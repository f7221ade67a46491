"""Drift batches on one ``slo-service serve`` process: the wall time of one production batch
of 100,000 rows x 20 features (target: at most 2 s), as JSON and as CSV, and whether the
server's memory is bounded by the batch rather than by the history stored.

One reference, then N batches (some drifted, an hour apart in the past) posted one after the
other by one client, each body serialised before its timer starts. After every batch the
server's resident memory (VmRSS) and its peak so far (VmHWM) are read from /proc. The peak is
the figure that says whether memory is bounded by the batch: it is reached in the first
batches and would keep rising if a batch's work grew with the history stored. RSS after a
request may creep up towards it for a while, as the allocators keep memory that was freed.
What history costs is the measurement rows per batch and the bytes the drift tables grow by.
Last, the server-side work of one batch is timed in-process, without HTTP: JSON decoding,
validation, column parsing and the statistics, so that the figures say where the time goes
(``--profile`` adds cProfile's top functions).
"""

import argparse
import cProfile
import csv
import gc
import io
import os
import pstats
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import numpy as np
import orjson
from sqlalchemy import text

from bench import load
from slo_service import migrate
from slo_service.db import make_engine, session_scope
from slo_service.domain import drift, drift_columns
from slo_service.domain.drift_columns import CategoricalColumn, Column, FeatureType, NumericColumn
from slo_service.domain.scopes import Scope
from slo_service.schemas.drift import BatchIn
from slo_service.services import tokens

T = TypeVar("T")
Columns = dict[str, list[Any]]
Rows = list[tuple[str, str]]
Profiles = dict[str, drift.NumericProfile | drift.CategoricalProfile]

TARGET_SECONDS = 2.0
SHIFTS = (0.0, 0.1, 0.25, 0.5, 1.0)  # batch b shifts its drifting features by SHIFTS[b % 5]
NULL_SHARE = 0.01  # of the rows of every 7th feature
DRIFT_TABLES = ("drift_measurement", "drift_batch")
JSON, CSV = "application/json", "text/csv"


@dataclass(frozen=True)
class Feature:
    """One synthetic feature: normal, lognormal or categorical; every third one drifts."""

    name: str
    kind: str
    index: int
    categories: int = 0

    @property
    def drifts(self) -> bool:
        return self.index % 3 == 0

    @property
    def has_nulls(self) -> bool:
        return self.index % 7 == 3


def features(count: int) -> list[Feature]:
    """A quarter categorical (20 to 50 categories each), the rest normal or lognormal."""
    categorical = count // 4
    numeric = [
        Feature(f"num_{i:02d}", "normal" if i % 2 == 0 else "lognormal", i)
        for i in range(count - categorical)
    ]
    return numeric + [
        Feature(f"cat_{j:02d}", "categorical", count - categorical + j, 20 + (j * 7) % 31)
        for j in range(categorical)
    ]


def values(feature: Feature, rows: int, shift: float, rng: np.random.Generator) -> list[Any]:
    """``rows`` values of ``feature``, moved by ``shift`` (standard deviations, or for a
    categorical feature the share of its mass moved towards its rarest categories)."""
    shift = shift if feature.drifts else 0.0
    scale = 1.0 + feature.index % 3
    if feature.kind == "normal":
        column: list[Any] = rng.normal(10.0 * feature.index + shift * scale, scale, rows).tolist()
    elif feature.kind == "lognormal":
        sigma = 0.5 + 0.25 * (feature.index % 3)
        column = rng.lognormal(shift * sigma, sigma, rows).tolist()
    else:
        weights = 1.0 / np.arange(1, feature.categories + 1) ** 0.8
        weights = (1 - min(shift, 1.0) / 2) * weights + min(shift, 1.0) / 2 * weights[::-1]
        labels = np.array([f"c{k:02d}" for k in range(feature.categories)])
        column = labels[rng.choice(feature.categories, rows, p=weights / weights.sum())].tolist()
    if feature.has_nulls:
        for row in rng.choice(rows, int(rows * NULL_SHARE), replace=False).tolist():
            column[row] = None
    return column


def dataset(specs: list[Feature], rows: int, shift: float, rng: np.random.Generator) -> Columns:
    return {feature.name: values(feature, rows, shift, rng) for feature in specs}


def csv_body(columns: Columns) -> bytes:
    """The columns as CSV with a header row; a null is an empty cell."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(zip(*columns.values(), strict=True))
    return out.getvalue().encode()


def admin_token(url: str) -> str:
    engine = make_engine(url)
    migrate.upgrade(engine)
    with session_scope(engine) as session:
        _, token = tokens.create(
            session, name=f"bench-drift-{time.time_ns()}", scopes=[Scope.ADMIN], actor="bench"
        )
    engine.dispose()
    return token


def server_pid(port: int) -> int:
    """The pid of the ``slo-service serve`` child that ``load.server`` started on ``port``."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == os.getpid() and b"serve" in command and str(port).encode() in command:
            return int(entry.name)
    raise SystemExit("the server process is not among this process's children")


def memory_mb(pid: int) -> tuple[float, float]:
    """The process's resident memory now and its peak so far (VmRSS, VmHWM), in MB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def stored_bytes(url: str) -> tuple[int, int]:
    """Bytes of the drift measurement and batch tables (with their indexes), and of the whole
    database (SQLite: the file and its WAL)."""
    names = ", ".join(f"'{table}'" for table in DRIFT_TABLES)
    engine = make_engine(url)
    with engine.connect() as connection:
        if load.backend(url) == "sqlite":
            tables = connection.execute(
                text(
                    "SELECT SUM(d.pgsize) FROM dbstat d JOIN sqlite_master m ON m.name = d.name "
                    f"WHERE m.tbl_name IN ({names})"
                )
            ).scalar()
            path = Path(url.split("///", 1)[1])
            files = [path, path.with_name(path.name + "-wal")]
            database = sum(p.stat().st_size for p in files if p.exists())
        else:
            sizes = " + ".join(f"pg_total_relation_size('{t}')" for t in DRIFT_TABLES)
            tables = connection.execute(text(f"SELECT {sizes}")).scalar()
            database = connection.execute(
                text("SELECT pg_database_size(current_database())")
            ).scalar_one()
    engine.dispose()
    return int(tables or 0), int(database)


def post(client: httpx.Client, path: str, body: bytes, kind: str, **params: str) -> float:
    """POST ``body`` as ``kind``; the client's wall time in seconds, or exit on an error."""
    started = time.perf_counter()
    response = client.post(path, content=body, headers={"Content-Type": kind}, params=params)
    elapsed = time.perf_counter() - started
    if response.status_code != 201:
        raise SystemExit(f"POST {path}: {response.status_code} {response.text[:2000]}")
    return elapsed


@dataclass
class Sent:
    """What sending batches of one format measured, per batch."""

    seconds: list[float] = field(default_factory=list)
    body_mb: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Plan:
    """The batches of one format: their features, rows, first index, timestamps and seed."""

    specs: list[Feature]
    rows: int
    first: int
    times: list[datetime]
    seed: int


def send_batches(client: httpx.Client, service: str, plan: Plan, kind: str, pid: int) -> Sent:
    """One batch per timestamp of ``plan``, each serialised before its timer starts; the
    server's memory is read after each."""
    sent = Sent()
    rng = np.random.default_rng(plan.seed + 1 + plan.first)
    path = f"/api/v1/drift/{service}/batches"
    for index, at in enumerate(plan.times, start=plan.first):
        columns = dataset(plan.specs, plan.rows, SHIFTS[index % len(SHIFTS)], rng)
        key = f"batch-{index}"
        if kind == JSON:
            body = orjson.dumps({"columns": columns, "timestamp": at.isoformat(), "batch_id": key})
            seconds = post(client, path, body, JSON)
        else:
            body = csv_body(columns)
            seconds = post(client, path, body, CSV, timestamp=at.isoformat(), batch_id=key)
        del columns
        rss, peak = memory_mb(pid)
        sent.seconds.append(seconds)
        sent.body_mb.append(len(body) / 1e6)
        sent.rss_mb.append(rss)
        sent.peak_mb.append(peak)
    return sent


def history_count(client: httpx.Client, service: str) -> int:
    response = client.get(f"/api/v1/drift/{service}", params={"limit": 1})
    response.raise_for_status()
    count: int = response.json()["history"]["count"]
    return count


def timed(function: Callable[[], T], repeats: int) -> tuple[float, T]:
    """The median wall time of ``repeats`` calls, and the last call's result."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def profiles_of(reference: Columns) -> Profiles:
    """The reference's profiles, as the server stores them."""
    result: Profiles = {}
    for name, column in drift_columns.from_json(reference, {}).items():
        if isinstance(column, NumericColumn):
            result[name] = drift.numeric_profile(column.values, column.nulls)
        else:
            result[name] = drift.categorical_profile(column.values, column.nulls)
    return result


def types_of(profiles: Profiles) -> dict[str, FeatureType]:
    return {
        name: FeatureType.NUMERIC
        if isinstance(profile, drift.NumericProfile)
        else FeatureType.CATEGORICAL
        for name, profile in profiles.items()
    }


def measure(profiles: Profiles, columns: dict[str, Column], kind: FeatureType) -> None:
    """The statistics of the batch's features of type ``kind``, as the server computes them."""
    for name, column in columns.items():
        profile = profiles[name]
        if kind is FeatureType.NUMERIC and isinstance(column, NumericColumn):
            assert isinstance(profile, drift.NumericProfile)
            drift.numeric_drift(profile, column.values, column.nulls)
        elif kind is FeatureType.CATEGORICAL and isinstance(column, CategoricalColumn):
            assert isinstance(profile, drift.CategoricalProfile)
            drift.categorical_drift(profile, column.values, column.nulls)


def server_side(profiles: Profiles, body: bytes, csv_text: str, repeats: int) -> dict[str, float]:
    """Seconds (median of ``repeats``) of each step of the server's work on one batch."""
    types = types_of(profiles)
    decode, data = timed(lambda: orjson.loads(body), repeats)
    validate, batch = timed(lambda: BatchIn.model_validate(data), repeats)
    parse, columns = timed(lambda: drift_columns.from_json(batch.columns, types), repeats)
    numeric, _ = timed(lambda: measure(profiles, columns, FeatureType.NUMERIC), repeats)
    categorical, _ = timed(lambda: measure(profiles, columns, FeatureType.CATEGORICAL), repeats)
    csv_parse, _ = timed(lambda: drift_columns.from_csv(csv_text, types), repeats)
    return {
        "JSON decode (orjson.loads)": decode,
        "validate (BatchIn.model_validate)": validate,
        "parse (drift_columns.from_json)": parse,
        "measure numeric features": numeric,
        "measure categorical features": categorical,
        "CSV parse (drift_columns.from_csv)": csv_parse,
    }


def profile_batch(profiles: Profiles, body: bytes, csv_text: str, top: int = 15) -> str:
    """cProfile's top functions, by own time, of one JSON batch's decoding, validation,
    parsing and statistics in-process, and of parsing the same batch as CSV."""
    types = types_of(profiles)

    def one_batch() -> None:
        columns = drift_columns.from_json(BatchIn.model_validate(orjson.loads(body)).columns, types)
        measure(profiles, columns, FeatureType.NUMERIC)
        measure(profiles, columns, FeatureType.CATEGORICAL)

    def csv_batch() -> None:
        drift_columns.from_csv(csv_text, types)

    out = io.StringIO()
    for title, function in [
        ("one JSON batch: decode, validate, parse, measure", one_batch),
        ("the same batch as CSV: drift_columns.from_csv", csv_batch),
    ]:
        profiler = cProfile.Profile()
        profiler.runcall(function)
        out.write(f"\ncProfile, in-process, {title}:\n")
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


@dataclass
class Measured:
    """What the run over HTTP measured."""

    reference_mb: float
    reference_seconds: float
    idle_mb: float
    reference_rss_mb: float
    json: Sent
    csv: Sent
    measurements: int
    tables_bytes: int
    database_bytes: int


def plans(specs: list[Feature], args: argparse.Namespace) -> tuple[Plan, Plan]:
    """The JSON batches, then the CSV ones, an hour apart and ending an hour ago."""
    total = args.batches + args.csv_batches
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    times = [hour - timedelta(hours=total - i) for i in range(total)]
    return (
        Plan(specs, args.rows, 0, times[: args.batches], args.seed),
        Plan(specs, args.rows, args.batches, times[args.batches :], args.seed),
    )


def over_http(
    url: str, args: argparse.Namespace, specs: list[Feature], reference: Columns
) -> Measured:
    """The reference, the JSON batches and the CSV ones on one server process."""
    token = admin_token(url)
    service = f"bench-drift-{time.time_ns() % 10**9}"
    json_plan, csv_plan = plans(specs, args)
    headers = {"Authorization": f"Bearer {token}"}
    with (
        load.server(url, args.port) as base,
        httpx.Client(base_url=base, headers=headers, timeout=600) as client,
    ):
        pid = server_pid(args.port)
        idle = memory_mb(pid)[0]
        body = orjson.dumps({"columns": reference})
        seconds = post(client, f"/api/v1/drift/{service}/reference", body, JSON)
        reference_rss = memory_mb(pid)[0]
        tables_before, _ = stored_bytes(url)
        progress(f"reference: {seconds:.2f} s; {args.batches} JSON batches")
        sent_json = send_batches(client, service, json_plan, JSON, pid)
        progress(f"{args.csv_batches} CSV batches")
        sent_csv = send_batches(client, service, csv_plan, CSV, pid)
        measurements = history_count(client, service)
        tables_after, database = stored_bytes(url)
    return Measured(
        len(body) / 1e6, seconds, idle, reference_rss, sent_json, sent_csv,
        measurements, tables_after - tables_before, database,
    )  # fmt: skip


def progress(message: str) -> None:
    print(f"[bench.drift] {message}", file=sys.stderr, flush=True)


def spread(seconds: list[float]) -> str:
    """p50 / mean / max of per-batch seconds."""
    return (
        f"{statistics.median(seconds):.2f} / {statistics.fmean(seconds):.2f} / {max(seconds):.2f} s"
    )


def http_rows(args: argparse.Namespace, specs: list[Feature], m: Measured) -> Rows:
    numeric = sum(f.kind != "categorical" for f in specs)
    over = sum(s > TARGET_SECONDS for s in m.json.seconds + m.csv.seconds)
    return [
        ("over HTTP (one client, sequential; client wall time)", ""),
        ("  features", f"{len(specs)} ({numeric} numeric, {len(specs) - numeric} categorical)"),
        (f"  reference: {args.reference_rows:,} rows", f"{m.reference_mb:.1f} MB JSON, "
         f"{m.reference_seconds:.2f} s"),
        (f"  JSON batches: {len(m.json.seconds)} x {args.rows:,} rows",
         f"{statistics.fmean(m.json.body_mb):.1f} MB each"),
        ("    seconds per batch p50 / mean / max", spread(m.json.seconds)),
        ("    first batch", f"{m.json.seconds[0]:.2f} s"),
        (f"  CSV batches: {len(m.csv.seconds)} x {args.rows:,} rows",
         f"{statistics.fmean(m.csv.body_mb):.1f} MB each" if m.csv.seconds else "none"),
        ("    seconds per batch p50 / mean / max", spread(m.csv.seconds) if m.csv.seconds else "-"),
        ("    each, in order", " ".join(f"{s:.2f}" for s in m.csv.seconds) or "-"),
        (f"  batches over the {TARGET_SECONDS:g} s target", f"{over} of "
         f"{len(m.json.seconds) + len(m.csv.seconds)}"),
    ]  # fmt: skip


def memory_rows(m: Measured) -> Rows:
    rss, peak = m.json.rss_mb, m.json.peak_mb
    n, fifth = len(rss), min(5, len(rss))
    rows: Rows = [
        ("server memory (VmRSS after each request; VmHWM = peak so far)", ""),
        ("  RSS idle / after the reference", f"{m.idle_mb:.0f} / {m.reference_rss_mb:.0f} MB"),
        (f"  RSS after JSON batch 1 / {fifth} / {n}", f"{rss[0]:.0f} / {rss[fifth - 1]:.0f} / "
         f"{rss[-1]:.0f} MB"),
        (f"  RSS after JSON batches {series_of(n)}", series(rss, n)),
        ("  RSS max after a JSON batch", f"{max(rss):.0f} MB"),
        (f"  RSS growth JSON batch {fifth} -> {n}", f"{rss[-1] - rss[fifth - 1]:+.1f} MB"),
        (f"  peak after JSON batch 1 / {fifth} / {n}", f"{peak[0]:.0f} / {peak[fifth - 1]:.0f} / "
         f"{peak[-1]:.0f} MB"),
        (f"  peak growth JSON batch {fifth} -> {n}", f"{peak[-1] - peak[fifth - 1]:+.1f} MB"),
    ]  # fmt: skip
    if m.csv.rss_mb:
        rows.append(("  RSS / peak after the CSV batches", f"{m.csv.rss_mb[-1]:.0f} / "
                     f"{m.csv.peak_mb[-1]:.0f} MB"))  # fmt: skip
    return rows


def checkpoints(n: int) -> list[int]:
    """Batch numbers (1-based) to show a series at: 1, then every 5th (every tenth of n past 50)."""
    step = 5 if n <= 50 else n // 10
    return sorted({1, *range(step, n + 1, step), n})


def series_of(n: int) -> str:
    return ",".join(map(str, checkpoints(n)))


def series(values: list[float], n: int) -> str:
    return " ".join(f"{values[i - 1]:.0f}" for i in checkpoints(n)) + " MB"


def history_rows(m: Measured, backend: str) -> Rows:
    batches = len(m.json.seconds) + len(m.csv.seconds)
    where = "SQLite file + WAL" if backend == "sqlite" else "pg_database_size"
    return [
        ("what history costs", ""),
        ("  drift_measurement rows (history.count)", f"{m.measurements:,} = "
         f"{m.measurements / batches:g} per batch"),
        ("  drift_measurement + drift_batch, per batch", f"{m.tables_bytes / batches / 1024:.1f} "
         "KiB (with indexes)"),
        (f"  database size at the end ({where})", f"{m.database_bytes / 1e6:.1f} MB"),
    ]  # fmt: skip


def in_process_rows(steps: dict[str, float], json_p50: float, rows: int) -> Rows:
    """The server's steps for one batch, and what the HTTP figure adds to them."""
    json_steps = sum(v for k, v in steps.items() if not k.startswith("CSV"))
    result: Rows = [(f"in-process, one JSON batch of {rows:,} rows (median of 3)", "")]
    result += [(f"  {name}", f"{seconds:.3f} s") for name, seconds in steps.items()]
    result += [
        ("  JSON steps together", f"{json_steps:.3f} s"),
        ("  HTTP p50 minus them (body transfer, DB, response)", f"{json_p50 - json_steps:.3f} s"),
    ]
    return result


def table(rows: Rows) -> str:
    width = max(len(label) for label, value in rows if value)
    return "\n".join(f"{label:<{width}}  {value}" if value else label for label, value in rows)


def run(url: str, args: argparse.Namespace) -> str:
    """Measure over HTTP, then in-process; the figures as a table."""
    specs = features(args.features)
    reference = dataset(specs, args.reference_rows, 0.0, np.random.default_rng(args.seed))
    measured = over_http(url, args, specs, reference)
    progress("in-process timing")
    sample = dataset(specs, args.rows, 0.5, np.random.default_rng(args.seed + 10_000))
    body = orjson.dumps({"columns": sample, "batch_id": "in-process"})
    csv_text = csv_body(sample).decode()
    profiles = profiles_of(reference)
    del reference, sample
    # As the server does at start: what is alive now stays out of the collector's passes.
    gc.collect()
    gc.freeze()
    steps = server_side(profiles, body, csv_text, repeats=3)
    backend = load.backend(url)
    rows: Rows = [("backend / cpus", f"{backend} / {os.cpu_count()}")]
    rows += http_rows(args, specs, measured)
    rows += memory_rows(measured)
    rows += history_rows(measured, backend)
    rows += in_process_rows(steps, statistics.median(measured.json.seconds), args.rows)
    report = table(rows)
    if args.profile:
        report += "\n" + profile_batch(profiles, body, csv_text)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", help="default: a new SQLite file")
    parser.add_argument(
        "--postgres", action="store_true", help="start a throwaway Postgres cluster and use it"
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--rows", type=int, default=100_000, help="rows per production batch")
    parser.add_argument("--reference-rows", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=20, help="a quarter categorical")
    parser.add_argument("--batches", type=int, default=30, help="JSON production batches")
    parser.add_argument("--csv-batches", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="add cProfile's top functions")
    args = parser.parse_args()
    started = time.perf_counter()
    with load.database(args) as url:
        report = run(url, args)
    print(report)
    print(f"\ncommand: {shlex.join(['.venv/bin/python', '-m', 'bench.drift', *sys.argv[1:]])}")
    print(f"run took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
