"""Queries on the error-budget policy: service policies, freezes, overrides, gate state."""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from slo_service.models import SLO, GateFreeze, GateOverride, ServiceGate, ServicePolicy


def policies(session: Session, services: Iterable[str]) -> dict[str, ServicePolicy]:
    rows = session.exec(select(ServicePolicy).where(col(ServicePolicy.service).in_(services)))
    return {row.service: row for row in rows.all()}


def save(session: Session, row: ServicePolicy | GateFreeze | GateOverride) -> None:
    session.add(row)
    session.flush()


def known(session: Session, service: str) -> bool:
    """Whether the service has a live SLO or a gate state (a policy, freeze or override)."""
    has_slo = select(SLO.id).where(SLO.service == service, col(SLO.deleted_at).is_(None))
    if session.exec(has_slo.limit(1)).first() is not None:
        return True
    return read_state(session, service) is not None


def active_freezes(session: Session, service: str) -> list[GateFreeze]:
    statement = select(GateFreeze).where(
        GateFreeze.service == service, col(GateFreeze.lifted_at).is_(None)
    )
    return list(session.exec(statement.order_by(col(GateFreeze.id))).all())


def freezes(
    session: Session, service: str, *, limit: int, offset: int
) -> tuple[Sequence[GateFreeze], int]:
    """A service's freezes, newest first, and how many there are."""
    where = GateFreeze.service == service
    count = session.exec(select(func.count()).select_from(GateFreeze).where(where)).one()
    rows = session.exec(
        select(GateFreeze)
        .where(where)
        .order_by(col(GateFreeze.id).desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return rows, count


def override(session: Session, service: str, override_id: int) -> GateOverride | None:
    row = session.get(GateOverride, override_id)
    return row if row is not None and row.service == service else None


def overrides(
    session: Session, service: str, *, active_at: datetime | None
) -> Sequence[GateOverride]:
    """A service's overrides, newest first; only those in force at ``active_at`` if given."""
    statement = select(GateOverride).where(GateOverride.service == service)
    if active_at is not None:
        statement = statement.where(
            col(GateOverride.revoked_at).is_(None), col(GateOverride.expires_at) > active_at
        )
    return session.exec(statement.order_by(col(GateOverride.id).desc())).all()


def lock_state(session: Session, service: str, *, at: datetime) -> None:
    """Take the service's gate-state row for this transaction (creating it if need be), so
    that whoever rewrites a service's state next reads everything committed before."""
    dialect = session.get_bind().dialect.name
    insert = postgres_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(ServiceGate).values(service=service, state={}, version=1, updated_at=at)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["service"], set_={"version": ServiceGate.version + 1}
        )
    )


def write_state(session: Session, service: str, state: dict[str, Any], *, at: datetime) -> None:
    row = session.get(ServiceGate, service, populate_existing=True)
    assert row is not None, "lock_state first"
    row.state, row.updated_at = state, at
    session.add(row)
    session.flush()


def drop_state(session: Session, service: str, *, at: datetime) -> None:
    """Mark the service unknown to the gate. The row stays, empty, so that its version
    keeps counting up (copies of the state are told apart by version)."""
    write_state(session, service, {}, at=at)


# The gate's hot path: built once, run as a plain (Core) statement.
_STATE = select(ServiceGate.state, ServiceGate.version).where(
    col(ServiceGate.service) == bindparam("service")
)


def read_state(session: Session, service: str) -> dict[str, Any] | None:
    """The gate state of a service, as stored (None if the gate does not know it)."""
    found = read_versioned(session, service)
    return None if found is None else found[1]


def read_versioned(session: Session, service: str) -> tuple[int, dict[str, Any]] | None:
    """The gate state of a service and its version: one primary-key read."""
    found = session.connection().execute(_STATE, {"service": service}).first()
    return None if found is None or not found[0] else (found[1], dict(found[0]))


def versions(session: Session, services: Sequence[str]) -> dict[str, int]:
    """The version of the gate state of each of ``services`` that has one."""
    found: dict[str, int] = {}
    for start in range(0, len(services), _BATCH):
        statement = select(ServiceGate.service, ServiceGate.version).where(
            col(ServiceGate.service).in_(services[start : start + _BATCH])
        )
        found |= dict(session.connection().execute(statement).tuples().all())
    return found


_BATCH = 500
