"""Many rows in one statement: ``column IN values`` as one parameter, the dialect's INSERT
with ON CONFLICT, and the session's psycopg connection where Postgres's COPY and array
parameters move many rows at once."""

import json
from collections.abc import Sequence
from typing import Any

import psycopg
from sqlalchemy import Integer, Text, bindparam, func, literal_column
from sqlalchemy import select as plain
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session


def among(session: Session, column: Any, values: Sequence[int] | Sequence[str]) -> Any:
    """``column IN values`` as one parameter however many values (10,000 SLOs would be
    10,000 bound parameters to compile and send): a Postgres array, or a JSON array SQLite
    unnests. The values are all integers or all strings."""
    if session.connection().dialect.name == "postgresql":
        kind = Text if values and isinstance(values[0], str) else Integer
        return column == func.any(bindparam("values", list(values), type_=ARRAY(kind), unique=True))
    unnested: Any = plain(literal_column("value")).select_from(
        func.json_each(json.dumps(list(values)))
    )
    return column.in_(unnested)


def dialect_insert(session: Session) -> Any:
    """The dialect's INSERT construct, which knows ON CONFLICT (Postgres's or SQLite's)."""
    return postgres_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def postgres(session: Session) -> psycopg.Connection[Any] | None:
    """The session's psycopg connection on Postgres (for COPY and array parameters, which
    move many rows at once), None on SQLite."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return None
    return connection.connection.driver_connection
