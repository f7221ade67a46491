"""The wheel carries what the service reads at run time, and works outside the source tree.

In the repository ``migrations/`` and ``web/`` sit at the top level; the wheel maps them into
the package (pyproject's force-include). From an unpacked wheel, ``slo-service migrate`` brings
a new database to head and the app renders its pages and serves its stylesheet, both read from
the wheel's copies, not from the checkout."""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from slo_service import migrate

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
    # Only the package: no top-level migrations/, web/ or tests/ in site-packages.
    top = {n.split("/")[0] for n in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"slo_service"}
    assert not any(n.startswith("slo_service/web/") and n.endswith(".py") for n in names)

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
    (head,) = migrate.heads()
    assert f"schema at {head}" in migrated.stdout

    rendered = subprocess.run(
        [sys.executable, "-c", RENDER],
        cwd=workdir,
        env={**env, "SLO_SCHEDULER": "false", "SLO_PUBLIC_READ": "true"},
        capture_output=True,
        text=True,
    )
    assert rendered.returncode == 0, rendered.stderr
    web, migrations, login, css, overview = rendered.stdout.splitlines()
    assert web == str(tmp_path / "site" / "slo_service" / "web")
    assert migrations == str(tmp_path / "site" / "slo_service" / "migrations")
    assert login == "200 Sign in"
    assert css.startswith("200 ")
    assert int(css.split()[1]) > 1000
    assert overview == "200 Are we meeting our SLAs?"


# Run with the unpacked wheel first on the path, in a directory outside the checkout.
RENDER = """
from fastapi.testclient import TestClient
from slo_service import resources
from slo_service.app import create_app
print(resources.web())
print(resources.migrations())
with TestClient(create_app()) as client:
    login = client.get("/login")
    print(login.status_code, "Sign in" if "Sign in" in login.text else login.text[:200])
    css = client.get("/static/style.css")
    print(css.status_code, len(css.content))
    page = client.get("/")
    headline = "Are we meeting our SLAs?"
    print(page.status_code, headline if headline in page.text else page.text[:200])
"""


def test_the_dockerfile_copies_what_the_wheel_is_built_from(tmp_path: Path) -> None:
    """No Docker engine here: build the wheel from exactly what the Dockerfile copies before
    ``pip install .``, so that a folder it forgets fails this test instead of the image."""
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    install = next(i for i, line in enumerate(lines) if "pip install ." in line)
    copied = [
        source
        for line in lines[:install]
        if line.startswith("COPY ")
        for source in line.split()[1:-1]
    ]
    assert {"slo_service", "migrations", "web"} <= set(copied)
    context = tmp_path / "context"
    for source in copied:
        if (ROOT / source).is_dir():
            shutil.copytree(
                ROOT / source, context / source, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            context.mkdir(exist_ok=True)
            shutil.copy(ROOT / source, context / source)
    built = subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path)],
        cwd=context,
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("slo_service-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert "slo_service/migrations/env.py" in names
    assert "slo_service/web/templates/base.html" in names
