"""The longer fuzzing run, for before a release: what ``tests/api/test_fuzz.py`` does (schemathesis
over every operation but the test send, on seeded data, with the server-error, response-schema
and 405 checks, nothing leaving loopback) with more examples, on SQLite and optionally
on a throwaway Postgres. Prints per backend: operations tested, test cases, requests by
status, failures (with schemathesis's report of them), seconds.

    .venv/bin/python -m bench.fuzz                              # SQLite, 500 examples
    .venv/bin/python -m bench.fuzz --postgres                   # and a throwaway Postgres
    .venv/bin/python -m bench.fuzz --max-examples 1000 --seed 7
"""

import argparse
import json
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.api.test_fuzz import PHASES
from tests.support import fuzz
from tests.support.servers import postgres_cluster


@contextmanager
def databases(workdir: Path, postgres: bool) -> Iterator[list[tuple[str, str]]]:
    """(backend, URL) of a new SQLite file, and of a throwaway Postgres cluster if asked."""
    found = [("sqlite", f"sqlite:///{workdir / 'fuzz.db'}")]
    if not postgres:
        yield found
        return
    with postgres_cluster(workdir / "postgres") as url:
        yield [*found, ("postgres", url)]


def measured(backend: str, url: str, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    run = fuzz.run_schemathesis(
        url, workdir, max_examples=args.max_examples, seed=args.seed, phases=PHASES
    )
    cases = run.report.get("test_cases", {})
    figures = {
        "backend": backend,
        "operations": run.operations,
        "test_cases": cases.get("generated"),
        "requests": sum(run.requests.values()),
        "requests_by_status": run.requests,
        "failures": cases.get("unique_failures"),
        "cases_with_failures": cases.get("with_failures"),
        "exit_code": run.returncode,
        "lookups_refused": len(run.lookups_refused),
        "connects_refused": len(run.connects_refused),
        "seconds": round(time.monotonic() - started, 1),
    }
    if run.returncode != 0:
        print(run.output[run.output.find("FAILURES") :] or run.output)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-examples", type=int, default=500, help="per operation and phase")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres", action="store_true", help="also a throwaway Postgres")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="slo-bench-fuzz-"))
    workdir.chmod(0o755)  # the Postgres server runs as user postgres
    with databases(workdir, args.postgres) as targets:
        results = []
        for backend, url in targets:
            place = workdir / f"run-{backend}"
            place.mkdir()
            results.append(measured(backend, url, place, args))
            print(json.dumps(results[-1]), flush=True)  # each as it ends: a run is long
    print(json.dumps({"max_examples": args.max_examples, "seed": args.seed, "runs": results},
                     indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
