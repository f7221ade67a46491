"""``slo-service apply``: create or update SLOs from a YAML file (native, OpenSLO or Sloth),
all or nothing, against the database or through a server."""

import sys
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from slo_service.app import datasources_for
from slo_service.cli.common import CLI_ACTOR, EXIT_UNREACHABLE, database, fail, settings_or_exit
from slo_service.db import session_scope
from slo_service.errors import InvalidInput, SloServiceError, format_loc
from slo_service.schemas.apply import ApplyResult
from slo_service.services import apply as apply_service


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
    checker = datasources_for(settings)
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
