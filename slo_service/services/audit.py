"""The audit trail of every change to SLOs, tokens and policies."""

from collections.abc import Mapping
from typing import Any

from sqlmodel import Session

from slo_service.models import AuditEntry
from slo_service.repositories import audit as audit_repo


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    target_type: str,
    target_id: str | int,
    target: str = "",
    changes: Mapping[str, Any] | None = None,
) -> AuditEntry:
    return audit_repo.add(
        session,
        AuditEntry(
            actor=actor,
            action=action,
            target_type=target_type,
            target_id=str(target_id),
            target=target,
            changes=dict(changes or {}),
        ),
    )


def service_change(
    session: Session, service: str, *, action: str, actor: str, changes: Mapping[str, Any]
) -> AuditEntry:
    """A change of a service's error-budget policy: its policy, a freeze, an override."""
    return record(
        session,
        actor=actor,
        action=action,
        target_type="service",
        target_id=service,
        target=service,
        changes=changes,
    )


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """``{field: {"from": old, "to": new}}`` for every field whose value changed."""
    return {
        key: {"from": before.get(key), "to": after.get(key)}
        for key in sorted(before.keys() | after.keys())
        if before.get(key) != after.get(key)
    }
