"""The gate's answer as text for a CI log: the decision first, then each SLO with its budget
and burn rates, then what to do (wait, override, or an exempt change type)."""

import json
from datetime import datetime

from slo_service.schemas.gate import GatePublic, GateReasonPublic

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
