"""The wheel carries what the service reads at run time (migrations), and works outside the
source tree: ``slo-service migrate`` from an unpacked wheel brings a new database to head."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from slo_service import migrate as schema

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_runs_migrations_outside_the_checkout(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("slo_service-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "site")
    assert "slo_service/migrations/env.py" in names
    assert "slo_service/migrations/script.py.mako" in names
    assert any(n.startswith("slo_service/migrations/versions/2026_") for n in names)
    assert "slo_service/web/templates/overview.html" in names  # the SLA pages ship too
    assert "slo_service/web/static/style.css" in names
    assert not any(n.startswith("tests/") for n in names)

    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(tmp_path / "site"),
        "SLO_DATABASE_URL": f"sqlite:///{workdir / 'w.db'}",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import slo_service, sys; print(slo_service.__file__)"],
        cwd=workdir,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    assert result.stdout.startswith(str(tmp_path / "site"))
    migrated = subprocess.run(
        [sys.executable, "-m", "slo_service", "migrate"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
    )
    assert migrated.returncode == 0, migrated.stderr
    (head,) = schema.heads()
    assert f"schema at {head}" in migrated.stdout
