"""The ``slo-service`` command: serve, worker, evaluate, gate, migrate, apply, export, token,
notify, rules, dashboards, demo-exporter, version."""

import gc
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
import uvicorn
from pydantic import ValidationError

from slo_service import __version__
from slo_service import migrate as schema
from slo_service.app import create_app, notifiers_for, sources_for
from slo_service.cli import gate_text
from slo_service.cli.common import EXIT_INVALID, EXIT_UNREACHABLE, database, fail, settings_or_exit
from slo_service.cli.dashboards import dashboards_app
from slo_service.cli.demo import demo_exporter
from slo_service.cli.export import export
from slo_service.cli.rules import rules_app
from slo_service.db import make_engine, session_scope, utcnow
from slo_service.demo import seed as demo
from slo_service.domain.gate import ChangeType, Decision
from slo_service.domain.scopes import parse_scopes
from slo_service.domain.windows import parse_duration
from slo_service.errors import InvalidInput, SloServiceError, format_loc
from slo_service.models import SLO
from slo_service.repositories import slos as slo_repo
from slo_service.scheduler import demo_feeder, schedule
from slo_service.schemas.gate import GatePublic
from slo_service.schemas.slo import ApplyResult
from slo_service.services import apply as apply_service
from slo_service.services import evaluation, sessions, slos, tokens
from slo_service.services.alerting import routes
from slo_service.sources.prometheus_checker import PrometheusChecker

app = typer.Typer(
    help="SLOs and error budgets for ML models in production.",
    no_args_is_help=True,
    add_completion=False,
)
token_app = typer.Typer(
    help="Create, list and revoke API tokens; list or end the pages' sign-ins.",
    no_args_is_help=True,
)
app.add_typer(token_app, name="token")
notify_app = typer.Typer(help="Check notification routes.", no_args_is_help=True)
app.add_typer(notify_app, name="notify")
app.add_typer(dashboards_app, name="dashboards")
app.add_typer(rules_app, name="rules")
app.command("demo-exporter")(demo_exporter)
app.command()(export)

CLI_ACTOR = "cli"


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    demo_data: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="On an empty database, create a demo model with 30 days of events; while "
            "serving, keep feeding it new events every minute.",
        ),
    ] = False,
) -> None:
    """Run the API; it migrates first (SLO_MIGRATE_ON_START) and evaluates SLOs (SLO_SCHEDULER)."""
    settings = settings_or_exit()
    with database(settings) as engine:
        if settings.migrate_on_start:
            schema.upgrade(engine)
        if demo_data:
            with session_scope(engine) as session:
                created = demo.seed(session, now=utcnow(), layout=settings.layout)
            typer.echo(
                f"demo: created service {demo.SERVICE!r} with {len(demo.DEMO_SLOS)} SLOs"
                if created
                else "demo: the database is not empty; left it as it is"
            )
            typer.echo("demo: for a token, run: slo-service token create --name me --scopes admin")
    engine = make_engine(settings.database_url, settings.database_timeouts)
    application = create_app(settings, engine=engine)
    feeder = demo_feeder(engine, settings) if demo_data else None
    # What is loaded by now lives as long as the process: keep it out of the collector's
    # full passes, which otherwise pause every request for tens of milliseconds.
    gc.collect()
    gc.freeze()
    if feeder is None:
        uvicorn.run(application, host=host, port=port, log_level="info")
        return
    feeder.start()
    typer.echo("demo: feeding it new events every minute while serving")
    try:
        uvicorn.run(application, host=host, port=port, log_level="info")
    finally:
        feeder.shutdown(wait=True)


@app.command()
def worker() -> None:
    """Evaluate SLOs and send notifications every interval, without serving the API."""
    settings = settings_or_exit()
    engine = make_engine(settings.database_url, settings.database_timeouts)
    typer.echo(f"worker: evaluating every {settings.evaluation_interval_seconds} s")
    notifiers = notifiers_for(settings)
    schedule(engine, sources_for(settings, engine), notifiers, settings, blocking=True).start()


@app.command()
def evaluate(
    slo: Annotated[
        str | None,
        typer.Option(help="One SLO (id or service:name); all measured SLOs if left out."),
    ] = None,
    backfill: Annotated[
        str | None, typer.Option(help="Also re-measure this far back, e.g. 30d.")
    ] = None,
) -> None:
    """Measure SLOs now (a new SLO's whole window the first time), with a progress bar."""
    settings = settings_or_exit()
    try:
        depth = parse_duration(backfill) if backfill else None
    except ValueError as exc:
        raise fail(f"error: --backfill: {exc}") from None
    with database(settings) as engine:
        sources = sources_for(settings, engine)
        try:
            with session_scope(engine) as session:
                ids = (
                    [_id_of(slos.resolve(session, slo))] if slo else slo_repo.measured_ids(session)
                )
        except SloServiceError as exc:
            raise fail(f"error: --slo: {exc.detail}") from None
        failures = 0
        with typer.progressbar(ids, label="evaluating", show_pos=True) as bar:
            for slo_id in bar:
                with session_scope(engine) as session:
                    row = slo_repo.get(session, slo_id)
                    if row is None:
                        continue
                    outcome = evaluation.evaluate(
                        session, row, sources=sources, layout=settings.layout, backfill=depth
                    )
                if not outcome.ok:
                    failures += 1
                    typer.secho(f"\n{row.service}:{row.name}: {outcome.error}", err=True, fg="red")
    typer.echo(f"evaluated {len(ids)} SLOs, {failures} failed")
    if failures:
        raise typer.Exit(EXIT_INVALID)


def _id_of(slo: SLO) -> int:
    assert slo.id is not None
    return slo.id


class OutputFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


@app.command()
def gate(
    service: Annotated[str, typer.Option(help="The service (model) to deploy.")],
    url: Annotated[
        str, typer.Option(envvar="SLO_API_URL", help="The slo-service to ask.")
    ] = "http://127.0.0.1:8000",
    token: Annotated[
        str | None,
        typer.Option(envvar="SLO_API_TOKEN", help="A token with the gate scope (CI's)."),
    ] = None,
    change_type: Annotated[
        ChangeType,
        typer.Option(
            help="What is deployed; exempt types (by default rollback, security) pass freezes."
        ),
    ] = ChangeType.FEATURE,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="text for people, json for scripts.")
    ] = OutputFormat.TEXT,
    strict: Annotated[bool, typer.Option(help="Fail on warn too, not only on deny.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the answer.")] = 10.0,
) -> None:
    """Ask the deploy gate whether SERVICE may deploy; for CI, before deploying.

    Exit 0: allow, or warn (a warning is printed). Exit 1: deny, or warn with --strict.
    Exit 3: the service could not be asked (unreachable, or it answered an error: bad token,
    unknown service...). The reasons go to stdout.
    """
    answer = _ask_gate(url, token, service, change_type, timeout)
    if output is OutputFormat.JSON:
        typer.echo(answer.model_dump_json(indent=2))
    else:
        typer.echo("\n".join(gate_text.render(answer, base_url=url)))
    if answer.decision == Decision.WARN:
        typer.secho(
            f"warning: {service}: deploying with its error budget at risk"
            + (" (--strict: failing)" if strict else ""),
            err=True,
            fg=typer.colors.YELLOW,
        )
    if answer.decision == Decision.DENY or (strict and answer.decision == Decision.WARN):
        raise typer.Exit(EXIT_INVALID)


def _ask_gate(
    url: str, token: str | None, service: str, change_type: ChangeType, timeout: float
) -> GatePublic:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    params = {"service": service, "change_type": str(change_type)}
    endpoint = f"{url.rstrip('/')}/api/v1/gate"
    try:
        response = httpx.get(endpoint, params=params, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise fail(f"gate: {url} unreachable: {exc}", EXIT_UNREACHABLE) from None
    if response.status_code != 200:
        try:
            detail = response.json()["detail"]
        except (ValueError, KeyError, TypeError):
            detail = response.text[:500]
        raise fail(
            f"gate: {url} answered {response.status_code}: {detail}", EXIT_UNREACHABLE
        ) from None
    try:
        return GatePublic.model_validate_json(response.content)
    except ValidationError as exc:
        raise fail(
            f"gate: {url} did not answer like slo-service: {exc}", EXIT_UNREACHABLE
        ) from None


@app.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    down: Annotated[bool, typer.Option("--down", help="Downgrade to REVISION instead.")] = False,
) -> None:
    """Bring the database schema (SLO_DATABASE_URL) to a revision, head by default."""
    with database(settings_or_exit()) as engine:
        if down:
            schema.downgrade(engine, revision)
        else:
            schema.upgrade(engine, revision)
        typer.echo(f"schema at {', '.join(sorted(schema.current(engine))) or 'base (empty)'}")


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


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


@app.command()
def apply(
    file: Annotated[Path, typer.Option("--file", "-f", help="YAML file of SLOs ('-' = stdin).")],
    dry_run: Annotated[bool, typer.Option(help="Show the changes; write nothing.")] = False,
    prune: Annotated[
        bool, typer.Option(help="Delete SLOs of the file's services that the file omits.")
    ] = False,
    url: Annotated[
        str | None,
        typer.Option(envvar="SLO_API_URL", help="Apply through this server instead of the DB."),
    ] = None,
    token: Annotated[
        str | None, typer.Option(envvar="SLO_API_TOKEN", help="Token with the write scope.")
    ] = None,
) -> None:
    """Create or update SLOs from a YAML file, matched by (service, name), all or nothing."""
    text = sys.stdin.read() if str(file) == "-" else _read(file)
    try:
        items = apply_service.parse_yaml(text)
        result = (
            _apply_remote(url, token, items, dry_run, prune)
            if url
            else _apply_local(items, dry_run, prune)
        )
    except InvalidInput as exc:
        lines = [f"{format_loc(loc)}: {reason}" if loc else reason for loc, reason in exc.problems]
        raise fail(f"{file}: invalid, nothing applied:\n  " + "\n  ".join(lines)) from None
    except SloServiceError as exc:
        raise fail(f"{file}: not applied: {exc.detail}") from None
    _print_plan(result)


def _read(file: Path) -> str:
    try:
        return file.read_text()
    except OSError as exc:
        raise fail(f"{file}: cannot read: {exc.strerror}") from None


def _apply_local(items: list[apply_service.Item], dry_run: bool, prune: bool) -> ApplyResult:
    settings = settings_or_exit()
    checker = PrometheusChecker(
        str(settings.prometheus_url), timeout=settings.prometheus_timeout_seconds
    )
    with database(settings) as engine, session_scope(engine) as session:
        return apply_service.apply(
            session, items, dry_run=dry_run, prune=prune, actor=CLI_ACTOR, checker=checker
        )


def _apply_remote(
    url: str, token: str | None, items: list[apply_service.Item], dry_run: bool, prune: bool
) -> ApplyResult:
    body: dict[str, Any] = {
        "slos": [dict(item.spec) for item in items],
        "dry_run": dry_run,
        "prune": prune,
    }
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.post(
            f"{url.rstrip('/')}/api/v1/apply", json=body, headers=headers, timeout=60
        )
    except httpx.HTTPError as exc:
        raise fail(f"{url}: unreachable: {exc}", EXIT_UNREACHABLE) from None
    if response.status_code == 422:
        errors = response.json().get("errors") or []
        raise InvalidInput([(e["loc"], e["msg"]) for e in errors])
    if response.status_code != 200:
        raise fail(f"{url} answered {response.status_code}: {response.text}")
    return ApplyResult.model_validate(response.json())


_MARKS = {"create": "+", "update": "~", "delete": "-", "unchanged": "="}


def _print_plan(result: ApplyResult) -> None:
    for change in result.changes:
        typer.echo(f"{_MARKS[change.action]} {change.action} {change.service}:{change.name}")
        if change.action == "update":
            for field, values in change.changes.items():
                typer.echo(f"    {field}: {values['from']!r} -> {values['to']!r}")
    counts = ", ".join(f"{n} {action}" for action, n in result.summary.items())
    suffix = " (dry run: nothing written)" if result.dry_run else ""
    typer.echo(f"{counts}{suffix}")
