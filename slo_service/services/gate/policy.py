"""The error-budget policy by hand: service policies, manual freezes and overrides.

Every change is audited with the caller's token name and refreshes the service's gate state
in the same transaction, so the next gate request sees it.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from slo_service.domain import gate as rules
from slo_service.errors import Conflict, InvalidInput, NotFound
from slo_service.models import GateFreeze, GateOverride, ServicePolicy
from slo_service.repositories import policy as policy_repo
from slo_service.schemas.gate import (
    FreezePublic,
    OverrideCreate,
    OverridePublic,
    ServicePolicyIn,
    ServicePolicyPublic,
)
from slo_service.schemas.policy import AlertingDefaults, GatePolicy
from slo_service.services import audit
from slo_service.services.alerting import follow as alerting
from slo_service.services.gate import state as gate


def _known(session: Session, service: str) -> None:
    if not policy_repo.known(session, service):
        raise NotFound(gate.unknown(session, service))


def _record(
    session: Session, service: str, action: str, changes: Any, *, actor: str, now: datetime
) -> None:
    """Audit a change of the service's policy and bring its gate state up to date."""
    audit.service_change(session, service, action=action, actor=actor, changes=changes)
    gate.refresh(session, [service], now=now, actor=actor)


def get_policy(session: Session, service: str) -> ServicePolicyPublic:
    _known(session, service)
    row = policy_repo.policies(session, [service]).get(service)
    if row is None:
        return ServicePolicyPublic(
            service=service,
            gate=GatePolicy(),
            alerting=AlertingDefaults(),
            exempt_change_types=sorted(rules.DEFAULT_EXEMPT),
            updated_at=None,
            updated_by=None,
        )
    return ServicePolicyPublic.model_validate(row, from_attributes=True)


def put_policy(
    session: Session, service: str, data: ServicePolicyIn, *, actor: str, now: datetime
) -> ServicePolicyPublic:
    """Set the service's policy; the gate of its SLOs follows at once."""
    _known(session, service)
    before = get_policy(session, service).model_dump(
        mode="json", include={"gate", "alerting", "exempt_change_types"}
    )
    row = policy_repo.policies(session, [service]).get(service) or ServicePolicy(
        service=service, updated_by=actor
    )
    row.gate = data.gate.model_dump(exclude_none=True, mode="json")
    row.alerting = data.alerting.model_dump(exclude_none=True, mode="json")
    row.exempt_change_types = sorted({str(t) for t in data.exempt_change_types})
    row.updated_at, row.updated_by = now, actor
    policy_repo.save(session, row)
    after = {
        "gate": GatePolicy.model_validate(row.gate).model_dump(mode="json"),
        "alerting": AlertingDefaults.model_validate(row.alerting).model_dump(mode="json"),
        "exempt_change_types": row.exempt_change_types,
    }
    _record(session, service, "policy.update", audit.diff(before, after), actor=actor, now=now)
    return ServicePolicyPublic.model_validate(row, from_attributes=True)


def freeze_public(row: GateFreeze) -> FreezePublic:
    slo = f"{row.service}:{row.slo_name}" if row.slo_name else None
    return FreezePublic.model_validate({**row.model_dump(), "slo": slo})


def freeze(session: Session, service: str, *, reason: str, actor: str, now: datetime) -> GateFreeze:
    """Freeze the service's deploys by hand until an admin lifts it."""
    _known(session, service)
    active = [f for f in policy_repo.active_freezes(session, service) if f.cause == "manual"]
    if active:
        raise Conflict(
            f"service {service!r} is frozen by hand already (freeze {active[0].id}, by "
            f"{active[0].started_by}: {active[0].reason!r}); lift it first to change the reason"
        )
    row = GateFreeze(
        service=service, cause="manual", reason=reason, started_at=now, started_by=actor
    )
    try:
        with session.begin_nested():
            policy_repo.save(session, row)
    except IntegrityError:
        raise Conflict(f"service {service!r} was frozen by hand meanwhile") from None
    _record(
        session,
        service,
        "freeze.start",
        {"freeze_id": row.id, "cause": "manual", "reason": reason},
        actor=actor,
        now=now,
    )
    alerting.freeze_changed(session, row, started=True, now=now)
    return row


def unfreeze(
    session: Session, service: str, *, reason: str, actor: str, now: datetime
) -> GateFreeze:
    """Lift the service's manual freeze. A budget freeze lifts itself when the budget
    recovers; until then an override lets deploys through."""
    _known(session, service)
    active = policy_repo.active_freezes(session, service)
    manual = next((f for f in active if f.cause == "manual"), None)
    if manual is None:
        budget = next((f for f in active if f.cause == "budget"), None)
        if budget is not None:
            raise Conflict(
                f"service {service!r} is frozen by the budget of SLO {budget.slo_name!r}, not "
                "by hand: it lifts when the budget recovers; to deploy meanwhile, create an "
                f"override (POST /api/v1/services/{service}/overrides)"
            )
        raise NotFound(f"service {service!r} is not frozen by hand")
    manual.lifted_at, manual.lifted_by, manual.lift_reason = now, actor, reason
    policy_repo.save(session, manual)
    _record(
        session,
        service,
        "freeze.lift",
        {"freeze_id": manual.id, "cause": "manual", "reason": reason},
        actor=actor,
        now=now,
    )
    alerting.freeze_changed(session, manual, started=False, now=now)
    return manual


def override_public(row: GateOverride, now: datetime) -> OverridePublic:
    state = "revoked" if row.revoked_at else "active" if row.expires_at > now else "expired"
    return OverridePublic.model_validate({**row.model_dump(), "state": state})


def create_override(
    session: Session, service: str, data: OverrideCreate, *, actor: str, now: datetime
) -> GateOverride:
    _known(session, service)
    problem = rules.override_expiry_problem(data.expires_at, now)
    if problem:
        raise InvalidInput.at(("expires_at",), problem)
    row = GateOverride(
        service=service,
        reason=data.reason,
        change_type=data.change_type,
        ticket=data.ticket,
        expires_at=data.expires_at,
        created_at=now,
        created_by=actor,
    )
    policy_repo.save(session, row)
    _record(
        session,
        service,
        "override.create",
        {"override_id": row.id, **data.model_dump(mode="json")},
        actor=actor,
        now=now,
    )
    return row


def list_overrides(
    session: Session, service: str, *, active_only: bool, now: datetime
) -> Sequence[GateOverride]:
    _known(session, service)
    return policy_repo.overrides(session, service, active_at=now if active_only else None)


def revoke_override(
    session: Session, service: str, override_id: int, *, actor: str, now: datetime
) -> GateOverride:
    """End an override now; revoking one that ended already changes nothing."""
    row = policy_repo.override(session, service, override_id)
    if row is None:
        raise NotFound(f"service {service!r} has no override {override_id}")
    if row.revoked_at is None and row.expires_at > now:
        row.revoked_at, row.revoked_by = now, actor
        policy_repo.save(session, row)
        _record(session, service, "override.revoke", {"override_id": row.id}, actor=actor, now=now)
    return row
