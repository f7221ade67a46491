"""Alembic migrations, up and down, on SQLite and Postgres, and in step with the models."""

from collections.abc import Callable

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from slo_service import schema
from slo_service.db import make_engine, metadata

TABLES = {"slo", "api_token", "audit_log", "push_event"}


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_up_down_up(backend: str, database_factory: Callable[[str, str], str]) -> None:
    engine = make_engine(database_factory(backend, "slo_migrations"))
    try:
        assert schema.current(engine) == set()
        schema.upgrade(engine)
        assert schema.current(engine) == schema.heads()
        assert set(inspect(engine).get_table_names()) >= TABLES
        with engine.connect() as connection:
            drift = compare_metadata(MigrationContext.configure(connection), metadata)
        assert drift == [], f"models and migrations disagree: {drift}"

        schema.downgrade(engine, "base")
        assert schema.current(engine) == set()
        assert not TABLES & set(inspect(engine).get_table_names())

        schema.upgrade(engine)
        assert schema.current(engine) == schema.heads()
    finally:
        engine.dispose()


def test_revision_files_are_dated() -> None:
    config = schema.alembic_config()
    for revision in ScriptDirectory.from_config(config).walk_revisions():
        filename = revision.path.rsplit("/", 1)[-1]
        assert filename[:16].replace("_", "").replace("-", "").isdigit(), filename
