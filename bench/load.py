"""What the HTTP benchmarks share: the database to run on, one ``slo-service serve`` process,
and wrk (Debian's package) requesting random paths from a list."""

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import NotRequired, TypedDict

import httpx

from tests.support.servers import postgres_cluster

# Each request takes a random path; the first response >= 400 (status and body) is kept, so
# that an error count comes with what the error was.
WRK_SCRIPT = """
local paths = {PATHS}
local threads = {}
setup = function(thread)
  table.insert(threads, thread)
end
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
response = function(status, headers, body)
  if status >= 400 and first_error == nil then
    first_error = status .. " " .. body
  end
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %.3f %.3f %.3f\\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout, summary.duration, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
  for _, thread in ipairs(threads) do
    local first = thread:get("first_error")
    if first ~= nil then
      io.write("FIRST_ERROR " .. string.gsub(first, "\\n", " ") .. "\\n")
      break
    end
  end
end
"""


class Measured(TypedDict):
    requests: int
    errors: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    first_error: NotRequired[str]


def main(
    description: str | None,
    run: Callable[[str, argparse.Namespace], dict[str, object]],
    count: str,
    default: int,
) -> None:
    """Parse the options every HTTP benchmark takes and its own ``count`` (how many SLOs or
    services), then print as JSON what ``run`` measures on the database they ask for."""
    parser = argparse.ArgumentParser(description=description)
    add_arguments(parser)
    parser.add_argument(count, type=int, default=default)
    args = parser.parse_args()
    with database(args, remove=True) as url:
        print(json.dumps(run(url, args), indent=2))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the database is, and the load."""
    parser.add_argument("--database-url", help="default: a new SQLite file")
    parser.add_argument(
        "--postgres", action="store_true", help="start a throwaway Postgres cluster and use it"
    )
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--port", type=int, default=8765)


@contextlib.contextmanager
def database(args: argparse.Namespace, *, remove: bool = False) -> Iterator[str]:
    """The URL of the database ``args`` ask for: a throwaway Postgres cluster, the one given,
    or a new SQLite file; with ``remove``, the directory made for it goes afterwards (else
    the caller removes it, or keeps it to run again on the same data)."""
    workdir = Path(tempfile.mkdtemp(prefix="slo-bench-"))
    workdir.chmod(0o755)
    try:
        if args.postgres:
            with postgres_cluster(workdir / "postgres") as url:
                yield url
        else:
            yield args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    finally:
        if remove:
            shutil.rmtree(workdir, ignore_errors=True)


def backend(url: str) -> str:
    return url.split(":", 1)[0]


@contextlib.contextmanager
def server(url: str, port: int) -> Iterator[str]:
    """One ``slo-service serve`` process on ``url`` (no migrations, no scheduler), ready;
    yields its base URL and stops it afterwards."""
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "SLO_DATABASE_URL": url,
        "SLO_MIGRATE_ON_START": "false",
        "SLO_SCHEDULER": "false",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "slo_service", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(base, process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not become ready")


def wrk(
    base: str, paths: Sequence[str], clients: int, seconds: float, *, token: str | None = None
) -> Measured:
    """Run wrk: one thread, ``clients`` connections, each request to a random one of ``paths``.
    ``first_error`` is there when some response was an error: its status and body."""
    binary = shutil.which("wrk")
    if binary is None:
        raise SystemExit("wrk not found: apt-get install wrk")
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(WRK_SCRIPT.replace("PATHS", ",".join(map(json.dumps, paths))))
    command = [binary, "-t1", f"-c{clients}", f"-d{seconds}s", "-s", str(script)]
    if token is not None:
        command += ["-H", f"Authorization: Bearer {token}"]
    try:
        output = subprocess.run([*command, base], check=True, capture_output=True, text=True).stdout
    finally:
        script.unlink()
    lines = output.splitlines()
    result = next(line for line in lines if line.startswith("RESULT "))
    requests, errors, micros, p50, p99, worst = result.split()[1:]
    measured: Measured = {
        "requests": int(requests),
        "errors": int(errors),
        "requests_per_second": round(int(requests) / (int(micros) / 1e6), 1),
        "p50_ms": float(p50),
        "p99_ms": float(p99),
        "max_ms": float(worst),
    }
    first_error = next((line for line in lines if line.startswith("FIRST_ERROR ")), None)
    if first_error is not None:
        measured["first_error"] = first_error.removeprefix("FIRST_ERROR ")[:2000]
    return measured
