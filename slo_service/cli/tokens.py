"""``slo-service token``: create, list and revoke API tokens; list or end the pages' sign-ins."""

from typing import Annotated

import typer

from slo_service.cli.common import CLI_ACTOR, database, fail, settings_or_exit
from slo_service.db import session_scope, utcnow
from slo_service.domain.scopes import parse_scopes
from slo_service.domain.windows import parse_duration
from slo_service.errors import SloServiceError
from slo_service.services import sessions, tokens

token_app = typer.Typer(
    help="Create, list and revoke API tokens; list or end the pages' sign-ins.",
    no_args_is_help=True,
)


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option(help="A name saying who uses it, e.g. ci or alice.")],
    scopes: Annotated[
        str, typer.Option(help="Comma-separated: read, write, gate, override, admin.")
    ] = "read",
    expires_in: Annotated[
        str | None, typer.Option(help="Lifetime such as 90d or 12h; no expiry by default.")
    ] = None,
) -> None:
    """Create a token; it is printed once, as the last line, and only its hash is kept.

    Scopes (a token may do what any of its scopes grants):
    read: SLOs, status, the SLA pages; also asks the gate.
    write: changes SLOs, pushes events; also reads.
    gate: only asks the gate and records deploys (CI's).
    override: break-glass, overrides that let deploys through a freeze; also reads.
    write alone may not override: give on call --scopes write,override.
    admin: everything (policies, freezes, routes, the audit log).
    """
    try:
        parsed = parse_scopes(scopes)
        lifetime = parse_duration(expires_in) if expires_in else None
    except ValueError as exc:
        raise fail(f"error: {exc}") from None
    expires_at = utcnow() + lifetime if lifetime else None
    try:
        with database(settings_or_exit()) as engine, session_scope(engine) as session:
            token, plaintext = tokens.create(
                session, name=name, scopes=parsed, expires_at=expires_at, actor=CLI_ACTOR
            )
    except SloServiceError as exc:
        raise fail(f"error: {exc.detail}") from None
    expiry = f", expires {token.expires_at.isoformat()}" if token.expires_at else ""
    typer.echo(f"created token {name!r} with scopes {','.join(token.scopes)}{expiry}")
    typer.echo("store it now; it is not shown again:")
    typer.echo(plaintext)


@token_app.command("list")
def token_list() -> None:
    """List tokens (names, scopes, state; never the tokens themselves)."""
    with database(settings_or_exit()) as engine, session_scope(engine) as session:
        for token in tokens.list_all(session):
            state = "revoked" if token.revoked_at else "active"
            if token.expires_at and token.expires_at <= utcnow():
                state = "expired"
            typer.echo(f"{token.name}\t{','.join(token.scopes)}\t{token.prefix}…\t{state}")


@token_app.command("revoke")
def token_revoke(name: Annotated[str, typer.Argument(help="The token's name.")]) -> None:
    """Revoke a token at once."""
    try:
        with database(settings_or_exit()) as engine, session_scope(engine) as session:
            tokens.revoke(session, name=name, actor=CLI_ACTOR)
    except SloServiceError as exc:
        raise fail(f"error: {exc.detail}") from None
    typer.echo(f"revoked {name!r} and ended its sign-ins to the pages")


@token_app.command("sessions")
def token_sessions(
    end: Annotated[
        str | None, typer.Option(help="End the pages' sign-ins of this token (it stays valid).")
    ] = None,
) -> None:
    """List the SLA pages' live sign-ins (token, started, expires), or end a token's."""
    now = utcnow()
    try:
        with database(settings_or_exit()) as engine, session_scope(engine) as session:
            if end is not None:
                count = sessions.end_of_token(session, name=end, now=now)
                typer.echo(f"ended {count} sign-in(s) of {end!r}")
                return
            for row in sessions.live(session, now=now):
                typer.echo(f"{row.token_name}\t{row.created_at.isoformat()}\t"
                           f"{row.expires_at.isoformat()}")  # fmt: skip
    except SloServiceError as exc:
        raise fail(f"error: {exc.detail}") from None
