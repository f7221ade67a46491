"""schemathesis over every operation of the real server (but the test send of a route), on
SQLite and on Postgres: no server error, every answer as the OpenAPI document says, and a 405
for a method a path does not take, naming those it does.

A fixed seed and a small budget keep this under a minute and a half per backend on two cores;
``bench/fuzz.py`` runs the same with more examples before a release.
"""

import socket
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import fuzz

SEED = 1
MAX_EXAMPLES = 25  # per operation, in each phase that generates
PHASES = "examples,coverage,fuzzing,stateful"


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_schemathesis_finds_no_server_error_and_no_answer_unlike_the_document(
    backend: str, database_factory: Callable[[str, str], str], tmp_path: Path
) -> None:
    url = database_factory(backend, "slo_fuzz")
    run = fuzz.run_schemathesis(url, tmp_path, max_examples=MAX_EXAMPLES, seed=SEED, phases=PHASES)
    assert run.returncode == 0, run.output[-30_000:]
    assert run.report["test_cases"]["with_failures"] == 0, run.report["failures"]
    # Every operation of the document but the test send (it sends), 38 of them as written.
    assert run.untested == 0
    assert run.operations >= 38
    # The only 5xx: measuring the seeded Prometheus SLO while Prometheus is unreachable.
    assert {status for status in run.requests if status.startswith("5")} <= {"503"}
    # The seeded data is found: operations get past their 404s and 422s.
    assert run.requests["2xx"] > 300, run.requests
    assert run.connects_refused == []  # nothing tried to leave loopback


def test_while_fuzzing_nothing_may_be_looked_up_or_reached_off_loopback() -> None:
    """The guard itself, through the audit events that sockets raise before they act (so that
    nothing is sent even if the guard failed)."""
    with fuzz.loopback_only() as guard:
        with pytest.raises(socket.gaierror):
            sys.audit("socket.getaddrinfo", "hooks.example.invalid", 443, 0, 0, 0)
        with pytest.raises(ConnectionRefusedError):
            sys.audit("socket.connect", None, ("192.0.2.1", 443))
        with pytest.raises(ConnectionRefusedError):
            sys.audit("socket.connect", None, ("::ffff:192.0.2.1", 443, 0, 0))
        for host in ("127.0.0.1", "::1", "localhost", "10.0.0.1"):  # literals: no lookup
            sys.audit("socket.getaddrinfo", host, 443, 0, 0, 0)
        sys.audit("socket.connect", None, ("127.0.0.1", 443))
        sys.audit("socket.connect", None, "/run/postgresql/.s.PGSQL.5432")
    assert guard.lookups == ["hooks.example.invalid"]
    assert guard.connects == ["192.0.2.1:443", "::ffff:192.0.2.1:443"]
    sys.audit("socket.getaddrinfo", "hooks.example.invalid", 443, 0, 0, 0)  # off again
