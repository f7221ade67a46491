"""Bounded work (issue 15) on one ``slo-service serve`` process: what a drift batch at the body
limit costs the server in memory, what a body past the limit and the history bomb cost, and
how long a CSV header of many duplicate columns takes to refuse.

The server runs with ``SLO_MAX_UPLOAD_BYTES`` at ``--limit-mb`` (64 MiB, the default setting).
After a 100,000-row reference, one production batch as close under the limit as the data
allows is posted as JSON, then the same batch as CSV. The server's peak resident memory
(VmHWM, reset before each request through /proc/<pid>/clear_refs) is read after each and set
against its resident memory before it and against the body: the memory bound of an upload.
Then a chunked body four times the limit is sent until the server stops it, the history bomb
(``from=0001-01-01&to=9999-12-31&step=1m``) is asked of a push SLO with three days of events,
and CSV headers of 20k, 50k and 100k columns, each name twice, are parsed in-process (CPU
seconds) and the 100k one is also posted.
"""

import argparse
import contextlib
import os
import shlex
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import orjson

from bench import load
from bench.drift import (
    CSV,
    JSON,
    Columns,
    Feature,
    admin_token,
    csv_body,
    dataset,
    features,
    memory_mb,
    server_pid,
)
from slo_service.domain import drift_columns
from slo_service.errors import InvalidInput

Rows = list[tuple[str, str]]
MiB = 1 << 20
BOMB = {"from": "0001-01-01T00:00:00Z", "to": "9999-12-31T00:00:00Z", "step": "1m"}


def reset_peak(pid: int) -> float:
    """Set the process's peak resident memory (VmHWM) back to what it holds now; that, in MB."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    return memory_mb(pid)[0]


def batch_at_limit(specs: list[Feature], limit: int, kind: str, seed: int) -> bytes:
    """A production batch whose body (JSON or CSV) is as large as fits under ``limit``."""
    rng = np.random.default_rng(seed)
    per_row = len(encode(dataset(specs, 10_000, 0.5, rng), kind)) / 10_000
    rows = int(limit / per_row * 0.995)
    while len(body := encode(dataset(specs, rows, 0.5, rng), kind)) > limit:
        rows = int(rows * 0.995)
    return body


def encode(columns: Columns, kind: str) -> bytes:
    return orjson.dumps({"columns": columns}) if kind == JSON else csv_body(columns)


def post_batch(
    client: httpx.Client, service: str, body: bytes, kind: str, pid: int, what: str = ""
) -> Rows:
    """One batch; its answer, time and the server's memory against the body."""
    before = reset_peak(pid)
    started = time.perf_counter()
    response = client.post(f"/api/v1/drift/{service}/batches", content=body,
                           headers={"Content-Type": kind})  # fmt: skip
    seconds = time.perf_counter() - started
    if response.status_code != 201:
        raise SystemExit(f"batch: {response.status_code} {response.text[:1000]}")
    rss, peak = memory_mb(pid)
    mb = len(body) / MiB
    name = "JSON" if kind == JSON else "CSV"
    return [
        (f"  {name} batch{what}: {response.json()['rows']:,} rows",
         f"{mb:.1f} MiB, {seconds:.2f} s"),
        ("    server RSS before / peak during / after",
         f"{before:.0f} / {peak:.0f} / {rss:.0f} MB"),
        ("    peak growth over the RSS before",
         f"{peak - before:.0f} MB = {(peak - before) / mb:.1f} x the body"),
    ]  # fmt: skip


def worst_cases(client: httpx.Client, values: int, limit: int, pid: int) -> Rows:
    """Batches of the most values an upload may hold, each as short as it can be: what the
    parsers and the statistics hold grows with the values, not the bytes. Then a body at the
    byte limit of such values, which holds more than that and is refused before parsing."""
    rows: Rows = [(f"the most values an upload may hold ({values:,}), as short as can be", "")]
    cases: list[tuple[str, str, str, Callable[[int], bytes]]] = [
        ("numbers", JSON, "0.5", lambda n: orjson.dumps({"columns": {"x": [0.5] * n}})),
        ("numbers", CSV, "7", lambda n: b"x\n" + b"7\n" * n),
        ("categories", JSON, '"a"', lambda n: orjson.dumps({"columns": {"x": ["a"] * n}})),
        ("categories", CSV, "a", lambda n: b"x\n" + b"a\n" * n),
    ]
    for kind, content, value, make in cases:
        service = f"bench-worst-{kind}"
        sample = [0.5, 1.5, 2.5] if kind == "numbers" else ["a", "b"]
        client.post(f"/api/v1/drift/{service}/reference", json={"columns": {"x": sample * 10}})
        body = make(values - 10)
        rows += post_batch(client, service, body, content, pid, f" of {kind} like {value}")
    before = reset_peak(pid)
    body = b"x\n" + b"7\n" * ((limit - 2) // 2)
    started = time.perf_counter()
    response = client.post("/api/v1/drift/bench-worst-numbers/batches", content=body,
                           headers={"Content-Type": CSV})  # fmt: skip
    seconds = time.perf_counter() - started
    rows += [
        (f"  CSV batch of {len(body) / MiB:.0f} MiB like 7 ({len(body) // 2:,} values)",
         f"{response.status_code} {response.json()['error']} in {seconds:.2f} s"),
        ("    server peak growth", f"{memory_mb(pid)[1] - before:.0f} MB"),
    ]  # fmt: skip
    return rows


def chunked_past_limit(client: httpx.Client, service: str, limit: int, pid: int) -> Rows:
    """A chunked body four times the limit, sent until the server refuses it."""
    sent = 0

    def body() -> Iterator[bytes]:
        nonlocal sent
        chunk = b"1," * (32 * 1024)
        for _ in range(4 * limit // len(chunk)):
            sent += len(chunk)
            yield chunk

    before = reset_peak(pid)
    started = time.perf_counter()
    response = client.post(f"/api/v1/drift/{service}/batches", content=body(),
                           headers={"Content-Type": CSV})  # fmt: skip
    seconds = time.perf_counter() - started
    peak = memory_mb(pid)[1]
    return [
        (f"  chunked body of {4 * limit / MiB:.0f} MiB", f"{response.status_code} "
         f"{response.json()['error']} in {seconds:.2f} s"),
        ("    sent before the server stopped it", f"{sent / MiB:.1f} MiB"),
        ("    server peak growth", f"{max(peak - before, 0):.0f} MB"),
    ]  # fmt: skip


def history_bomb(client: httpx.Client, pid: int) -> Rows:
    """The bomb asked of a push SLO with events from three days ago to now."""
    slo = {"service": "bench-bomb", "name": "availability", "kind": "availability",
           "objective": 0.99, "window": "1d", "sli": {"source": "push"}}  # fmt: skip
    client.post("/api/v1/slos", json=slo).raise_for_status()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    events = [{"slo": "bench-bomb:availability", "good": 99, "total": 100, "event_id": f"e-{h}",
               "timestamp": (now - timedelta(hours=h)).isoformat()} for h in range(72)]  # fmt: skip
    client.post("/api/v1/events", json={"events": events}).raise_for_status()
    url = "/api/v1/slos/bench-bomb:availability/history"
    client.get(url).raise_for_status()
    before = reset_peak(pid)
    started = time.perf_counter()
    response = client.get(url, params=BOMB)
    seconds = time.perf_counter() - started
    peak = memory_mb(pid)[1]
    hourly = client.get(url, params={**BOMB, "step": "1h"})
    return [
        ("  GET history?" + "&".join(f"{k}={v}" for k, v in BOMB.items()), ""),
        ("    answer", f"{response.status_code} in {seconds * 1000:.0f} ms: "
         f"{response.json()['detail'][:90]}..."),
        ("    server peak growth", f"{peak - before:.1f} MB"),
        ("    the same with step=1h", f"{hourly.status_code}, {len(hourly.json()['points'])} "
         "points (cut to the data and now)"),
    ]  # fmt: skip


def duplicate_columns(client: httpx.Client) -> Rows:
    """CSV headers of N columns, each name twice: CPU seconds in-process, and over HTTP."""
    rows: Rows = [("CSV header of N columns, each name twice (refused: 422)", "")]
    text = ""
    for columns in (20_000, 50_000, 100_000):
        names = [f"c{i}" for i in range(columns // 2)] * 2
        text = ",".join(names) + "\n" + ",".join("1" for _ in names) + "\n"
        started = time.process_time()
        with contextlib.suppress(InvalidInput):
            drift_columns.from_csv(text, {})
        cpu = time.process_time() - started
        rows.append((f"  {columns:,} columns, in-process CPU", f"{cpu:.3f} s"))
    started = time.perf_counter()
    response = client.post(
        "/api/v1/drift/bench-dup/reference", content=text, headers={"Content-Type": CSV}
    )
    seconds = time.perf_counter() - started
    answer = f"{response.status_code} in {seconds:.3f} s, {len(response.content):,} bytes"
    rows.append(("  100,000 columns over HTTP", answer))
    return rows


def run(url: str, args: argparse.Namespace) -> Rows:
    limit = args.limit_mb * MiB
    # For the server process that load.server starts (it passes this environment on).
    os.environ["SLO_MAX_UPLOAD_BYTES"] = str(limit)
    os.environ["SLO_MAX_UPLOAD_VALUES"] = str(args.values)
    token = admin_token(url)
    specs = features(args.features)
    service = "bench-limit"
    headers = {"Authorization": f"Bearer {token}"}
    with (
        load.server(url, args.port) as base,
        httpx.Client(base_url=base, headers=headers, timeout=600) as client,
    ):
        pid = server_pid(args.port)
        reference = orjson.dumps(
            {"columns": dataset(specs, 100_000, 0.0, np.random.default_rng(1))}
        )
        client.post(f"/api/v1/drift/{service}/reference", content=reference,
                    headers={"Content-Type": JSON}).raise_for_status()  # fmt: skip
        rows: Rows = [(f"drift batches at the upload limit ({args.limit_mb} MiB, "
                       f"{len(specs)} features)", "")]  # fmt: skip
        for kind in (JSON, CSV):
            body = batch_at_limit(specs, limit, kind, seed=2)
            rows += post_batch(client, service, body, kind, pid)
            del body
        rows += worst_cases(client, args.values, limit, pid)
        rows += [("past the limit", ""), *chunked_past_limit(client, service, limit, pid)]
        rows += [("the history bomb", ""), *history_bomb(client, pid)]
        rows += duplicate_columns(client)
    return rows


def table(rows: Rows) -> str:
    width = max(len(label) for label, value in rows if value)
    return "\n".join(f"{label:<{width}}  {value}" if value else label for label, value in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", help="default: a new SQLite file")
    parser.add_argument(
        "--postgres", action="store_true", help="start a throwaway Postgres cluster and use it"
    )
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--limit-mb", type=int, default=64, help="SLO_MAX_UPLOAD_BYTES in MiB")
    parser.add_argument("--values", type=int, default=5_000_000, help="SLO_MAX_UPLOAD_VALUES")
    parser.add_argument("--features", type=int, default=20, help="a quarter categorical")
    args = parser.parse_args()
    started = time.perf_counter()
    with load.database(args) as url:
        rows = [("backend / cpus", f"{load.backend(url)} / {os.cpu_count()}"), *run(url, args)]
    print(table(rows))
    print(f"\ncommand: {shlex.join(['.venv/bin/python', '-m', 'bench.body_limit', *sys.argv[1:]])}")
    print(f"run took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
