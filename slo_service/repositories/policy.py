"""Queries on the error-budget policy: service policies, freezes, overrides, gate state."""

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from slo_service.domain.ids import storable
from slo_service.models import SLO, GateFreeze, GateOverride, ServiceGate, ServicePolicy
from slo_service.repositories._live import is_live


def policies(session: Session, services: Iterable[str] | None) -> dict[str, ServicePolicy]:
    """The policies of ``services`` that have one (None: of every service)."""
    statement = select(ServicePolicy)
    if services is not None:
        statement = statement.where(col(ServicePolicy.service).in_(services))
    return {row.service: row for row in session.exec(statement).all()}


# Every status read runs this: built once, run as a plain (Core) statement.
_DEFAULTS = select(ServicePolicy.gate).where(col(ServicePolicy.service) == bindparam("service"))


def gate_defaults(session: Session, service: str) -> dict[str, Any]:
    """The gate settings a service's policy gives its SLOs ({} when it has no policy)."""
    found = session.connection().execute(_DEFAULTS, {"service": service}).first()
    return {} if found is None else dict(found[0])


_ALERTING = select(ServicePolicy.alerting).where(col(ServicePolicy.service) == bindparam("service"))


def alerting_defaults(session: Session, service: str) -> dict[str, Any]:
    """The alerting settings a service's policy gives its SLOs ({} when it has no policy)."""
    found = session.connection().execute(_ALERTING, {"service": service}).first()
    return {} if found is None else dict(found[0] or {})


def save(session: Session, row: ServicePolicy | GateFreeze | GateOverride) -> None:
    session.add(row)
    session.flush()


def has_slos(session: Session, service: str) -> bool:
    """Whether the service has a live SLO."""
    has_slo = select(SLO.id).where(SLO.service == service, is_live(SLO))
    return session.exec(has_slo.limit(1)).first() is not None


def known(session: Session, service: str) -> bool:
    """Whether the service has a live SLO or a gate state (a policy, freeze or override)."""
    return has_slos(session, service) or read_state(session, service) is not None


def active_freezes(session: Session, service: str) -> list[GateFreeze]:
    return active_freezes_of(session, [service]).get(service, [])


def active_freezes_of(
    session: Session, services: Sequence[str] | None
) -> dict[str, list[GateFreeze]]:
    """The freezes in force of each of ``services`` (None: of every service), oldest first."""
    statement = select(GateFreeze).where(col(GateFreeze.lifted_at).is_(None))
    if services is not None:
        statement = statement.where(col(GateFreeze.service).in_(services))
    found: dict[str, list[GateFreeze]] = {}
    for row in session.exec(statement.order_by(col(GateFreeze.id))).all():
        found.setdefault(row.service, []).append(row)
    return found


# Every /metrics render reads it: built once, run as a plain (Core) statement.
_FREEZE_CAUSES = select(GateFreeze.service, GateFreeze.cause).where(
    col(GateFreeze.lifted_at).is_(None)
)


def active_freeze_causes(session: Session) -> dict[str, set[str]]:
    """The causes of the freezes in force, by service: the few rows in force, read without
    naming every service (a list of 2,000 names cost more than the read)."""
    found: dict[str, set[str]] = {}
    for service, cause in session.connection().execute(_FREEZE_CAUSES):
        found.setdefault(service, set()).add(cause)
    return found


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
    if not storable(override_id):  # no row has it, and Postgres would refuse the number
        return None
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


def active_overrides_of(
    session: Session, services: Sequence[str], *, at: datetime
) -> dict[str, list[GateOverride]]:
    """The overrides in force at ``at`` of each of ``services``, newest first."""
    statement = select(GateOverride).where(
        col(GateOverride.service).in_(services),
        col(GateOverride.revoked_at).is_(None),
        col(GateOverride.expires_at) > at,
    )
    found: dict[str, list[GateOverride]] = {}
    for row in session.exec(statement.order_by(col(GateOverride.id).desc())).all():
        found.setdefault(row.service, []).append(row)
    return found


def lock_states(session: Session, services: Sequence[str], *, at: datetime) -> None:
    """Take the services' gate-state rows for this transaction, in the order given (creating
    them if need be) and count their versions up, so that whoever rewrites a service's state
    next reads everything committed before."""
    dialect = session.get_bind().dialect.name
    insert = postgres_insert if dialect == "postgresql" else sqlite_insert
    rows = [{"service": s, "state": {}, "version": 1, "updated_at": at} for s in services]
    if rows:
        statement = insert(ServiceGate).values(rows)
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["service"], set_={"version": ServiceGate.version + 1}
            )
        )


def write_states(session: Session, states: Mapping[str, dict[str, Any]], *, at: datetime) -> None:
    """Store the gate state of each service (locked first); an empty state marks a service
    the gate does not know. Rows stay, so that their versions keep counting up (copies of a
    state are told apart by version)."""
    if not states:
        return
    statement = (
        update(ServiceGate)
        .where(col(ServiceGate.service) == bindparam("key"))
        .values(state=bindparam("state"), updated_at=at)
    )
    params = [{"key": service, "state": state} for service, state in states.items()]
    session.connection().execute(statement, params)


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
    for chunk in _chunks(services):
        statement = select(ServiceGate.service, ServiceGate.version).where(
            col(ServiceGate.service).in_(chunk)
        )
        for service, version in session.connection().execute(statement):
            found[service] = version
    return found


def read_versioned_many(
    session: Session, services: Sequence[str]
) -> dict[str, tuple[int, dict[str, Any]] | None]:
    """``read_versioned`` of many services, in batches (None: the gate does not know it)."""
    found: dict[str, tuple[int, dict[str, Any]] | None] = dict.fromkeys(services)
    for chunk in _chunks(services):
        statement = select(ServiceGate.service, ServiceGate.state, ServiceGate.version).where(
            col(ServiceGate.service).in_(chunk)
        )
        for service, state, version in session.connection().execute(statement):
            found[service] = (version, dict(state)) if state else None
    return found


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _BATCH):
        yield items[start : start + _BATCH]


_BATCH = 500
