"""A database that hangs, is slow or has no connection to spare answers 503 ``Unavailable``
within the configured timeouts, instead of holding the request (or answering 500)."""

from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import TimeoutError as PoolTimeout

from slo_service.api.state import state_of
from slo_service.app import create_app
from slo_service.config import Settings
from tests.support.servers import serve_in_thread, silent_listener

CONNECT_TIMEOUT = 2  # libpq's least
# What the tests' HTTP client waits, a bit above the timeout under test: a request that hangs
# fails the test instead of holding it.
PATIENCE = 10.0
POSTGRES_ONLY = pytest.mark.parametrize("engine", ["postgres"], indirect=True)


def test_a_silent_database_answers_503_within_the_connect_timeout() -> None:
    with silent_listener() as port:
        settings = Settings(
            database_url=f"postgresql+psycopg://u:p@127.0.0.1:{port}/db",
            database_connect_timeout_seconds=CONNECT_TIMEOUT,
            scheduler=False,
        )
        app = create_app(settings)
        try:
            with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=PATIENCE) as http:
                ready = http.get("/readyz")
                token = {"Authorization": "Bearer slo_looked-up-in-the-database"}
                listing = http.get("/api/v1/slos", headers=token)
        finally:
            state_of(app).engine.dispose()
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
    assert ready.json()["reason"].startswith("database unreachable")
    assert listing.status_code == 503
    assert listing.json() == {
        "error": "Unavailable",
        "detail": "the database is unreachable; try again shortly",
    }
    assert listing.headers["retry-after"] == "5"


@POSTGRES_ONLY
def test_a_statement_past_the_statement_timeout_answers_503(
    db: Engine, make_token: Callable[..., dict[str, str]]
) -> None:
    reader = make_token("read")
    settings = Settings(
        database_url=db.url.render_as_string(hide_password=False),
        database_statement_timeout_seconds=0.5,
        scheduler=False,
    )
    app = create_app(settings)  # its own engine, with the settings' timeouts
    try:
        with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=PATIENCE) as http:
            with db.connect() as locker:
                # Another transaction keeps every reader of the SLOs waiting, as a long
                # migration or a stuck writer would.
                locker.execute(text("LOCK TABLE slo IN ACCESS EXCLUSIVE MODE"))
                listing = http.get("/api/v1/slos", headers=reader)
                locker.rollback()
            assert http.get("/api/v1/slos", headers=reader).status_code == 200  # lock gone
    finally:
        state_of(app).engine.dispose()
    assert listing.status_code == 503
    assert listing.json() == {
        "error": "Unavailable",
        "detail": "the database did not finish a statement within the statement timeout "
        "(0.5 s); try again shortly",
    }


def take_every_connection(engine: Engine) -> list[Connection]:
    """Check out connections of ``engine`` until its pool has none left to give."""
    taken: list[Connection] = []
    try:
        for _ in range(1000):  # far more than any pool here holds
            taken.append(engine.connect())
    except PoolTimeout:
        return taken
    raise AssertionError("the pool gave 1000 connections: it has no limit")


def test_no_free_connection_within_the_pool_timeout_answers_503(
    db: Engine, make_token: Callable[..., dict[str, str]]
) -> None:
    reader = make_token("read")
    settings = Settings(
        database_url=db.url.render_as_string(hide_password=False),
        database_pool_timeout_seconds=0.5,
        scheduler=False,
    )
    app = create_app(settings)
    taken = take_every_connection(state_of(app).engine)
    try:
        with TestClient(app) as client:
            busy = client.get("/api/v1/slos", headers=reader)
            taken.pop().close()
            assert client.get("/api/v1/slos", headers=reader).status_code == 200
    finally:
        for connection in taken:
            connection.close()
        state_of(app).engine.dispose()
    assert busy.status_code == 503
    assert busy.json() == {
        "error": "Unavailable",
        "detail": "every database connection of this process is in use (waited 0.5 s for "
        "one); try again shortly",
    }
