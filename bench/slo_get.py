"""GET /api/v1/slos/{id} on one server process, N concurrent clients: p50, p99, requests/s."""

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from slo_service import schema
from slo_service.db import make_engine, session_scope
from slo_service.domain.scopes import Scope
from slo_service.schemas import SLOCreate
from slo_service.services import slos, tokens
from slo_service.sources.base import NoQueryChecker
from tests.support.servers import postgres_cluster


def seed(url: str, count: int) -> tuple[str, list[int]]:
    engine = make_engine(url)
    schema.upgrade(engine)
    with session_scope(engine) as session:
        _, token = tokens.create(
            session, name=f"bench-{time.time_ns()}", scopes=[Scope.READ], actor="bench"
        )
        ids = []
        for index in range(count):
            data = SLOCreate.model_validate(
                {
                    "service": f"model-{index // 5}",
                    "name": f"bench-{time.time_ns()}-{index}",
                    "kind": "latency",
                    "objective": 0.95,
                    "params": {"threshold_ms": 500},
                    "labels": {"team": "bench"},
                }
            )
            ids.append(slos.create(session, slos.prepare(data, NoQueryChecker()), actor="bench").id)
    engine.dispose()
    return token, [i for i in ids if i is not None]


WRK_SCRIPT = """
local ids = {%s}
request = function()
  return wrk.format("GET", "/api/v1/slos/" .. ids[math.random(#ids)])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%d %%.3f %%.3f %%.3f\\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout, summary.duration, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
"""


def wrk(base: str, token: str, ids: list[int], clients: int, seconds: float) -> dict[str, float]:
    """Run wrk (Debian's package): one thread, ``clients`` connections, random SLO ids."""
    binary = shutil.which("wrk")
    if binary is None:
        raise SystemExit("wrk not found: apt-get install wrk")
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(WRK_SCRIPT % ",".join(map(str, ids)))
    command = [binary, "-t1", f"-c{clients}", f"-d{seconds}s", "-s", str(script),
               "-H", f"Authorization: Bearer {token}", base]  # fmt: skip
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    requests, errors, micros, p50, p99, worst = line.split()[1:]
    return {
        "requests": int(requests),
        "errors": int(errors),
        "requests_per_second": round(int(requests) / (int(micros) / 1e6), 1),
        "p50_ms": float(p50),
        "p99_ms": float(p99),
        "max_ms": float(worst),
    }


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", help="default: a new SQLite file")
    parser.add_argument(
        "--postgres", action="store_true", help="start a throwaway Postgres cluster and use it"
    )
    parser.add_argument("--slos", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="slo-bench-"))
    workdir.chmod(0o755)
    with contextlib.ExitStack() as stack:
        if args.postgres:
            url = stack.enter_context(postgres_cluster(workdir / "postgres"))
        else:
            url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
        print(json.dumps(run(url, args), indent=2))


def run(url: str, args: argparse.Namespace) -> dict[str, object]:
    token, ids = seed(url, args.slos)
    base = f"http://127.0.0.1:{args.port}"
    env = {
        **os.environ,
        "SLO_DATABASE_URL": url,
        "SLO_MIGRATE_ON_START": "false",
        "SLO_SCHEDULER": "false",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "slo_service", "serve", "--port", str(args.port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(base, server)
        wrk(base, token, ids, args.clients, args.warmup)
        measured = wrk(base, token, ids, args.clients, args.seconds)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {
        "endpoint": "GET /api/v1/slos/{id}",
        "backend": url.split(":", 1)[0],
        "slos": len(ids),
        "clients": args.clients,
        "seconds": args.seconds,
        **measured,
        "cpus": os.cpu_count(),
    }


if __name__ == "__main__":
    main()
