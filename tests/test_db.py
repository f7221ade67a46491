"""The engine's timeouts: a statement that runs past the statement timeout is cancelled,
migrations never are, and the CLI gives up on a database that never answers."""

import os
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from slo_service import migrate as migrations
from slo_service.config import Settings
from slo_service.db import Timeouts, make_engine
from tests.support.servers import silent_listener

POSTGRES_ONLY = pytest.mark.parametrize("engine", ["postgres"], indirect=True)


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@POSTGRES_ONLY
def test_a_statement_past_the_statement_timeout_is_cancelled(db: Engine) -> None:
    timed = make_engine(url_of(db), Timeouts(statement=0.2))
    try:
        with timed.connect() as connection:
            assert connection.execute(text("SHOW statement_timeout")).scalar() == "200ms"
            with pytest.raises(OperationalError) as cancelled:
                connection.execute(text("SELECT pg_sleep(5)"))
    finally:
        timed.dispose()
    assert getattr(cancelled.value.orig, "sqlstate", None) == "57014"  # query_canceled


@POSTGRES_ONLY
def test_no_timeouts_by_default(db: Engine) -> None:
    plain = make_engine(url_of(db))
    try:
        with plain.connect() as connection:
            assert connection.execute(text("SHOW statement_timeout")).scalar() == "0"
    finally:
        plain.dispose()


def test_the_settings_give_the_engine_its_timeouts() -> None:
    assert Settings().database_timeouts == Timeouts(connect=5, statement=30.0, pool=10.0)
    none = Settings(database_statement_timeout_seconds=0).database_timeouts
    assert none.statement is None  # 0: no statement timeout


def _lock_waiters(connection: object, table: str) -> int:
    query = text(
        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
        "WHERE c.relname = :table AND NOT l.granted"
    )
    return int(connection.execute(query, {"table": table}).scalar_one())  # type: ignore[attr-defined]


@POSTGRES_ONLY
def test_migrations_are_not_cut_by_the_statement_timeout(db: Engine) -> None:
    """A migration may wait on a lock or rewrite a big table for longer than any request
    should: it runs without the statement timeout of the engine it is given."""
    timed = make_engine(url_of(db), Timeouts(statement=0.2))
    failures: list[BaseException] = []

    def migrate() -> None:
        try:
            migrations.upgrade(timed)
        except BaseException as exc:  # reported by the test's thread below
            failures.append(exc)

    migration = threading.Thread(target=migrate)
    try:
        with db.connect() as locker:
            locker.execute(text("LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE"))
            migration.start()
            while not _lock_waiters(locker, "alembic_version") and migration.is_alive():
                time.sleep(0.05)
            assert migration.is_alive(), failures  # it waits on the lock...
            time.sleep(1.0)  # ...for five times the statement timeout
            locker.rollback()
        migration.join(timeout=60)
    finally:
        timed.dispose()
    assert not migration.is_alive()
    assert failures == []


def test_the_cli_gives_up_on_a_silent_database() -> None:
    """``slo-service token list`` against a database that accepts and never answers exits 3
    after the connect timeout (psycopg alone would wait 130 s)."""
    with silent_listener() as port:
        env = {
            **os.environ,
            "SLO_DATABASE_URL": f"postgresql+psycopg://u:p@127.0.0.1:{port}/db",
            "SLO_DATABASE_CONNECT_TIMEOUT_SECONDS": "2",
        }
        # The process's own timeout only keeps a hang from holding the suite: well above
        # 2 s and Python's start, well under psycopg's 130 s.
        result = subprocess.run(
            [sys.executable, "-m", "slo_service", "token", "list"],
            env=env,
            capture_output=True,
            text=True,
            timeout=40,
        )
    assert result.returncode == 3, result.stderr
    assert "database unreachable at postgresql+psycopg://u:***@127.0.0.1" in result.stderr
