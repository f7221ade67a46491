"""schemathesis against the real app, for the fuzz test and ``bench/fuzz.py``.

The app serves on a loopback port (uvicorn in a thread) with an admin token, and some data to
reach past the 404s: SLOs of three sources with events, a drift reference and batch, a route,
a policy, an override, a freeze and a deploy (``seed``); half of the path parameters the
fuzzer sends name them. schemathesis (its CLI, in a process of its own) loads
``/openapi.json`` and runs every operation but the test send of a route, with the checks that
a server error, an answer unlike the document and a 405 naming other methods than the
document fail. While it runs, this process may
neither look up a name nor connect anywhere off loopback (``loopback_only``): routes the
fuzzer creates may name any host, and their URLs are checked (looked up) when saved.
"""

import ipaddress
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from slo_service import migrate
from slo_service.app import create_app
from slo_service.config import Settings
from slo_service.db import make_engine, session_scope
from slo_service.domain.scopes import parse_scopes
from slo_service.services import tokens
from tests.support.receivers import LOOPBACK_NETWORKS
from tests.support.servers import free_port, serve_in_thread

# No 5xx; every answer as the document describes it; and a method the path does not take is a
# 405 whose Allow names the methods the document gives the path.
CHECKS = (
    "not_a_server_error,response_schema_conformance,unsupported_method,allow_header_conformance"
)
# Sends to whatever URLs a route holds, now: no fuzzed route may make this process do that.
EXCLUDED = ("POST /api/v1/notification-routes/{ref}/test",)
SEED_SLOS = (
    {"service": "churn-model", "name": "availability", "kind": "availability",
     "objective": 0.99, "window": "7d", "sli": {"source": "push"}, "labels": {"team": "ml"}},
    {"service": "churn-model", "name": "latency", "kind": "latency", "objective": 0.95,
     "window": "30d", "params": {"threshold_ms": 500}},
    {"service": "churn-model", "name": "feature-drift", "kind": "drift", "objective": 0.95,
     "window": "week", "timezone": "Europe/Berlin"},
    {"service": "fraud-model", "name": "availability", "kind": "availability",
     "objective_percent": 99.9, "window": "month", "sli": {"source": "push"}},
)  # fmt: skip
CONFIG = """
[dictionaries.slo_refs]
values = ["1", "2", "3", "4", "churn-model:availability", "latency", "feature-drift"]
[dictionaries.route_refs]
values = ["1", "oncall"]
[dictionaries.services]
values = ["churn-model", "fraud-model"]
[dictionaries.ids]
values = [1]

[parameters]
"path.slo_ref" = { dictionary = "slo_refs", probability = 0.5 }
"path.ref" = { dictionary = "route_refs", probability = 0.5 }
"path.service" = { dictionary = "services", probability = 0.5 }
"query.service" = { dictionary = "services", probability = 0.5 }
"path.override_id" = { dictionary = "ids", probability = 0.5 }

# Measuring an SLO from an unreachable Prometheus answers the documented 503.
[[operations]]
include-name = "POST /api/v1/slos/{slo_ref}/evaluate"
checks.not_a_server_error.expected-statuses = ["2XX", "3XX", "4XX", "503"]
"""


@dataclass
class Guard:
    """What ``loopback_only`` refused while it was on."""

    active: bool = False
    lookups: list[str] = field(default_factory=list)
    connects: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


_GUARD = Guard()
_HOOKED = False


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.split("%")[0])  # an IPv6 literal may name its zone
    except ValueError:
        return None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _GUARD.active:
        return
    if event == "socket.getaddrinfo":  # a name is looked up; an address literal is not
        host = args[0].decode("latin-1") if isinstance(args[0], bytes) else args[0]
        if host and _ip(host) is None and host != "localhost":  # /etc/hosts answers localhost
            with _GUARD.lock:
                _GUARD.lookups.append(host)
            raise socket.gaierror(socket.EAI_NONAME, f"{host}: no lookups while fuzzing")
    elif event == "socket.connect" and isinstance(args[1], tuple):  # not a Unix socket
        host, port = str(args[1][0]), args[1][1]
        address = _ip(host)
        if address is None or not address.is_loopback:
            with _GUARD.lock:
                _GUARD.connects.append(f"{host}:{port}")
            raise ConnectionRefusedError(f"{host}: only loopback while fuzzing")


@contextmanager
def loopback_only() -> Iterator[Guard]:
    """While the block runs, this process looks up no name but ``localhost`` and connects
    only to loopback addresses (an audit hook refuses the rest and notes it)."""
    global _HOOKED
    if not _HOOKED:
        sys.addaudithook(_audit)  # a hook stays for the process's life: it checks ``active``
        _HOOKED = True
    with _GUARD.lock:
        _GUARD.lookups.clear()
        _GUARD.connects.clear()
    _GUARD.active = True
    try:
        yield _GUARD
    finally:
        _GUARD.active = False


class Counted:
    """Counts the HTTP requests the app answers, by status class ("2xx", "4xx"), and each 5xx
    status by itself ("503")."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.by_class: dict[str, int] = {}
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = message["status"]
                key = str(status) if status >= 500 else f"{status // 100}xx"
                with self._lock:
                    self.by_class[key] = self.by_class.get(key, 0) + 1
            await send(message)

        await self.app(scope, receive, sending if scope["type"] == "http" else send)


def admin_token(engine: Engine) -> str:
    with session_scope(engine) as session:
        _, plaintext = tokens.create(
            session, name="fuzzer", scopes=parse_scopes("admin"), actor="fuzz"
        )
    return plaintext


def seed(url: str, token: str) -> None:
    """What the dictionaries in ``CONFIG`` name, made through the API."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    rows = 200
    columns: dict[str, list[Any]] = {
        "age": [20 + i % 50 for i in range(rows)],
        "country": [("de", "fr", "us")[i % 3] for i in range(rows)],
    }
    events = [
        {"slo": "churn-model:availability", "timestamp": (now - timedelta(minutes=m)).isoformat(),
         "good": 99, "total": 100, "event_id": f"seed-{m}"}
        for m in range(1, 30)
    ]  # fmt: skip
    writes: list[tuple[str, str, dict[str, Any]]] = [
        *(("POST", "/slos", slo) for slo in SEED_SLOS),
        ("POST", "/events", {"events": events}),
        ("POST", "/drift/churn-model/reference", {"columns": columns}),
        ("POST", "/drift/churn-model/batches", {"columns": columns, "batch_id": "seed"}),
        ("POST", "/notification-routes", {"name": "oncall", "channels": [
            {"type": "webhook", "url": "http://127.0.0.1:9/hook"}]}),
        ("PUT", "/services/churn-model/policy", {"gate": {"warn_threshold": 0.3}}),
        ("POST", "/services/churn-model/overrides", {
            "reason": "seeded", "expires_at": (now + timedelta(days=1)).isoformat()}),
        ("POST", "/services/fraud-model/freeze", {"reason": "seeded"}),
        ("POST", "/deployments", {"service": "churn-model", "version": "1.0.0"}),
        ("POST", "/slos/churn-model:availability/evaluate", {}),
    ]  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"{url}/api/v1", headers=headers, timeout=30) as client:
        for method, path, body in writes:
            answer = client.request(method, path, json=body or None)
            assert answer.is_success, (method, path, answer.text)


@contextmanager
def served(database_url: str) -> Iterator[tuple[str, str, Counted]]:
    """The app on a migrated database at ``database_url``: (base URL, admin token, counter)."""
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    settings = Settings(
        database_url=database_url,
        prometheus_url=f"http://127.0.0.1:{free_port()}",  # nothing listens: unreachable
        scheduler=False,  # no evaluation and no deliveries behind the fuzzer's back
        notify_allowed_networks=LOOPBACK_NETWORKS,  # the seeded route's receiver
    )
    counted = Counted(create_app(settings, engine=engine))
    try:
        with serve_in_thread(counted) as url:
            token = admin_token(engine)
            seed(url, token)
            yield url, token, counted
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Run:
    returncode: int
    output: str
    report: dict[str, Any]
    requests: dict[str, int]
    lookups_refused: list[str]
    connects_refused: list[str]

    @property
    def operations(self) -> int:
        """Operations tested."""
        tested: int = self.report.get("operations", {}).get("tested", 0)
        return tested

    @property
    def untested(self) -> int:
        """Operations of the document that were not tested, ``EXCLUDED`` left aside."""
        total: int = self.report.get("operations", {}).get("total", 0)
        return total - len(EXCLUDED) - self.operations


def run_schemathesis(
    database_url: str, workdir: Path, *, max_examples: int, seed: int, phases: str
) -> Run:
    """One schemathesis run over every operation (but ``EXCLUDED``) of a fresh server."""
    report = workdir / "schemathesis-report.json"
    config = workdir / "schemathesis.toml"
    config.write_text(CONFIG)
    with loopback_only() as guard, served(database_url) as (url, token, counted):
        command = [
            str(Path(sys.executable).with_name("st")), "--config-file", str(config),
            "run", f"{url}/openapi.json",
            "--header", f"Authorization: Bearer {token}",
            "--checks", CHECKS, "--phases", phases, "--mode", "all",
            "--max-examples", str(max_examples), "--seed", str(seed),
            "--workers", "1", "--request-timeout", "30", "--max-redirects", "0",
            "--report", "json", "--report-json-path", str(report),
            *(arg for operation in EXCLUDED for arg in ("--exclude-name", operation)),
        ]  # fmt: skip
        # No colours, no progress bars: the output goes into an assertion message.
        env = {**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""}
        done = subprocess.run(
            command, cwd=workdir, env=env, capture_output=True, text=True, timeout=1800
        )
        lookups, connects = list(guard.lookups), list(guard.connects)
    return Run(
        returncode=done.returncode,
        output=done.stdout + done.stderr,
        report=json.loads(report.read_text()) if report.exists() else {},
        requests=dict(counted.by_class),
        lookups_refused=lookups,
        connects_refused=connects,
    )
