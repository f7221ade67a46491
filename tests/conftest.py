"""Fixtures: every API test runs once on SQLite and once on a real Postgres."""

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlmodel import Session

from slo_service import migrate
from slo_service.app import create_app
from slo_service.config import Settings
from slo_service.db import make_engine, metadata, session_scope
from slo_service.domain.scopes import parse_scopes
from slo_service.services import tokens
from tests.support.metrics import Scenario, backfill, slow_scrapes
from tests.support.receivers import LOOPBACK_NETWORKS
from tests.support.servers import free_port, postgres_cluster, prometheus_server

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(scope="session")
def scratch() -> Iterator[Path]:
    """A directory other users can enter (the Postgres server runs as user postgres)."""
    path = Path(tempfile.mkdtemp(prefix="slo-tests-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server(scratch: Path) -> Iterator[str]:
    """URL of the throwaway cluster's ``postgres`` database (or SLO_TEST_POSTGRES_URL's)."""
    given = os.environ.get("SLO_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    with postgres_cluster(scratch / "postgres") as url:
        yield url


def new_database(kind: str, scratch: Path, postgres_url: Callable[[], str], name: str) -> str:
    """URL of a new, empty database of ``kind`` called ``name``."""
    if kind == "sqlite":
        return f"sqlite:///{scratch / f'{name}.db'}"
    server = postgres_url()
    admin = make_engine(server)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="session")
def database_factory(request: pytest.FixtureRequest, scratch: Path) -> Callable[[str, str], str]:
    def make(kind: str, name: str) -> str:
        return new_database(kind, scratch, lambda: request.getfixturevalue("postgres_server"), name)

    return make


@pytest.fixture(scope="session", params=BACKENDS)
def engine(
    request: pytest.FixtureRequest, database_factory: Callable[[str, str], str]
) -> Iterator[Engine]:
    """A migrated database of each backend, shared by the session's tests."""
    url = database_factory(request.param, "slo_api")
    engine = make_engine(url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def db(engine: Engine) -> Iterator[Engine]:
    """The shared database, emptied after each test."""
    yield engine
    tables = [table.name for table in reversed(metadata.sorted_tables)]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))


@pytest.fixture(scope="session")
def closed_port_url() -> str:
    """A URL where nothing listens: Prometheus unreachable."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def settings(db: Engine, closed_port_url: str) -> Settings:
    return Settings(
        database_url=db.url.render_as_string(hide_password=False),
        prometheus_url=closed_port_url,
        scheduler=False,  # tests evaluate explicitly; the scheduler has tests of its own
        notify_allowed_networks=LOOPBACK_NETWORKS,  # the test receivers are on loopback
    )


@pytest.fixture
def client(settings: Settings, db: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine=db)) as test_client:
        yield test_client


@pytest.fixture
def make_token(db: Engine) -> Callable[..., dict[str, str]]:
    """``make_token("read,write")`` → Authorization headers of a new token with those scopes."""
    counter = iter(range(1_000_000))

    def make(scopes: str = "admin", name: str | None = None) -> dict[str, str]:
        with session_scope(db) as session:
            _, plaintext = tokens.create(
                session,
                name=name or f"token-{next(counter)}",
                scopes=parse_scopes(scopes),
                actor="tests",
            )
        return {"Authorization": f"Bearer {plaintext}"}

    return make


@pytest.fixture
def admin(make_token: Callable[..., dict[str, str]]) -> dict[str, str]:
    return make_token("admin", name="admin")


@pytest.fixture
def session(db: Engine) -> Iterator[Session]:
    with Session(db) as session:
        yield session


@pytest.fixture(scope="session")
def prometheus_url(scratch: Path) -> Iterator[str]:
    """A real Prometheus (Debian's package) with an empty TSDB."""
    with prometheus_server(scratch / "prometheus") as url:
        yield url


@pytest.fixture(scope="session")
def scenario(scratch: Path) -> Scenario:
    """31 days of synthetic ML metrics ending three hours ago, on an hour boundary."""
    now = int(time.time())
    return Scenario(end=now - now % 3600 - 3 * 3600)


@pytest.fixture(scope="session")
def month_scenario() -> Scenario:
    """Two days of metrics of the model "monthly" that end 12 hours into the latest month
    whose first 13 hours are past: a month boundary in the middle of the data."""
    now = datetime.now(UTC)
    start = datetime(now.year, now.month, 1, tzinfo=UTC)
    if now - start < timedelta(hours=13):
        start = datetime(start.year - (start.month == 1), (start.month - 2) % 12 + 1, 1, tzinfo=UTC)
    return Scenario(end=int(start.timestamp()) + 12 * 3600, hours=48, models=("monthly",))


@pytest.fixture(scope="session")
def scenario_prometheus(
    scratch: Path, scenario: Scenario, month_scenario: Scenario
) -> Iterator[str]:
    """A real Prometheus serving both scenarios, backfilled with promtool."""
    texts = [scenario.generate(), month_scenario.generate(), slow_scrapes(scenario.end)]
    data = backfill(texts, scratch / "scenario")
    with prometheus_server(scratch / "scenario", tsdb=data) as url:
        yield url


@pytest.fixture
def env(db: Engine, closed_port_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment of a CLI command against the test database (Prometheus unreachable)."""
    values = {
        "SLO_DATABASE_URL": db.url.render_as_string(hide_password=False),
        "SLO_PROMETHEUS_URL": closed_port_url,
        "SLO_SCHEDULER": "false",
        "SLO_NOTIFY_ALLOWED_NETWORKS": LOOPBACK_NETWORKS,
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values
