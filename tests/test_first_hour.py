"""What a new user meets in the first hour, from a fresh clone with the README's commands:
a command run before the database is migrated, a typo in an SLO file, the demo's start-up
lines, and ``scripts/serve.sh`` starting without reinstalling the package every time."""

import gc
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from slo_service import migrate
from slo_service.cli import app
from slo_service.cli.common import EXIT_NO_SCHEMA
from slo_service.db import make_engine
from slo_service.demo import seed as demo
from slo_service.errors import InvalidInput

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()

# Every command that reads or writes the tables, with the arguments it needs.
SCHEMA_COMMANDS = [
    ["token", "create", "--name", "x", "--scopes", "admin"],
    ["token", "list"],
    ["token", "revoke", "x"],
    ["token", "sessions"],
    ["apply", "-f", "{slos}"],
    ["export"],
    ["evaluate"],
    ["notify", "test", "--route", "oncall"],
    ["rules", "export", "--out", "{out}"],
]


@pytest.fixture
def sqlite_at(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """SLO_DATABASE_URL names ``tmp_path/slo.db`` (not created), with an SLO file beside."""
    path = tmp_path / "slo.db"
    (tmp_path / "slos.yaml").write_text("service: churn\nname: a\nkind: availability\n")
    monkeypatch.setenv("SLO_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("SLO_PROMETHEUS_URL", "http://127.0.0.1:9")  # nothing listens
    return path


def invoke(args: list[str], tmp_path: Path) -> Any:
    filled = [a.format(slos=tmp_path / "slos.yaml", out=tmp_path / "rules") for a in args]
    return runner.invoke(app, filled)


def test_a_command_before_migrate_in_an_empty_directory_creates_no_file(tmp_path: Path) -> None:
    """As the README's user did: the default ./slo-service.db, in a new directory."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SLO_")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "slo_service",
            "token",
            "create",
            "--name",
            "x",
            "--scopes",
            "admin",
        ],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == EXIT_NO_SCHEMA == 4, result.stderr
    assert result.stderr.strip() == (
        f"no database file at {tmp_path.resolve() / 'slo-service.db'}: run `slo-service migrate` "
        "(or `slo-service serve`, which migrates on start) to make it, or set SLO_DATABASE_URL "
        "to the database to use"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", SCHEMA_COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_every_command_that_needs_the_tables_refuses_a_missing_file(
    args: list[str], sqlite_at: Path, tmp_path: Path
) -> None:
    result = invoke(args, tmp_path)
    assert result.exit_code == EXIT_NO_SCHEMA, result.output
    assert f"no database file at {sqlite_at}: run `slo-service migrate`" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["slos.yaml"]


@pytest.mark.parametrize("args", SCHEMA_COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_every_command_that_needs_the_tables_refuses_an_empty_database(
    args: list[str], sqlite_at: Path, tmp_path: Path
) -> None:
    sqlite3.connect(sqlite_at).close()  # an empty file, as the old CLI left behind
    result = invoke(args, tmp_path)
    assert result.exit_code == EXIT_NO_SCHEMA, result.output
    assert result.output.strip() == (
        f"the database at sqlite:///{sqlite_at} has no schema yet: run `slo-service migrate` "
        "(or `slo-service serve`, which migrates on start)"
    )
    assert not (tmp_path / "rules").exists()


def test_without_migrate_on_start_only_migrate_is_named(
    sqlite_at: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLO_MIGRATE_ON_START", "false")
    sqlite3.connect(sqlite_at).close()
    result = invoke(["token", "list"], tmp_path)
    assert result.exit_code == EXIT_NO_SCHEMA
    assert result.output.strip().endswith("has no schema yet: run `slo-service migrate`")


def test_a_database_behind_the_code_names_both_revisions(sqlite_at: Path, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{sqlite_at}")
    migrate.upgrade(engine, "0006")
    engine.dispose()
    (head,) = migrate.heads()
    assert head != "0006"
    result = invoke(["token", "list"], tmp_path)
    assert result.exit_code == EXIT_NO_SCHEMA, result.output
    assert result.output.strip() == (
        f"the database at sqlite:///{sqlite_at} is at revision 0006, the code needs {head}: "
        "run `slo-service migrate`"
    )
    assert invoke(["migrate"], tmp_path).exit_code == 0
    created = invoke(["token", "create", "--name", "x"], tmp_path)
    assert created.exit_code == 0, created.output
    assert invoke(["token", "list"], tmp_path).output.startswith("x\tread\t")


def test_a_database_a_newer_version_migrated_is_not_migrated_down(
    sqlite_at: Path, tmp_path: Path
) -> None:
    engine = make_engine(f"sqlite:///{sqlite_at}")
    migrate.upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    (head,) = migrate.heads()
    result = invoke(["token", "list"], tmp_path)
    assert result.exit_code == EXIT_NO_SCHEMA, result.output
    assert result.output.strip() == (
        f"the database at sqlite:///{sqlite_at} is at revision 0099, which this slo-service "
        f"does not know (the code needs {head}): a newer slo-service migrated it; use that one"
    )


def test_the_help_names_the_exit_codes() -> None:
    help_text = runner.invoke(app, ["--help"], env={"COLUMNS": "300"}).output
    assert "4 the database lacks the code's schema: run `slo-service migrate`" in help_text


def test_a_typo_in_a_yaml_file_names_the_field_meant(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "slos.yaml"
    path.write_text(
        "service: churn-model\nslos:\n"
        "  - {name: a, kind: availability, objectve: 0.99}\n"
        "  - name: b\n    kind: latency\n    objective: 0.95\n    params: {threshold_ms: 500}\n"
        "    gate: {freeze_treshold: 0.1, frozen: true}\n"
        "    alerting:\n      tiers:\n"
        "        - {severity: page, long_window: 1h, short_window: 5m, facter: 14.4}\n"
    )
    result = runner.invoke(app, ["apply", "-f", str(path)])
    assert result.exit_code == 1
    assert result.output.splitlines()[1:] == [
        "  document 1, slos[0].objectve: unknown field 'objectve' (did you mean 'objective'?)",
        "  document 1, slos[1].alerting.tiers[0].facter: unknown field 'facter' (did you mean "
        "'factor'?)",
        "  document 1, slos[1].gate.freeze_treshold: unknown field 'freeze_treshold' (did you "
        "mean 'freeze_threshold'?)",
        "  document 1, slos[1].gate.frozen: unknown field 'frozen': the fields are gating, "
        "freeze_threshold, warn_threshold, stale_policy, staleness_limit",
    ]


class _Alpha(BaseModel):
    model_config = ConfigDict(extra="forbid")
    alpha: int = 0


class _Beta(BaseModel):
    model_config = ConfigDict(extra="forbid")
    beta: int = 0


class _Root(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    either: _Alpha | _Beta
    many: dict[str, _Alpha] = {}
    go_on: bool = Field(default=False, alias="continue")


@pytest.mark.parametrize(
    ("data", "problems"),
    [
        (  # pydantic tries each member of a plain union: each is told about its own fields
            {"either": {"alpah": 1}},
            [
                (("either", "_Alpha", "alpah"), "unknown field 'alpah' (did you mean 'alpha'?)"),
                (("either", "_Beta", "alpah"), "unknown field 'alpah': the fields are beta"),
            ],
        ),
        (
            {"either": {}, "many": {"k": {"alphaa": 1}}},
            [(("many", "k", "alphaa"), "unknown field 'alphaa' (did you mean 'alpha'?)")],
        ),
        (
            {"either": {}, "contineu": True},
            [(("contineu",), "unknown field 'contineu' (did you mean 'continue'?)")],
        ),
    ],
    ids=["union", "map", "alias"],
)
def test_the_model_of_an_unknown_field_is_found_through_unions_maps_and_aliases(
    data: dict[str, Any], problems: list[tuple[tuple[str, ...], str]]
) -> None:
    with pytest.raises(ValidationError) as info:
        _Root.model_validate(data)
    assert InvalidInput.from_pydantic(info.value, model=_Root).problems == problems


def serve_demo_once(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``serve --demo``'s start-up lines (uvicorn is not started: the lines come before; nor
    is the collector frozen, which would be for the rest of the test session)."""
    served: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **_: served.append(app))
    monkeypatch.setattr(gc, "freeze", lambda: None)
    result = runner.invoke(app, ["serve", "--demo"])
    assert result.exit_code == 0, result.output
    assert len(served) == 1
    return result.output.splitlines()


def test_the_demo_says_how_many_slos_it_made_and_how_to_start_afresh(
    sqlite_at: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLO_SCHEDULER", "false")
    first = serve_demo_once(monkeypatch)
    assert len(demo.DEMO_SLOS) == 5  # the drift SLO is made apart from these
    assert first[0] == "demo: created service 'demo-churn-model' with 8 SLOs"
    again = serve_demo_once(monkeypatch)
    assert again[0] == (
        "demo: the database is not empty; left it as it is (to start the demo afresh: stop the "
        f"service, delete {sqlite_at} and its -wal and -shm files if any, start again)"
    )


def test_the_demo_on_a_database_in_use_says_how_to_start_afresh(
    env: dict[str, str], db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "slos.yaml").write_text("service: churn\nname: a\nkind: custom\n"
                                        "objective: 0.9\nsli: {source: push}\n")  # fmt: skip
    assert invoke(["apply", "-f", "{slos}"], tmp_path).exit_code == 0
    afresh = (
        f"delete {db.url.database} and its -wal and -shm files if any"
        if db.dialect.name == "sqlite"
        else "point SLO_DATABASE_URL at an empty database"
    )
    assert serve_demo_once(monkeypatch)[0] == (
        "demo: the database is not empty; left it as it is (to start the demo afresh: stop the "
        f"service, {afresh}, start again)"
    )


# scripts/bootstrap.sh, run in a copy whose .venv/bin/python logs `pip install` (and makes the
# command it installs) and runs every other invocation with this interpreter, where this
# checkout is installed: the copy's slo_service is a link to this checkout's.
FAKE_PYTHON = """#!/usr/bin/env bash
if [ "$1 $2" = "-m pip" ]; then
  echo "${*:3}" >> pip.log
  [ -z "${FAIL_INSTALL:-}" ] || exit 1
  printf '#!/bin/sh\\n' > .venv/bin/slo-service && chmod +x .venv/bin/slo-service
  exit 0
fi
exec {python} "$@"
"""


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "bootstrap.sh", tmp_path / "scripts")
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    (tmp_path / "slo_service").symlink_to(ROOT / "slo_service")
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(FAKE_PYTHON.replace("{python}", shlex.quote(sys.executable)))
    python.chmod(0o755)
    return tmp_path


def bootstrap(checkout: Path, extras: str = "", fail: bool = False) -> list[str]:
    """Source bootstrap.sh as the scripts do; the pip installs it ran."""
    log = checkout / "pip.log"
    log.unlink(missing_ok=True)
    environ = {"PATH": os.environ["PATH"], "PYTHON": sys.executable}
    environ |= {"BOOTSTRAP_EXTRAS": extras} if extras else {}
    environ |= {"FAIL_INSTALL": "1"} if fail else {}
    done = subprocess.run(
        ["bash", "-c", "source scripts/bootstrap.sh"],
        cwd=checkout,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode != 0) == fail, done.stderr
    return log.read_text().splitlines() if log.exists() else []


PIP = "install --quiet --disable-pip-version-check"


def test_bootstrap_installs_only_when_the_project_or_the_extras_change(checkout: Path) -> None:
    assert bootstrap(checkout) == [f"{PIP} -e ."]
    assert bootstrap(checkout) == []
    assert bootstrap(checkout, extras="dev") == [f"{PIP} -e .[dev]"]  # scripts/test.sh
    assert bootstrap(checkout, extras="dev") == []
    assert bootstrap(checkout) == []  # the dev install has what serve needs
    with (checkout / "pyproject.toml").open("a") as pyproject:
        pyproject.write("# changed\n")
    assert bootstrap(checkout) == [f"{PIP} -e ."]
    assert bootstrap(checkout, extras="dev") == [f"{PIP} -e .[dev]"]
    assert bootstrap(checkout, extras="dev") == []


def test_bootstrap_reinstalls_when_the_install_is_not_this_checkouts(checkout: Path) -> None:
    assert bootstrap(checkout) == [f"{PIP} -e ."]
    (checkout / "slo_service").unlink()  # the virtualenv's package is another checkout's
    (checkout / "slo_service").mkdir()
    assert bootstrap(checkout) == [f"{PIP} -e ."]
    (checkout / "slo_service").rmdir()
    (checkout / "slo_service").symlink_to(ROOT / "slo_service")
    (checkout / ".venv" / "bin" / "slo-service").unlink()
    assert bootstrap(checkout) == [f"{PIP} -e ."]
    assert bootstrap(checkout) == []


def test_a_failed_install_is_tried_again(checkout: Path) -> None:
    assert bootstrap(checkout, fail=True) == [f"{PIP} -e ."]
    assert not (checkout / ".venv" / ".slo-service-installed").exists()
    assert bootstrap(checkout) == [f"{PIP} -e ."]
    assert bootstrap(checkout) == []
