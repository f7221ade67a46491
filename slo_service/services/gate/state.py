"""The deploy gate's state per service, kept up to date; the gate's decision from it.

Everything a service's gate decides from (its SLOs' budgets and burn rates at their last
evaluation, their effective policies, freezes in force, overrides) is one row,
``service_gate``, rewritten by ``refresh`` in the transaction of every change to any of it:
an evaluation, an SLO written or deleted, a policy, a freeze or an override. A gate request
reads that row (one primary-key read after the token's) and decides in memory: the decision
is never recomputed from buckets. ``refresh`` also follows the budget: it records when a
gating SLO's budget freezes the service, by which SLO, and when the freeze is lifted.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import Engine
from sqlmodel import Session

from slo_service.db import new_session, session_scope, utcnow
from slo_service.domain import gate
from slo_service.domain.gate import ChangeType, ServiceState, SloState
from slo_service.domain.scopes import Scope
from slo_service.domain.summary import Summary
from slo_service.errors import NotFound
from slo_service.models import SLO, GateFreeze, GateOverride, ServicePolicy
from slo_service.repositories import policy as policy_repo
from slo_service.repositories import slos as slo_repo
from slo_service.repositories import tokens as token_repo
from slo_service.repositories.tokens import Credentials
from slo_service.services import audit, tokens
from slo_service.services.alerting import follow as alerting
from slo_service.services.gate import cache as gate_cache
from slo_service.services.gate.cache import GateCache
from slo_service.services.tokens import Principal

STATE = TypeAdapter(ServiceState)
_LISTED = 20  # services named when an unknown one is asked for


def effective(
    slo: SLO | slo_repo.Listed | slo_repo.Gated, service_policy: ServicePolicy | None
) -> gate.Policy:
    """The SLO's gate policy: its own settings over its service's, over the defaults."""
    return gate.effective_policy(service_policy.gate if service_policy else {}, slo.gate)


def effective_for(session: Session, slo: SLO) -> gate.Policy:
    return gate.effective_policy(policy_repo.gate_defaults(session, slo.service), slo.gate)


def exempt_of(service_policy: ServicePolicy | None) -> frozenset[ChangeType]:
    if service_policy is None:
        return gate.DEFAULT_EXEMPT
    return frozenset(ChangeType(t) for t in service_policy.exempt_change_types)


def slo_state(slo: SLO | slo_repo.Gated, policy: gate.Policy) -> SloState:
    """The SLO as the gate sees it, from the summary of its last successful evaluation."""
    assert slo.id is not None
    summary = Summary.of(slo.summary)
    return SloState(
        slo_id=slo.id,
        name=slo.name,
        policy=policy,
        remaining=summary.remaining if summary else None,
        burn_rates=dict(summary.burn_rates) if summary else {},
        paging=summary.paging if summary else False,
        evaluated_at=summary.evaluated_at if summary else None,
        evaluated_until=summary.evaluated_until if summary else None,
    )


def refresh(session: Session, services: Iterable[str], *, now: datetime, actor: str) -> None:
    """Rewrite the gate state of ``services`` from what is stored now, in the caller's
    transaction (a few batched reads and writes however many services); start or lift their
    budget freezes. Services are locked in name order, so two transactions refreshing the
    same services cannot deadlock."""
    names = sorted(set(services))
    if not names:
        return
    policy_repo.lock_states(session, names, at=now)
    policies = policy_repo.policies(session, names)
    slos: dict[str, list[slo_repo.Gated]] = {}
    for slo in slo_repo.gated_in_services(session, names):
        slos.setdefault(slo.service, []).append(slo)
    states = {
        service: tuple(
            slo_state(slo, effective(slo, policies.get(service))) for slo in slos.get(service, [])
        )
        for service in names
    }
    freezes = policy_repo.active_freezes_of(session, names)
    for service in names:
        freezes[service] = _follow_budget(
            session, service, states[service], freezes.get(service, []), now=now, actor=actor
        )
    overrides = policy_repo.active_overrides_of(session, names, at=now)
    written: dict[str, dict[str, Any]] = {}
    for service in names:
        if not (states[service] or service in policies or freezes[service] or service in overrides):
            written[service] = {}  # the gate no longer knows it
            continue
        state = ServiceState(
            service=service,
            slos=states[service],
            exempt=exempt_of(policies.get(service)),
            freezes=tuple(freeze_of(row) for row in freezes[service]),
            overrides=tuple(override_of(row) for row in overrides.get(service, [])),
        )
        written[service] = STATE.dump_python(state, mode="json")
    policy_repo.write_states(session, written, at=now)
    gate_cache.changed(session, names)


def _follow_budget(
    session: Session,
    service: str,
    states: Iterable[SloState],
    active: list[GateFreeze],
    *,
    now: datetime,
    actor: str,
) -> list[GateFreeze]:
    """Start a budget freeze when a gating SLO's budget reached its freeze threshold; lift
    it when none is there any more. Both are audited. Returns the freezes now in force."""
    freezer = gate.freezing_slo(states)
    current = next((f for f in active if f.cause == "budget"), None)
    if freezer is not None and current is None:
        reason = gate.judge(freezer, now).detail
        row = GateFreeze(
            service=service,
            cause="budget",
            slo_id=freezer.slo_id,
            slo_name=freezer.name,
            reason=reason,
            started_at=now,
            started_by=actor,
        )
        policy_repo.save(session, row)
        _audit_freeze(session, row, "freeze.start", actor, {"slo": freezer.name, "reason": reason})
        alerting.freeze_changed(session, row, started=True, now=now)
        return [*active, row]
    if freezer is None and current is not None:
        current.lifted_at, current.lifted_by = now, actor
        current.lift_reason = "no gating SLO is at or below its freeze threshold any more"
        policy_repo.save(session, current)
        _audit_freeze(session, current, "freeze.lift", actor, {"reason": current.lift_reason})
        alerting.freeze_changed(session, current, started=False, now=now)
        return [f for f in active if f is not current]
    return active


def _audit_freeze(
    session: Session, row: GateFreeze, action: str, actor: str, changes: dict[str, Any]
) -> None:
    changes = {"freeze_id": row.id, "cause": row.cause, **changes}
    audit.service_change(session, row.service, action=action, actor=actor, changes=changes)


def freeze_of(row: GateFreeze) -> gate.Freeze:
    assert row.id is not None
    return gate.Freeze(row.id, row.cause, row.started_at, row.started_by, row.reason, row.slo_name)


def override_of(row: GateOverride) -> gate.Override:
    assert row.id is not None
    return gate.Override(
        id=row.id,
        reason=row.reason,
        change_type=ChangeType(row.change_type) if row.change_type else None,
        ticket=row.ticket,
        expires_at=row.expires_at,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def ask_cached(
    cache: GateCache, plaintext: str | None, service: str, *, public_read: bool
) -> tuple[Principal, ServiceState] | None:
    """The caller and the service's gate state from the cache alone (no I/O), or None when
    a copy is missing or too old."""
    state = cache.state(service)
    if state is None:
        return None
    found = cache.credentials(tokens.hash_token(plaintext)) if plaintext else None
    if plaintext is not None and found is None:
        return None
    given = plaintext is not None
    return tokens.admit(found, Scope.GATE, token_given=given, public_read=public_read), state


def ask(
    engine: Engine, cache: GateCache, plaintext: str | None, service: str, *, public_read: bool
) -> tuple[Principal, ServiceState]:
    """The caller (it needs the gate scope) and the service's gate state: two indexed reads
    in one short session; the cache keeps both."""
    token_hash = tokens.hash_token(plaintext) if plaintext else None
    started = cache.clock()
    with new_session(engine) as session:
        found = token_repo.credentials(session, token_hash) if token_hash else None
        given = plaintext is not None
        principal = tokens.admit(found, Scope.GATE, token_given=given, public_read=public_read)
        stored = policy_repo.read_versioned(session, service)
        if stored is None and policy_repo.has_slos(session, service):
            stored = _rebuilt(engine, service)
        if stored is None:
            raise NotFound(unknown(session, service))
    version, state = stored[0], STATE.validate_python(stored[1])
    known_token = {token_hash: found} if token_hash and found else {}
    cache.keep({service: (version, state)}, known_token, read_at=started)
    return principal, state


def reload(
    engine: Engine, versions: Mapping[str, int], token_hashes: list[str]
) -> tuple[dict[str, tuple[int, ServiceState] | None], dict[str, Credentials]]:
    """For a cache renewal: the gate state of each service whose version moved past the
    copy's (None: the gate no longer knows it), and the credentials of ``token_hashes``.
    One batched read of versions, and one of the states that changed."""
    with new_session(engine) as session:
        now = policy_repo.versions(session, list(versions))
        moved = [service for service, version in versions.items() if now.get(service) != version]
        stored = policy_repo.read_versioned_many(session, moved)
        found = token_repo.credentials_many(session, token_hashes)
    changed = {
        service: None if read is None else (read[0], STATE.validate_python(read[1]))
        for service, read in stored.items()
    }
    return changed, found


def _rebuilt(engine: Engine, service: str) -> tuple[int, dict[str, Any]] | None:
    """The gate state of a service that has SLOs but no state yet (a database upgraded from
    before the gate, or SLOs written behind the service's back), built and kept now."""
    with session_scope(engine) as session:
        refresh(session, [service], now=utcnow(), actor="gate")
        return policy_repo.read_versioned(session, service)


def unknown(session: Session, service: str) -> str:
    """Why a service is not known, with the names of the first few that are: a request is
    answered with it, so it reads those few, not every SLO's service."""
    known = slo_repo.first_services(session, _LISTED + 1)
    listed = ", ".join(known[:_LISTED]) + (", ..." if len(known) > _LISTED else "")
    return (
        f"no service {service!r}: no SLO belongs to it"
        + (f" (services with SLOs: {listed})" if known else "")
        + "; check the name, or create its SLOs first"
    )
