"""The ``slo-service`` command, against both backends and a real server on loopback."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from slo_service import migrate
from slo_service.app import create_app
from slo_service.cli import app
from slo_service.config import Settings
from slo_service.db import session_scope, utcnow
from slo_service.demo import seed as demo
from slo_service.domain.scopes import Scope
from slo_service.models import SLO, PushEvent
from slo_service.schemas.slo import SLOCreate
from slo_service.services import sessions, tokens
from slo_service.services import slos as slo_service
from slo_service.sources.base import NoQueryChecker
from tests.support.servers import free_port, serve_in_thread

runner = CliRunner()
Headers = dict[str, str]

SLOS_YAML = """\
service: churn-model
slos:
  - name: availability
    kind: availability
    objective: 0.999
    window: 30d
  - name: latency
    kind: latency
    objective_percent: 95
    window: 7d
    params: {threshold_ms: 500}
---
service: fraud-model
name: accuracy
kind: accuracy
objective: 0.95
window: month
timezone: Europe/Berlin
params: {baseline: 0.91}
"""


def slo_names(db: Engine) -> list[str]:
    with Session(db) as session:
        rows = session.exec(select(SLO).where(SLO.deleted_at == None)).all()  # noqa: E711
        return sorted(f"{row.service}:{row.name}" for row in rows)


def test_token_create_prints_the_token_last(env: dict[str, str], db: Engine) -> None:
    result = runner.invoke(app, ["token", "create", "--name", "ci", "--scopes", "gate,read"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("slo_")
    with TestClient(create_app(Settings())) as client:
        response = client.get("/api/v1/slos", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    listing = runner.invoke(app, ["token", "list"])
    assert "ci\tgate,read" in listing.output
    assert token not in listing.output
    again = runner.invoke(app, ["token", "create", "--name", "ci"])
    assert again.exit_code == 1
    assert "exists already" in again.output
    bad = runner.invoke(app, ["token", "create", "--name", "x", "--scopes", "root"])
    assert bad.exit_code == 1
    assert "unknown scope 'root'" in bad.output


def test_token_help_names_the_override_scope() -> None:
    help_text = runner.invoke(app, ["token", "create", "--help"], env={"COLUMNS": "200"}).output
    assert "read, write, gate, override, admin" in help_text
    assert "override: break-glass, overrides that let deploys through a freeze" in help_text
    assert "write alone may not override" in help_text


def test_token_sessions_lists_and_ends_the_pages_sign_ins(
    env: dict[str, str], db: Engine, make_token: Callable[..., Headers]
) -> None:
    token = make_token("read", name="exec")["Authorization"].removeprefix("Bearer ")
    with session_scope(db) as session:
        started = sessions.start(session, token, lifetime=timedelta(hours=1), now=utcnow())
    listing = runner.invoke(app, ["token", "sessions"])
    assert listing.exit_code == 0, listing.output
    assert listing.output.startswith("exec\t")
    assert started.session_id not in listing.output
    ended = runner.invoke(app, ["token", "sessions", "--end", "exec"])
    assert ended.output.strip() == "ended 1 sign-in(s) of 'exec'"
    assert runner.invoke(app, ["token", "sessions"]).output == ""
    with session_scope(db) as session:
        assert tokens.caller(session, token, Scope.READ, public_read=False).name == "exec"
    unknown = runner.invoke(app, ["token", "sessions", "--end", "nobody"])
    assert unknown.exit_code == 1
    assert "no token named 'nobody'" in unknown.output


def test_apply_plans_applies_updates_and_prunes(
    env: dict[str, str], db: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "slos.yaml"
    path.write_text(SLOS_YAML)
    plan = runner.invoke(app, ["apply", "-f", str(path), "--dry-run"])
    assert plan.exit_code == 0, plan.output
    assert "+ create churn-model:availability" in plan.output
    assert "3 create, 0 update, 0 delete, 0 unchanged (dry run: nothing written)" in plan.output
    assert slo_names(db) == []

    applied = runner.invoke(app, ["apply", "-f", str(path)])
    assert applied.exit_code == 0, applied.output
    assert slo_names(db) == [
        "churn-model:availability",
        "churn-model:latency",
        "fraud-model:accuracy",
    ]

    path.write_text(SLOS_YAML.replace("0.999", "0.995").split("  - name: latency")[0])
    updated = runner.invoke(app, ["apply", "-f", str(path), "--prune"])
    assert updated.exit_code == 0, updated.output
    assert "~ update churn-model:availability" in updated.output
    assert "objective: 0.999 -> 0.995" in updated.output
    assert "- delete churn-model:latency" in updated.output
    assert slo_names(db) == ["churn-model:availability", "fraud-model:accuracy"]


def test_a_bad_file_names_document_field_and_reason(
    env: dict[str, str], db: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(SLOS_YAML.replace("window: 7d", "window: 7x").replace("0.95\n", "1.5\n"))
    result = runner.invoke(app, ["apply", "-f", str(path)])
    assert result.exit_code == 1
    assert "invalid, nothing applied" in result.output
    assert "document 1, slos[1].window: '7x' is not a window" in result.output
    assert "document 2.objective: must be between 0 and 1" in result.output
    assert slo_names(db) == []

    path.write_text("service: [unclosed\n")
    broken = runner.invoke(app, ["apply", "-f", str(path)])
    assert broken.exit_code == 1
    assert "not valid YAML" in broken.output
    missing = runner.invoke(app, ["apply", "-f", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 1
    assert "cannot read" in missing.output


def test_apply_through_a_server(
    env: dict[str, str], db: Engine, tmp_path: Path, make_token: Callable[..., Headers]
) -> None:
    path = tmp_path / "slos.yaml"
    path.write_text(SLOS_YAML)
    token = make_token("write", name="deployer")["Authorization"].removeprefix("Bearer ")
    with serve_in_thread(create_app(Settings())) as url:
        result = runner.invoke(app, ["apply", "-f", str(path), "--url", url, "--token", token])
        assert result.exit_code == 0, result.output
        assert "3 create" in result.output
        refused = runner.invoke(
            app, ["apply", "-f", str(path), "--url", url, "--token", "slo_wrong"]
        )
        assert refused.exit_code == 1
        assert "401" in refused.output
    assert len(slo_names(db)) == 3
    unreachable = runner.invoke(
        app, ["apply", "-f", str(path), "--url", f"http://127.0.0.1:{free_port()}"]
    )
    assert unreachable.exit_code == 3
    assert "unreachable" in unreachable.output


def test_migrate_up_and_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLO_DATABASE_URL", f"sqlite:///{tmp_path / 'm.db'}")
    up = runner.invoke(app, ["migrate"])
    assert up.exit_code == 0, up.output
    (head,) = migrate.heads()
    assert f"schema at {head}" in up.output
    down = runner.invoke(app, ["migrate", "base", "--down"])
    assert down.exit_code == 0, down.output
    assert "base (empty)" in down.output


def test_version_and_help() -> None:
    assert runner.invoke(app, ["version"]).output.strip().count(".") == 2
    help_text = runner.invoke(app, ["--help"]).output
    for command in ("serve", "migrate", "apply", "token", "version"):
        assert command in help_text


@pytest.fixture
def served_demo(env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "slo_service", "serve", "--demo", "--port", str(port)],
        env={**os.environ, **env, "SLO_SCHEDULER": "true"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def test_serve_demo_creates_a_model_with_every_kind(
    served_demo: str, db: Engine, make_token: Callable[..., Headers]
) -> None:
    body = httpx.get(f"{served_demo}/api/v1/slos", headers=make_token("read")).json()
    assert body["count"] == 8
    assert {slo["kind"] for slo in body["data"]} == {
        "availability", "latency", "model_freshness", "accuracy", "data_freshness", "drift",
        "model_performance",
    }  # fmt: skip
    sources = {slo["sli"]["source"] for slo in body["data"]}
    assert sources == {"push", "drift_store", "prediction_log"}
    with Session(db) as session:
        first = session.exec(select(func.min(PushEvent.ts))).one()
        end = first + timedelta(days=demo.DAYS)  # the seed's end
        seeded = select(func.count(), func.max(PushEvent.ts)).where(col(PushEvent.ts) < end)
        events, last = session.exec(seeded).one()
    assert events == 5 * demo.DAYS * 24 * 12
    assert (last - first).days == demo.DAYS - 1
    # While it serves, the demo is fed from the seed's end on, first at once.
    assert _fed_at(db, end) == 5
    status = httpx.get(
        f"{served_demo}/api/v1/slos/{demo.SERVICE}:availability/status", headers=make_token("read")
    ).json()
    assert status["total"] > 1_000_000  # 30 days of traffic, counted
    assert 0 < status["error_budget"]["consumed"] < 1
    assert status["burn_rates"]["3d"] > status["burn_rates"]["1d"]  # the incident, 3 days ago
    drift = _evaluated(f"{served_demo}/api/v1/slos/{demo.SERVICE}:feature-drift/status",
                       make_token("read"))  # fmt: skip
    batches = int(timedelta(days=7) / demo.BATCH_EVERY) - 1
    # The feed's first batch, at the seed's end, is counted once its bucket is evaluated.
    assert batches <= drift["total"] <= batches + 1
    assert drift["good"] == drift["total"] - 2  # two in the incident


def _fed_at(db: Engine, at: datetime) -> int:
    """How many events the server's demo feed recorded at ``at`` (30 s at most)."""
    deadline = time.monotonic() + 30
    while True:
        with Session(db) as session:
            fed = session.exec(
                select(func.count()).select_from(PushEvent).where(col(PushEvent.ts) == at)
            ).one()
        if fed or time.monotonic() > deadline:
            return fed
        time.sleep(0.5)


def _evaluated(url: str, headers: Headers) -> dict[str, Any]:
    """The status once the server's scheduler has evaluated the SLO (30 s at most)."""
    deadline = time.monotonic() + 30
    while True:
        status: dict[str, Any] = httpx.get(url, headers=headers).json()
        if status["evaluated_until"] is not None or time.monotonic() > deadline:
            return status
        time.sleep(0.5)


def test_unreachable_database_and_bad_settings_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"postgresql://app:secret@127.0.0.1:{free_port()}/slo"
    monkeypatch.setenv("SLO_DATABASE_URL", url)
    for command in (["migrate"], ["token", "list"], ["serve"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 3, (command, result.output)
        assert "database unreachable at postgresql+psycopg://app:***@127.0.0.1" in result.output
        assert "secret" not in result.output
    monkeypatch.setenv("SLO_DATABASE_URL", "mysql://x")
    monkeypatch.setenv("SLO_BUCKET_SECONDS", "abc")
    bad = runner.invoke(app, ["migrate"])
    assert bad.exit_code == 1
    assert "SLO_DATABASE_URL: must be an sqlite:///" in bad.output
    assert "SLO_BUCKET_SECONDS: Input should be a valid integer" in bad.output


def test_evaluate_command(
    env: dict[str, str],
    db: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    scenario_prometheus: str,
) -> None:
    path = tmp_path / "slos.yaml"
    path.write_text(
        "service: churn\nslos:\n"
        "  - {name: availability, kind: availability, objective: 0.99,\n"
        "     params: {model_name: churn}}\n"
        "  - {name: pushed, kind: availability, objective: 0.99, sli: {source: push}}\n"
    )
    assert runner.invoke(app, ["apply", "-f", str(path)]).exit_code == 0
    unknown = runner.invoke(app, ["evaluate", "--slo", "churn:nope"])
    assert unknown.exit_code == 1
    assert "--slo: no SLO 'churn:nope'" in unknown.output
    down = runner.invoke(app, ["evaluate"])
    assert down.exit_code == 1
    assert "churn:availability: Prometheus at" in down.output
    assert "evaluated 1 SLOs, 1 failed" in down.output
    monkeypatch.setenv("SLO_PROMETHEUS_URL", scenario_prometheus)
    result = runner.invoke(app, ["evaluate", "--slo", "churn:availability", "--backfill", "2d"])
    assert result.exit_code == 0, result.output
    assert "evaluated 1 SLOs, 0 failed" in result.output
    with Session(db) as session:
        slo = session.exec(select(SLO).where(SLO.name == "availability")).one()
    assert slo.evaluated_until is not None
    assert slo.last_error is None


def test_worker_evaluates_on_its_own(
    env: dict[str, str], db: Engine, scenario_prometheus: str
) -> None:
    data = SLOCreate.model_validate(
        {
            "service": "churn",
            "name": "a",
            "kind": "availability",
            "objective": 0.99,
            "params": {"model_name": "churn"},
        }
    )
    with session_scope(db) as session:
        slo_service.create(session, slo_service.prepare(data, NoQueryChecker()), actor="t")
    process = subprocess.Popen(
        [sys.executable, "-m", "slo_service", "worker"],
        env={**os.environ, **env, "SLO_PROMETHEUS_URL": scenario_prometheus},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        evaluated = None
        while time.monotonic() < deadline and evaluated is None:
            time.sleep(0.5)
            with Session(db) as session:
                evaluated = session.exec(select(SLO.last_success_at)).first()
        assert evaluated is not None, "the worker evaluated nothing"
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def _readme_kinds_yaml() -> str:
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    start = readme.index("```yaml", readme.index("One example of each kind")) + len("```yaml")
    return readme[start : readme.index("```", start)]


def test_the_readmes_example_of_each_kind_applies_as_documented(
    env: dict[str, str], db: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "kinds.yaml"
    path.write_text(_readme_kinds_yaml())
    applied = runner.invoke(app, ["apply", "-f", str(path)])
    assert applied.exit_code == 0, applied.output
    with Session(db) as session:
        rows = {row.name: row for row in session.exec(select(SLO)).all()}
    assert sorted({row.kind for row in rows.values()}) == [
        "accuracy", "availability", "data_freshness", "drift", "latency", "model_freshness",
    ]  # fmt: skip
    assert rows["availability"].sli["good"] == (
        'ml_predictions_total{model_name="churn-model",status!~"error|timeout"}'
    )
    assert rows["model-age"].sli["threshold"] == 168 * 3600
    assert rows["feature-drift"].sli["service"] == "churn-model"
    assert rows["feature-drift"].budgeting == "timeslices"
    custom = rows["accuracy-custom-query"].sli
    assert custom["query"] == 'avg(ml_model_accuracy{model_name="churn-model",segment="eu"})'
    assert custom["threshold"] == pytest.approx(0.91 * 0.95)
