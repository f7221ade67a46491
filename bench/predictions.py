"""The prediction log at a million predictions a day, on one ``slo-service serve`` process:
N predictions of a binary classifier with scores, spread over the 24 whole hours before the
run, posted in batches by one client; then their labels in batches of the same size. Each is
timed per batch and in all (target: 1,000,000 in at most 30 s each, on Postgres), with the
server's RSS and peak RSS (VmRSS, VmHWM) after every batch: bounded by the batch, they stop
growing after the first batches however many predictions are stored. Then the bytes stored
per million predictions (the tables with their indexes), as stored and, on a database the bench
made, once compacted (the labels' updates leave the old row versions behind until a vacuum),
and the performance query over 30 days (target: at most 500 ms).

Labels: 90% of the predictions get one, 1 to 24 hours after it (never after the run started),
posted in shuffled order; those of 1% of the predictions go before any prediction, to wait in
``pending_label`` and be matched as their predictions land. Each GET is timed after one
untimed request of the same query.

30 days: only one day of predictions goes over HTTP. The other 29 days are copies of the
hourly figures it made (``performance_hour``, shifted back by whole days, one INSERT ...
SELECT per day), which are all a by=time series reads; AUC, which is not additive, reads the
predictions themselves, at most 200,000, so over 30 days it answers null with a reason. A
by=count series reads the labeled predictions: it is timed over the real day's last 2 hours.
"""

import argparse
import shlex
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
from sqlalchemy import text

from bench import load
from bench.drift import memory_mb, server_pid
from slo_service import migrate
from slo_service.db import make_engine, session_scope
from slo_service.domain.scopes import Scope
from slo_service.services import tokens
from tests.support.servers import free_port

HOUR, DAY, COPIED_DAYS = 3600, 86_400, 29
LABELED, EARLY = 0.9, 0.01  # shares of the predictions: labeled, and labeled before logged
TABLES = ("prediction", "performance_hour", "pending_label")
VERSION = "v1"


@dataclass(frozen=True)
class Day:
    """Per prediction its time, score, true class and label time (NaN: none); which are
    labeled before being logged (``early``) and after (``late``), in the order posted."""

    stamps: np.ndarray
    scores: np.ndarray
    truth: np.ndarray
    labeled_at: np.ndarray
    early: np.ndarray
    late: np.ndarray


def synthetic_day(count: int, end: int, now: float, seed: int) -> Day:
    """``count`` predictions in the 24 hours before ``end``, in time order; a positive's
    score is drawn from Beta(5, 2), a negative's from Beta(2, 5) (an AUC near 0.95)."""
    rng = np.random.default_rng(seed)
    stamps = np.sort(rng.uniform(end - DAY, end, count))
    truth = rng.random(count) < 0.3
    scores = np.where(truth, rng.beta(5, 2, count), rng.beta(2, 5, count))
    labeled = rng.permutation(count)[: int(count * LABELED)]
    early, late = labeled[: int(count * EARLY)], labeled[int(count * EARLY) :]
    labeled_at = np.full(count, np.nan)
    delays = rng.uniform(HOUR, DAY, labeled.size)
    labeled_at[labeled] = np.minimum(stamps[labeled] + delays, now)
    return Day(stamps, scores, truth.astype(int), labeled_at, early, late)


def iso(stamps: np.ndarray) -> list[str]:
    """Epoch seconds as ISO 8601 text in UTC, to the millisecond, with a Z."""
    text_ = np.datetime_as_string((stamps * 1000).astype("datetime64[ms]"), unit="ms")
    return [f"{t}Z" for t in text_.tolist()]


def instant(stamp: int) -> str:
    return datetime.fromtimestamp(stamp, UTC).isoformat().replace("+00:00", "Z")


def prediction_bodies(day: Day, batch: int) -> Iterator[bytes]:
    for low in range(0, day.stamps.size, batch):
        at = slice(low, low + batch)
        scores = day.scores[at].tolist()
        items = [
            {"id": f"p{low + i}", "timestamp": t, "model_version": VERSION,
             "prediction": int(s >= 0.5), "score": s}
            for i, (t, s) in enumerate(zip(iso(day.stamps[at]), scores, strict=True))
        ]  # fmt: skip
        yield orjson.dumps({"predictions": items, "task": "classification"})


def label_bodies(day: Day, which: np.ndarray, batch: int) -> Iterator[bytes]:
    for low in range(0, which.size, batch):
        ids = which[low : low + batch]
        rows = zip(ids.tolist(), day.truth[ids].tolist(), iso(day.labeled_at[ids]), strict=True)
        items = [{"id": f"p{i}", "label": label, "labeled_at": at} for i, label, at in rows]
        yield orjson.dumps({"labels": items})


@dataclass
class Sent:
    """What posting a run of batches measured: per batch its seconds and the server's memory
    after it (MB), and the answers' counts added up."""

    seconds: list[float]
    rss_mb: list[float]
    peak_mb: list[float]
    counts: Counter[str]
    wall: float = 0.0


def send(client: httpx.Client, path: str, bodies: Iterator[bytes], pid: int) -> Sent:
    """Post each body (serialised before its timer starts), one after the other."""
    sent = Sent([], [], [], Counter())
    started = time.perf_counter()
    for body in bodies:
        began = time.perf_counter()
        response = client.post(path, content=body, headers={"Content-Type": "application/json"})
        sent.seconds.append(time.perf_counter() - began)
        if response.status_code != 200:
            raise SystemExit(f"POST {path}: {response.status_code} {response.text[:2000]}")
        sent.counts.update({k: v for k, v in response.json().items() if isinstance(v, int)})
        rss, peak = memory_mb(pid)
        sent.rss_mb.append(rss)
        sent.peak_mb.append(peak)
    sent.wall = time.perf_counter() - started
    return sent


def spread(values: Sequence[float], unit: float = 1.0, digits: int = 2) -> dict[str, float]:
    """p50, p95 and max, times ``unit``."""
    p50, p95 = np.percentile(values, [50, 95]).tolist()
    found = {"p50": p50, "p95": p95, "max": max(values)}
    return {name: round(value * unit, digits) for name, value in found.items()}


def figures(sent: Sent, items: int) -> dict[str, object]:
    last, peaks = min(5, len(sent.rss_mb)), [round(sent.peak_mb[i], 1) for i in (0, -1)]
    return {
        "items": items,
        "batches": len(sent.seconds),
        "seconds": round(sum(sent.seconds), 2),
        "wall_seconds_with_client_serialising": round(sent.wall, 2),
        "items_per_second": round(items / sum(sent.seconds)),
        "seconds_per_batch": spread(sent.seconds),
        # Which batches were slow, in order of posting: a pattern points at the cause.
        "slowest_batches": sorted(
            (i, round(seconds, 2))
            for i, seconds in sorted(enumerate(sent.seconds), key=lambda x: -x[1])[:8]
        ),
        "answers": dict(sent.counts),
        "server_rss_mb": {
            "after_first_batch": round(sent.rss_mb[0], 1),
            "max": round(max(sent.rss_mb), 1),
            f"after_last_{last}_batches": [round(v, 1) for v in sent.rss_mb[-last:]],
        },
        "server_peak_mb_after_first_and_last_batch": peaks,
    }


def write_token(url: str) -> str:
    """Migrate, and make a token that may write (and read)."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    with session_scope(engine) as session:
        _, token = tokens.create(
            session, name=f"bench-predictions-{time.time_ns()}", scopes=[Scope.WRITE],
            actor="bench",
        )  # fmt: skip
    engine.dispose()
    return token


def stored_bytes(url: str) -> dict[str, int]:
    """Bytes of each prediction-log table with its indexes, and of the whole database
    (SQLite: the file and its WAL)."""
    sqlite = load.backend(url) == "sqlite"
    sizes = [
        "(SELECT COALESCE(SUM(d.pgsize), 0) FROM dbstat d JOIN sqlite_master m "
        f"ON m.name = d.name WHERE m.tbl_name = '{table}')"
        if sqlite
        else f"pg_total_relation_size('{table}')"
        for table in TABLES
    ]
    engine = make_engine(url)
    with engine.connect() as connection:
        row = connection.execute(text(f"SELECT {', '.join(sizes)}")).one()
        found = dict(zip(TABLES, map(int, row), strict=True))
        if not sqlite:
            size = text("SELECT pg_database_size(current_database())")
            found["database"] = int(connection.execute(size).scalar_one())
    engine.dispose()
    if sqlite:
        path = Path(url.split("///", 1)[1])
        files = [path, path.with_name(path.name + "-wal")]
        found["database"] = sum(p.stat().st_size for p in files if p.exists())
    return found


def maintenance(url: str) -> dict[str, object]:
    """What Postgres's autovacuum did to ``prediction`` during the ingest (its runs share the
    two cores with the server: batches that took much longer than the others met one)."""
    if load.backend(url) == "sqlite":
        return {}
    engine = make_engine(url)
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT autovacuum_count, autoanalyze_count, n_tup_hot_upd, n_tup_upd "
                "FROM pg_stat_user_tables WHERE relname = 'prediction'"
            )
        ).one()
    engine.dispose()
    vacuums, analyzes, hot, updated = map(int, row)
    return {
        "autovacuums": vacuums,
        "autoanalyzes": analyzes,
        "label_updates_heap_only": f"{hot} of {updated}",
    }


def storage(before: dict[str, int], after: dict[str, int], count: int) -> dict[str, object]:
    grown = {name: after[name] - before[name] for name in after}
    tables = sum(grown[table] for table in TABLES)
    return {
        "mb_grown_with_indexes": {name: round(b / 1e6, 1) for name, b in grown.items()},
        "tables_mb_per_million_predictions": round(tables / count, 1),  # bytes each = MB a million
        "tables_bytes_per_prediction": round(tables / count),
    }


def progress(message: str) -> None:
    print(f"[bench.predictions] {message}", file=sys.stderr, flush=True)


def compact(url: str) -> None:
    """Rewrite the prediction-log tables without the row versions the labels' updates left
    (Postgres: VACUUM FULL of each; SQLite: VACUUM of the file)."""
    engine = make_engine(url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if load.backend(url) == "sqlite":
            connection.execute(text("VACUUM"))
        else:
            for table in TABLES:
                connection.execute(text(f"VACUUM FULL {table}"))
    engine.dispose()


def copy_days(url: str, service: str, end: int) -> float:
    """Copy the hourly figures of the day before ``end`` to each of the 29 days before it, one
    INSERT ... SELECT per day; the seconds it took."""
    engine = make_engine(url)
    started = time.perf_counter()
    statement = text(
        "INSERT INTO performance_hour "
        "(service, model_version, hour, predicted, labeled, tally, delays) "
        "SELECT service, model_version, hour - :shift, predicted, labeled, tally, delays "
        "FROM performance_hour WHERE service = :service AND hour >= :first AND hour < :last"
    )
    for days in range(1, COPIED_DAYS + 1):
        with engine.begin() as connection:
            connection.execute(
                statement,
                {"shift": days * DAY, "service": service, "first": end - DAY, "last": end},
            )
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds


def queries(end: int) -> dict[str, dict[str, str]]:
    month = {"from": instant(end - 30 * DAY), "to": instant(end)}
    count = {"by": "count", "window": "1000", "step": "1000"}
    recent = {"from": instant(end - 2 * HOUR), "to": instant(end), **count}
    return {
        "30 days by time, window 1h, f1": {**month, "window": "1h", "metric": "f1"},
        "30 days by time, window 1h, every metric": {**month, "window": "1h"},
        "30 days by time, window 1d, f1": {**month, "window": "1d", "metric": "f1"},
        "30 days by time, window 1d, every metric": {**month, "window": "1d"},
        "last 2 hours by count, window 1000, f1": {**recent, "metric": "f1"},
        "last 2 hours by count, window 1000, every metric": recent,
    }


def timed_query(
    client: httpx.Client, path: str, params: dict[str, str], requests: int
) -> dict[str, object]:
    """One untimed request, then ``requests`` timed: ms p50/p95/max, and what it answered."""
    times = []
    for index in range(requests + 1):
        began = time.perf_counter()
        response = client.get(path, params=params)
        if index:
            times.append(time.perf_counter() - began)
        if response.status_code != 200:
            raise SystemExit(f"GET {path} {params}: {response.status_code} {response.text[:2000]}")
    answer: dict[str, Any] = response.json()
    overall = answer["overall"]
    found: dict[str, object] = {
        "ms": spread(times, 1000, 1),
        "points": len(answer["points"]),
        "kb": round(len(response.content) / 1024, 1),
        "overall_predicted": overall["predicted"],
        "overall_labeled": overall["labeled"],
        "overall_f1": round(overall["metrics"]["f1"]["value"], 4),
    }
    if "auc" in overall["metrics"]:
        auc = overall["metrics"]["auc"]
        found["overall_auc"] = auc["reason"] if auc["value"] is None else round(auc["value"], 4)
    return found


def ingest(
    client: httpx.Client, service: str, day: Day, args: argparse.Namespace, pid: int
) -> dict[str, object]:
    """The early labels, the predictions, then the other labels."""
    labels_path, count, early_count = f"/api/v1/labels/{service}", day.stamps.size, day.early.size
    expected = (early_count, count, early_count, day.late.size)
    progress(f"{day.early.size:,} labels before their predictions")
    early = send(client, labels_path, label_bodies(day, day.early, args.batch), pid)
    progress(f"{count:,} predictions in batches of {args.batch:,}")
    logged = send(client, f"/api/v1/predictions/{service}", prediction_bodies(day, args.batch), pid)
    progress(f"{day.late.size:,} labels")
    labeled = send(client, labels_path, label_bodies(day, day.late, args.batch), pid)
    got = (early.counts["pending"], logged.counts["accepted"], logged.counts["labeled"],
           labeled.counts["matched"])  # fmt: skip
    if got != expected:
        raise SystemExit(f"pending, accepted, labeled on arrival, matched: {got}, not {expected}")
    return {
        "labels_before_their_predictions": {
            "items": early_count, "seconds": round(sum(early.seconds), 2),
            "answers": dict(early.counts),
        },
        "predictions": figures(logged, count),
        "labels": figures(labeled, day.late.size),
    }  # fmt: skip


def stored_and_copied(
    url: str, service: str, end: int, before: dict[str, int], args: argparse.Namespace
) -> dict[str, object]:
    """What the day takes (as stored, and compacted on a database the bench made), then the
    29 copied days of hourly figures: seconds to copy, and what they take."""
    as_stored = storage(before, stored_bytes(url), args.predictions)
    found: dict[str, object] = {"storage_as_stored": as_stored}
    if not args.database_url:  # never rewrite the tables of a database given to the bench
        compact(url)
        found["storage_compacted"] = storage(before, stored_bytes(url), args.predictions)
    progress(f"copying the day's hourly figures to the {COPIED_DAYS} days before it")
    hours_before = stored_bytes(url)["performance_hour"]
    seconds = copy_days(url, service, end)
    grown = stored_bytes(url)["performance_hour"] - hours_before
    found["copied_days"] = {
        "days": COPIED_DAYS,
        "how": "performance_hour rows of the ingested day, shifted back by whole days, one "
        "INSERT ... SELECT per day; the prediction rows are one day's",
        "seconds": round(seconds, 2),
        "performance_hour_mb_grown": round(grown / 1e6, 2),
    }
    return found


def run(url: str, args: argparse.Namespace) -> dict[str, object]:
    """Ingest, store, copy and query, on one server process; the report."""
    token = write_token(url)
    service = f"bench-predictions-{time.time_ns() % 10**9}"
    now = time.time()
    end = int(now // HOUR) * HOUR  # the day: the 24 whole hours before the current one
    day = synthetic_day(args.predictions, end, now, args.seed)
    port = args.port or free_port()
    path = f"/api/v1/services/{service}/performance"
    headers = {"Authorization": f"Bearer {token}"}
    before = stored_bytes(url)
    with (
        load.server(url, port) as base,
        httpx.Client(base_url=base, headers=headers, timeout=600) as client,
    ):
        pid = server_pid(port)
        report: dict[str, object] = {
            "backend": load.backend(url), "service": service,
            "server_rss_mb_idle": round(memory_mb(pid)[0], 1),
        }  # fmt: skip
        report.update(ingest(client, service, day, args, pid))
        report["maintenance"] = maintenance(url)
        report.update(stored_and_copied(url, service, end, before, args))
        timings = {}
        for name, params in queries(end).items():
            progress(f"GET performance: {name}")
            timings[name] = timed_query(client, path, params, args.requests)
        report["queries"] = timings
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--sqlite", action="store_true", help="a new SQLite file, not Postgres")
    where.add_argument("--database-url", help="default: a throwaway Postgres cluster")
    parser.add_argument("--predictions", type=int, default=1_000_000, help="in one day")
    parser.add_argument("--batch", type=int, default=10_000, help="items per POST")
    parser.add_argument("--requests", type=int, default=20, help="timed GETs per query")
    parser.add_argument("--port", type=int, default=0, help="default: a free one")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    started = time.perf_counter()
    postgres = not (args.sqlite or args.database_url)
    where_ = argparse.Namespace(postgres=postgres, database_url=args.database_url)
    with load.database(where_, remove=True) as url:
        report = run(url, args)
    report["command"] = shlex.join([".venv/bin/python", "-m", "bench.predictions", *sys.argv[1:]])
    report["run_seconds"] = round(time.perf_counter() - started)
    print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
