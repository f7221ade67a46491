"""What the CLI's commands share: settings read with a clear error, the database (exit 3
when unreachable), and how a command fails."""

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from slo_service.config import Settings
from slo_service.db import make_engine
from slo_service.errors import clean_message

CLI_ACTOR = "cli"  # who the audit log says changed what from the command line
EXIT_INVALID = 1
EXIT_UNREACHABLE = 3


def fail(message: str, code: int = EXIT_INVALID) -> typer.Exit:
    typer.secho(message, err=True, fg=typer.colors.RED)
    return typer.Exit(code)


def settings_or_exit() -> Settings:
    """The settings from the environment, or exit naming the variable that is wrong."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = [
            f"SLO_{'_'.join(map(str, e['loc'])).upper()}: {clean_message(e['msg'])}"
            for e in exc.errors()
        ]
        raise fail("invalid settings:\n  " + "\n  ".join(problems)) from None


@contextmanager
def database(settings: Settings) -> Iterator[Engine]:
    """An engine for the configured database; unreachable means exit 3 with the reason."""
    engine = make_engine(settings.database_url, settings.database_timeouts)
    try:
        yield engine
    except OperationalError as exc:
        where = engine.url.render_as_string(hide_password=True)
        raise fail(f"database unreachable at {where}: {exc.orig}", EXIT_UNREACHABLE) from None
    finally:
        engine.dispose()
