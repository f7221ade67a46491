"""``slo-service notify test``: send a test message to every channel of a route."""

from typing import Annotated

import typer

from slo_service.app import notifiers_for
from slo_service.cli.common import database, fail, settings_or_exit
from slo_service.db import session_scope, utcnow
from slo_service.errors import SloServiceError
from slo_service.services.alerting import routes

notify_app = typer.Typer(help="Check notification routes.", no_args_is_help=True)


@notify_app.command("test")
def notify_test(
    route: Annotated[str, typer.Option(help="The route's name or id.")],
) -> None:
    """Send a test message to every channel of a route now; exit 1 if one did not take it."""
    settings = settings_or_exit()
    with database(settings) as engine, session_scope(engine) as session:
        try:
            row = routes.resolve(session, route)
        except SloServiceError as exc:
            raise fail(f"error: --route: {exc.detail}") from None
        results = routes.send_test(
            row, notifiers_for(settings), base_url=str(settings.public_base_url), now=utcnow()
        )
    for result in results:
        name = f" {result.name}" if result.name else ""
        typer.echo(f"channel {result.channel} ({result.type}{name}): {result.outcome}, "
                   f"{result.detail}")  # fmt: skip
    failed = [r for r in results if r.outcome != "delivered"]
    if failed:
        raise fail(f"{len(failed)} of {len(results)} channels did not take the test message")
    typer.echo(f"all {len(results)} channels of route {row.name!r} took the test message")
