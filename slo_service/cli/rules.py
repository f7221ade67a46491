"""``slo-service rules``: Prometheus recording and alert rules for the live SLOs."""

import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from slo_service.cli.common import database, fail, settings_or_exit
from slo_service.db import session_scope
from slo_service.integrations.prometheus_rules import build, files
from slo_service.integrations.prometheus_rules.labels import LABEL_SETS
from slo_service.repositories import policy as policy_repo
from slo_service.repositories import slos as slo_repo

rules_app = typer.Typer(
    help="Prometheus rules (recordings and burn-rate alerts) for the SLOs.",
    no_args_is_help=True,
    add_completion=False,
)

SUFFIX = ".rules.yml"


class Labels(StrEnum):
    """The label names of the rules: ours, or Sloth's (for Sloth's Grafana dashboards)."""

    native = "native"
    sloth = "sloth"


@rules_app.callback()
def rules() -> None:
    """Prometheus rules of the live SLOs: error-ratio recordings and burn-rate alerts."""


@rules_app.command("export")
def export(
    out: Annotated[
        Path,
        typer.Option(
            "--out", file_okay=False, help="Directory of the rule files, one per service."
        ),
    ] = Path("alerting"),
    service: Annotated[
        str | None, typer.Option(help="Export this service only; the others' files stay.")
    ] = None,
    labels: Annotated[
        Labels,
        typer.Option(
            envvar="SLO_RULES_LABELS",
            help="native: slo_id, slo_service, slo_name, slo_window; sloth: Sloth's sloth_id, "
            "sloth_service, sloth_slo, sloth_window and its extra recordings, which Sloth's "
            "Grafana dashboards read.",
        ),
    ] = Labels.native,
) -> None:
    """Write OUT/<service>.rules.yml for each service whose SLOs Prometheus measures.

    Files an earlier export wrote for services that have no such SLO any more are removed;
    other files in OUT are left alone. Drift-store and pushed SLOs are skipped, and named.
    """
    settings = settings_or_exit()
    with database(settings) as engine, session_scope(engine) as session:
        rows = slo_repo.live_in_services(session, [service]) if service else slo_repo.live(session)
        # The services' policies give their SLOs min_events and no_data_for, as in the service.
        policies = policy_repo.policies(session, sorted({row.service for row in rows}))
        result = build.export(
            rows,
            base_url=str(settings.public_base_url),
            service_alerting={name: policy.alerting for name, policy in policies.items()},
            labels=LABEL_SETS[labels.value],
        )
    texts = {name: files.render(name, groups) for name, groups in result.groups.items()}
    stale = _stale(out, keep=set(texts), only=service)
    _refuse_hand_written(out, texts)
    for name, text in texts.items():
        path = out / f"{name}{SUFFIX}"
        _write(path, text)
        groups = result.groups[name]
        rules = sum(len(group["rules"]) for group in groups)
        typer.echo(f"wrote {path}: {rules} rules in {len(groups)} groups")
    for skipped in result.skipped:
        typer.echo(f"skipped {skipped.service}:{skipped.name}: {skipped.reason}")
    for path in stale:
        path.unlink()
        typer.echo(f"removed {path}: its service has no SLO in Prometheus any more")
    if not texts and not stale:
        typer.echo(f"no rules to write{f' for service {service!r}' if service else ''}")


def _generated(path: Path) -> bool:
    try:
        with path.open() as file:
            return files.is_generated(file.readline())
    except OSError:
        return False


def _stale(out: Path, *, keep: set[str], only: str | None) -> list[Path]:
    """Rule files an export wrote whose service has no rules now (of ``only``, if given)."""
    if not out.is_dir():
        return []
    found = []
    for path in sorted(out.glob(f"*{SUFFIX}")):
        name = path.name.removesuffix(SUFFIX)
        if name not in keep and (only is None or name == only) and _generated(path):
            found.append(path)
    return found


def _refuse_hand_written(out: Path, texts: dict[str, str]) -> None:
    for name in texts:
        path = out / f"{name}{SUFFIX}"
        if path.exists() and not _generated(path):
            raise fail(
                f"error: {path} exists and was not written by slo-service rules export; "
                "move it away or export to another --out; nothing written"
            )


def _write(path: Path, text: str) -> None:
    """Replace the file at once, so Prometheus never reads half of it."""
    partial = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    except OSError as exc:
        raise fail(f"error: cannot write {path}: {exc.strerror}") from None
