"""Engine, sessions and the transaction boundary.

The request's session dependency (``api.deps``) and the CLI's ``session_scope`` own the
transaction: they commit when the work succeeded and roll back otherwise. Services only
flush. Background work (evaluation, delivering notifications, the gate's cache renewal, the
demo's feed) has no request around it and opens its own ``session_scope`` per unit of work.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event, make_url
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata: MetaData = SQLModel.metadata


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone, so store naive UTC there)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Timeouts:
    """How long the database may keep a caller waiting, in seconds; ``None``: no limit.

    ``connect`` and ``statement`` apply to Postgres (SQLite is a local file: it waits at most
    30 s for a lock, whatever these say); ``pool`` is the wait for a free connection of the
    pool when every one is in use, on both."""

    connect: int | None = None  # libpq counts whole seconds, and at least 2
    statement: float | None = None
    pool: float = 30.0


def make_engine(url: str, timeouts: Timeouts = Timeouts()) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and enforced foreign keys."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=20,
            max_overflow=20,
            pool_timeout=timeouts.pool,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        url,
        connect_args=_postgres_timeouts(timeouts, make_url(url).query.get("options")),
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        pool_timeout=timeouts.pool,
    )


def _postgres_timeouts(timeouts: Timeouts, options: object) -> dict[str, Any]:
    """libpq's ``connect_timeout``, and the server's ``statement_timeout`` set for the whole
    session at connect time (no round trip per checkout), after the URL's own ``options``.
    Without a connect timeout, psycopg waits 130 s on a server that accepts and never answers."""
    args: dict[str, Any] = {}
    if timeouts.connect is not None:
        args["connect_timeout"] = timeouts.connect
    if timeouts.statement is not None:
        milliseconds = max(1, round(timeouts.statement * 1000))  # 0 would mean none
        given = f"{options} " if isinstance(options, str) else ""
        args["options"] = f"{given}-c statement_timeout={milliseconds}"
    return args


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def new_session(engine: Engine) -> Session:
    """A session for one unit of work; opening it does no I/O."""
    return Session(engine, expire_on_commit=False)


def finish(session: Session, *, commit: bool) -> None:
    """End a unit of work: commit (or roll back), then give the connection back."""
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception."""
    session = new_session(engine)
    try:
        yield session
    except BaseException:
        finish(session, commit=False)
        raise
    finish(session, commit=True)
