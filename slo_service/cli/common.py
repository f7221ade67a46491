"""What the CLI's commands share: settings read with a clear error, the database (exit 3
when unreachable, exit 4 when it lacks the code's schema), and how a command fails."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from pydantic import ValidationError
from sqlalchemy import Engine, make_url
from sqlalchemy.exc import OperationalError

from slo_service import migrate
from slo_service.config import Settings
from slo_service.db import make_engine
from slo_service.errors import clean_message
from slo_service.sources import datasources

CLI_ACTOR = "cli"  # who the audit log says changed what from the command line
EXIT_INVALID = 1
EXIT_UNREACHABLE = 3
EXIT_NO_SCHEMA = 4  # the database is not at the code's revision: `slo-service migrate`


def fail(message: str, code: int = EXIT_INVALID) -> typer.Exit:
    typer.secho(message, err=True, fg=typer.colors.RED)
    return typer.Exit(code)


def settings_or_exit() -> Settings:
    """The settings from the environment, or exit naming the variable that is wrong."""
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = [
            f"SLO_{'_'.join(map(str, e['loc'])).upper()}: {clean_message(e['msg'])}"
            for e in exc.errors()
        ]
        raise fail("invalid settings:\n  " + "\n  ".join(problems)) from None
    if settings.datasources_file is not None:
        try:  # fail at start-up, naming the file, the datasource and the field
            datasources.load(settings.datasources_file)
        except datasources.DatasourcesFileError as exc:
            raise fail(f"invalid settings:\n  {exc}") from None
    return settings


@contextmanager
def database(settings: Settings, *, migrated: bool = True) -> Iterator[Engine]:
    """An engine for the configured database; unreachable means exit 3 with the reason.

    ``migrated``: the command needs the tables, so the database must be at the code's head
    revision, else exit 4 saying what to run; and a SQLite file that does not exist is not
    created (SQLite would on connect, leaving an empty file behind). ``migrate`` and
    ``serve``, which make the schema, pass False."""
    if migrated:
        _refuse_missing_file(settings)
    engine = make_engine(settings.database_url, settings.database_timeouts)
    try:
        if migrated:
            _refuse_other_revision(engine, settings)
        yield engine
    except OperationalError as exc:
        where = engine.url.render_as_string(hide_password=True)
        raise fail(f"database unreachable at {where}: {exc.orig}", EXIT_UNREACHABLE) from None
    finally:
        engine.dispose()


def _how_to_migrate(settings: Settings) -> str:
    if settings.migrate_on_start:
        return "run `slo-service migrate` (or `slo-service serve`, which migrates on start)"
    return "run `slo-service migrate`"


def _refuse_missing_file(settings: Settings) -> None:
    """Exit 4 when the URL names a SQLite file that does not exist, before SQLite makes it."""
    url = make_url(settings.database_url)
    name = url.database
    if url.get_backend_name() != "sqlite" or not name or name == ":memory:":
        return
    if name.startswith("file:") or url.query.get("uri"):
        return  # a SQLite URI filename: the file is whatever it says, with its own mode
    path = Path(name)
    if not path.exists():
        raise fail(
            f"no database file at {path.absolute()}: {_how_to_migrate(settings)} to make "
            "it, or set SLO_DATABASE_URL to the database to use",
            EXIT_NO_SCHEMA,
        )


def _refuse_other_revision(engine: Engine, settings: Settings) -> None:
    """Exit 4 unless the database's schema is at the revision the code was written for."""
    current, heads = migrate.current(engine), migrate.heads()
    if current == heads:
        return
    where = engine.url.render_as_string(hide_password=True)
    if not current:
        raise fail(
            f"the database at {where} has no schema yet: {_how_to_migrate(settings)}",
            EXIT_NO_SCHEMA,
        )
    at, needs = ", ".join(sorted(current)), ", ".join(sorted(heads))
    if not current <= migrate.revisions():
        raise fail(
            f"the database at {where} is at revision {at}, which this slo-service does not "
            f"know (the code needs {needs}): a newer slo-service migrated it; use that one",
            EXIT_NO_SCHEMA,
        )
    raise fail(
        f"the database at {where} is at revision {at}, the code needs {needs}: "
        "run `slo-service migrate`",
        EXIT_NO_SCHEMA,
    )
