"""Migrations: upgrade, downgrade and whether a database is at head (Alembic, run in-process)."""

from collections.abc import Callable

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from slo_service import resources

FILE_TEMPLATE = "%%(year)d_%%(month).2d_%%(day).2d_%%(hour).2d%%(minute).2d-%%(rev)s_%%(slug)s"
# The Postgres advisory lock that makes concurrent migrations (replicas starting together) run
# one after the other; any fixed 64-bit number no other code of the database's users takes.
MIGRATION_LOCK = 0x510_5E41_1CE0


def alembic_config() -> Config:
    """The Alembic config of the installed package (works from a wheel as from a checkout)."""
    config = Config()
    config.set_main_option("script_location", str(resources.migrations()))
    config.set_main_option("file_template", FILE_TEMPLATE)
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    _run(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str) -> None:
    _run(engine, command.downgrade, revision)


def _run(engine: Engine, action: Callable[[Config, str], None], revision: str) -> None:
    """Run ``action`` in one transaction. On SQLite, foreign keys are off meanwhile: Alembic
    changes a column there by copying the table and dropping the old one, and with them on,
    the drop would fire the ON DELETE rules of every row that points at it (cascading deletes,
    links set to null). Whether the links still hold is checked before the commit."""
    config = alembic_config()
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:  # before the transaction: the pragma is a no-op inside one
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                if engine.dialect.name == "postgresql":
                    # A migration may rewrite a big table or wait on a lock for longer than
                    # any request should; cut halfway, it would stop `serve` from starting.
                    connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
                    # Replicas starting together all migrate: one at a time, so that the
                    # others find the schema at head instead of creating it again (and
                    # failing on the first table the winner made). Held until the commit.
                    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
                config.attributes["connection"] = connection
                action(config, revision)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                connection.rollback()
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def heads() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def revisions() -> set[str]:
    """Every revision the package's migrations know (a database at another one was migrated
    by a newer version)."""
    scripts = ScriptDirectory.from_config(alembic_config()).walk_revisions()
    return {script.revision for script in scripts}


def current(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())
