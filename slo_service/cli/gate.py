"""``slo-service gate``: ask the deploy gate whether a service may deploy, for CI.

The answer prints as text for a CI log (the decision first, then each SLO with its budget
and burn rates, then what to do: wait, override, or an exempt change type) or as JSON."""

import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated

import httpx
import typer
from pydantic import ValidationError

from slo_service.cli.common import EXIT_INVALID, EXIT_UNREACHABLE, fail
from slo_service.domain.gate import ChangeType, Decision
from slo_service.schemas.gate import GatePublic, GateReasonPublic


class OutputFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


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
        typer.echo("\n".join(render(answer, base_url=url)))
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


_MARK = {"allow": "ok  ", "warn": "WARN", "deny": "DENY"}
# Burn rates worth reading in a log: the page tiers' long windows, the day, and three days.
_PACES = ("1h", "6h", "1d", "3d")


def _stamp(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "never"


def _burns(reason: GateReasonPublic) -> str:
    rates = [
        f"{reason.burn_rates[pace]:.1f}x over {pace}"
        for pace in _PACES
        if reason.burn_rates.get(pace) is not None
    ]
    return "burn rate " + ", ".join(rates) if rates else "no burn rate (no recent data)"


def headline(answer: GatePublic) -> str:
    service, change = answer.service, answer.change_type
    if answer.decision == "deny":
        return f"DENY: {service} may not deploy now (change type {change}): it is frozen"
    if answer.bypass == "override":
        return (
            f"ALLOW: {service} may deploy (change type {change}) through override "
            f"#{answer.override_id}, although it is " + ("frozen" if answer.frozen else "warned")
        )
    if answer.bypass == "exempt_change_type":
        state = "frozen" if answer.frozen else "warned"
        return f"ALLOW: {service} is {state}, but {change} changes are exempt"
    if answer.decision == "warn":
        return f"WARN: {service} may deploy (change type {change}), but its budget is at risk"
    return f"ALLOW: {service} may deploy (change type {change})"


def render(answer: GatePublic, *, base_url: str) -> list[str]:
    lines = [headline(answer), ""]
    for reason in answer.reasons:
        lines.append(f"  {_MARK[reason.verdict]} {reason.slo}: {reason.detail}")
        if reason.cause not in ("not_gating", "no_data"):
            lines.append(f"       {_burns(reason)}")
        lines.append(f"       {reason.url}")
    if not answer.reasons:
        lines.append("  (the service has no SLOs)")
    for freeze in answer.freezes:
        who = f"the budget of {freeze.slo}" if freeze.cause == "budget" else freeze.started_by
        lines.append(f"  frozen by {who} since {_stamp(freeze.started_at)}: {freeze.reason}")
    for override in answer.overrides:
        ticket = f" ({override.ticket})" if override.ticket else ""
        kind = override.change_type or "any change"
        lines.append(
            f"  override #{override.id} by {override.created_by} for {kind}, until "
            f"{_stamp(override.expires_at)}: {override.reason}{ticket}"
        )
    if answer.decision == "deny":
        lines += ["", *_what_to_do(answer, base_url)]
    lines += [
        "",
        f"numbers as of {_stamp(answer.evaluated_at)}; decided {_stamp(answer.decided_at)}",
    ]
    return lines


def _what_to_do(answer: GatePublic, base_url: str) -> list[str]:
    base = base_url.rstrip("/")
    service = answer.service
    manual = any(f.cause == "manual" for f in answer.freezes)
    budget = any(r.verdict == "deny" and r.cause == "budget_frozen" for r in answer.reasons)
    stale = any(r.verdict == "deny" and r.cause == "stale" for r in answer.reasons)
    lines = ["what to do:"]
    if budget:
        lines.append("  - wait: the freeze lifts by itself once the budget is above the threshold")
    if stale:
        lines.append("  - check why evaluation stopped (Prometheus reachable? scheduler running?)")
    if manual:
        lines.append(
            f"  - ask an admin to lift the manual freeze: DELETE {base}/api/v1/services/"
            f"{service}/freeze?reason=..."
        )
    if answer.exempt_change_types:
        exempt = ", ".join(answer.exempt_change_types)
        lines.append(f"  - a change of an exempt type ({exempt}) passes: --change-type TYPE")
    body = json.dumps({"reason": "...", "expires_at": "<at most 7 days out>", "ticket": "..."})
    lines += [
        "  - or, if this deploy must go out now, create an override (a token with the override "
        "scope, or admin):",
        f"      curl -X POST {base}/api/v1/services/{service}/overrides \\",
        '        -H "Authorization: Bearer $SLO_API_TOKEN" -H "Content-Type: application/json" \\',
        f"        -d '{body}'",
    ]
    return lines
