"""Queries on SLO definitions."""

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Text, and_, bindparam, cast, delete, func, or_, update
from sqlalchemy import select as plain
from sqlmodel import Session, col, select

from slo_service.domain.ids import storable
from slo_service.models import SLO
from slo_service.repositories._live import is_live


def get(session: Session, slo_id: int, *, include_deleted: bool = False) -> SLO | None:
    if not storable(slo_id):  # no row has it, and Postgres would refuse the number
        return None
    slo = session.get(SLO, slo_id)
    if slo is None or (slo.deleted_at is not None and not include_deleted):
        return None
    return slo


def any_exist(session: Session) -> bool:
    """Whether the database holds any SLO, deleted ones included."""
    return session.exec(select(SLO.id).limit(1)).first() is not None


def get_many(session: Session, ids: Sequence[int]) -> dict[int, SLO]:
    """Live SLOs by id (those deleted meanwhile are left out)."""
    rows = session.exec(select(SLO).where(col(SLO.id).in_(ids), is_live(SLO)))
    return {slo.id: slo for slo in rows.all() if slo.id is not None}


def get_by_name(session: Session, *, service: str, name: str) -> SLO | None:
    statement = select(SLO).where(SLO.service == service, SLO.name == name, is_live(SLO))
    return session.exec(statement).first()


def find_by_name(session: Session, name: str) -> Sequence[SLO]:
    """Live SLOs named ``name`` in any service."""
    statement = select(SLO).where(SLO.name == name, is_live(SLO))
    return session.exec(statement.order_by(col(SLO.id))).all()


def measured_ids(session: Session) -> list[int]:
    """Live SLOs that evaluation measures (all but pushed ones), by id."""
    statement = select(SLO.id).where(is_live(SLO), col(SLO.sli)["source"].as_string() != "push")
    return [i for i in session.exec(statement.order_by(col(SLO.id))).all() if i is not None]


def services(session: Session) -> list[str]:
    """Names of the services that have live SLOs, sorted."""
    statement = select(SLO.service).where(is_live(SLO)).distinct()
    return sorted(session.exec(statement).all())


def first_services(session: Session, limit: int) -> list[str]:
    """The first ``limit`` names of the services that have live SLOs, as the database sorts
    them: an index scan that stops there (``services`` reads every SLO)."""
    statement = select(SLO.service).where(is_live(SLO)).distinct().order_by(col(SLO.service))
    return list(session.exec(statement.limit(limit)).all())


def live_in_services(session: Session, services: Sequence[str]) -> Sequence[SLO]:
    statement = select(SLO).where(col(SLO.service).in_(services), is_live(SLO))
    return session.exec(statement.order_by(col(SLO.id))).all()


def _filters(
    service: str | None, kind: str | None, labels: Mapping[str, str]
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [is_live(SLO)]
    if service is not None:
        conditions.append(col(SLO.service) == service)
    if kind is not None:
        conditions.append(col(SLO.kind) == kind)
    for key, value in labels.items():
        conditions.append(col(SLO.labels)[key].as_string() == value)
    return conditions


def list_page(
    session: Session,
    *,
    service: str | None = None,
    kind: str | None = None,
    labels: Mapping[str, str] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[Sequence[SLO], int]:
    """One page of live SLOs, ordered by id, and how many match in all."""
    conditions = _filters(service, kind, labels or {})
    count = session.exec(select(func.count()).select_from(SLO).where(*conditions)).one()
    rows = session.exec(
        select(SLO).where(*conditions).order_by(col(SLO.id)).offset(offset).limit(limit)
    ).all()
    return rows, count


def add(session: Session, slo: SLO) -> SLO:
    session.add(slo)
    session.flush()
    return slo


def soft_delete(session: Session, slo: SLO, *, at: datetime) -> None:
    slo.deleted_at = at
    session.add(slo)
    session.flush()


def purge(session: Session, slo: SLO) -> None:
    """Delete the SLO and everything stored for it (cascades)."""
    session.execute(delete(SLO).where(col(SLO.id) == slo.id))
    session.flush()


# Sources whose SLOs are due once per cycle, by when they were last summarized.
SUMMARIZED_EACH_CYCLE = ("push", "prediction_log")


def _due(due: datetime, now: datetime) -> list[ColumnElement[bool]]:
    """Live SLOs with no live lease that are due: measured ones with buckets to evaluate
    before ``due``; pushed ones, and performance ones (judged a label delay behind, so their
    buckets before ``due`` are never all evaluated), last summarized before ``due``."""
    pushed = col(SLO.sli)["source"].as_string().in_(SUMMARIZED_EACH_CYCLE)
    return [
        is_live(SLO),
        or_(
            and_(~pushed, or_(col(SLO.evaluated_until).is_(None), col(SLO.evaluated_until) < due)),
            and_(pushed, or_(col(SLO.last_success_at).is_(None), col(SLO.last_success_at) < due)),
        ),
        or_(col(SLO.lease_until).is_(None), col(SLO.lease_until) < now),
    ]


def count_due(session: Session, *, due: datetime, now: datetime) -> int:
    """How many SLOs ``claim_due`` would find: the evaluation backlog."""
    return session.exec(select(func.count()).select_from(SLO).where(*_due(due, now))).one()


def live(session: Session) -> Sequence[SLO]:
    """Every live SLO, by id."""
    return session.exec(select(SLO).where(is_live(SLO)).order_by(col(SLO.id))).all()


class GaugeRow(NamedTuple):
    """A live SLO as ``/metrics`` shows it; its summary as the JSON text stored."""

    service: str
    name: str
    kind: str
    objective: float
    summary: str | None


# Columns, not SLO objects (10,000 of them at each render); the summary as text, which the
# caller decodes faster than the driver's json module would.
_GAUGED = (
    select(SLO.service, SLO.name, SLO.kind, SLO.objective)
    .add_columns(cast(col(SLO.summary), Text))
    .where(is_live(SLO))
    .order_by(col(SLO.id))
)


def gauge_rows(session: Session) -> list[GaugeRow]:
    """Every live SLO as ``/metrics`` shows it, by id."""
    return [GaugeRow(*row) for row in session.connection().execute(_GAUGED).all()]


class Listed(NamedTuple):
    """A live SLO as the SLA pages list it: what they show, its team, and the figures of the
    summary evaluation kept (``domain.summary``), read inside the database."""

    id: int
    service: str
    name: str
    kind: str
    objective: float
    window: str
    timezone: str
    budgeting: str
    gate_text: str  # its gate settings as stored (JSON): most are "{}"
    source: str | None  # the SLI's source: "push", "prometheus", "drift"
    evaluated_until: datetime | None
    team: str | None  # the value of its team label
    summarized: bool  # evaluation kept a summary: the figures below are its
    summarized_until: datetime | None
    sli: float | None
    remaining: float | None
    burn_rate_1h: float | None
    paging: bool | None

    @property
    def gate(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.gate_text)
        return found


def listing(session: Session, *, team_label: str) -> list[Listed]:
    """Every live SLO as the pages list it, by id: columns, not SLO objects, and the figures
    of its summary kept as columns (the pages list every SLO, 10,000 of them, at each
    render)."""
    plainly = [SLO.id, SLO.service, SLO.name, SLO.kind, SLO.objective, SLO.window,
               SLO.timezone, SLO.budgeting]  # fmt: skip
    columns: list[Any] = [
        *(col(c) for c in plainly),
        cast(SLO.gate, Text),
        col(SLO.sli)["source"].as_string(),
        col(SLO.evaluated_until),
        col(SLO.labels)[team_label].as_string(),
        col(SLO.summary).is_not(None),
        col(SLO.summary_until),
        col(SLO.summary_sli),
        col(SLO.summary_remaining),
        col(SLO.summary_burn_rate_1h),
        col(SLO.summary_paging),
    ]
    statement = plain(*columns).where(is_live(SLO)).order_by(col(SLO.id))
    return [Listed(*row) for row in session.connection().execute(statement).all()]


def claim_due(
    session: Session, *, due: datetime, owner: str, now: datetime, lease: timedelta, limit: int
) -> list[int]:
    """Lease up to ``limit`` SLOs with no live lease that are due: measured ones with buckets
    to evaluate before ``due``, pushed ones last summarized before ``due``. Postgres skips
    rows other replicas are claiming (``FOR UPDATE SKIP LOCKED``); SQLite serialises writers,
    so there one process claims at a time anyway."""
    statement = (
        select(SLO.id)
        .where(*_due(due, now))
        .order_by(col(SLO.evaluated_until).is_not(None), col(SLO.evaluated_until), col(SLO.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = [slo_id for slo_id in session.exec(statement).all() if slo_id is not None]
    if ids:
        session.execute(
            update(SLO)
            .where(col(SLO.id).in_(ids))
            .values(lease_owner=owner, lease_until=now + lease)
        )
    return ids


def release(
    session: Session, ids: Sequence[int], *, owner: str, hold_until: datetime | None = None
) -> None:
    """End ``owner``'s leases, or keep them (as a back-off) until ``hold_until``."""
    if not ids:
        return
    values = (
        {"lease_until": hold_until} if hold_until else {"lease_owner": None, "lease_until": None}
    )
    session.execute(
        update(SLO).where(col(SLO.id).in_(ids), col(SLO.lease_owner) == owner).values(**values)
    )


def renew(session: Session, ids: Sequence[int], *, owner: str, until: datetime) -> None:
    """Extend ``owner``'s leases (a long backfill must not be taken over while it runs)."""
    session.execute(
        update(SLO)
        .where(col(SLO.id).in_(ids), col(SLO.lease_owner) == owner)
        .values(lease_until=until)
    )


def saw_data(session: Session, slo_id: int, *, until: datetime) -> None:
    """Move the SLO's ``data_until`` forward to ``until`` (never back)."""
    session.execute(
        update(SLO)
        .where(
            col(SLO.id) == slo_id,
            or_(col(SLO.data_until).is_(None), col(SLO.data_until) < until),
        )
        .values(data_until=until)
        .execution_options(synchronize_session=False)
    )


class Measured(NamedTuple):
    """What evaluation reads of a live SLO to measure it and to move its evaluation on:
    columns, not SLO objects (a cycle reads 10,000 of them, twice)."""

    id: int
    service: str
    name: str
    window: str
    sli: dict[str, Any]
    no_data: str
    evaluated_until: datetime | None
    data_until: datetime | None


_MEASURED = plain(*(col(getattr(SLO, name)) for name in Measured._fields)).where(is_live(SLO))


def measured_many(session: Session, ids: Sequence[int]) -> dict[int, Measured]:
    """Live SLOs among ``ids`` as evaluation reads them, by id (deleted ones left out)."""
    rows = session.connection().execute(_MEASURED.where(col(SLO.id).in_(ids)))
    return {row[0]: Measured(*row) for row in rows}


def record_evaluations(session: Session, changes: Sequence[Mapping[str, Any]]) -> None:
    """Write what evaluations moved, SLO by SLO: each change has the SLO's ``id`` and the
    columns to set (the same columns in every change), in one batched statement."""
    if not changes:
        return
    names = [name for name in changes[0] if name != "id"]
    statement = (
        update(SLO)
        .where(col(SLO.id) == bindparam("key"))
        .values({name: bindparam(name) for name in names})
    )
    rows = [{"key": change["id"], **{n: change[n] for n in names}} for change in changes]
    session.connection().execute(statement, rows)


class Gated(NamedTuple):
    """A live SLO as its service's gate state reads it (``services.gate.state``): columns,
    not SLO objects, since every evaluation rewrites the state of thousands of services."""

    id: int
    service: str
    name: str
    gate: dict[str, Any]
    summary: dict[str, Any] | None


_GATED = plain(*(col(getattr(SLO, name)) for name in Gated._fields)).where(is_live(SLO))


def gated_in_services(session: Session, services: Sequence[str]) -> list[Gated]:
    """Live SLOs of ``services`` as the gate reads them, by id; what the session holds is
    flushed first, so changes made in this transaction are read."""
    statement = _GATED.where(col(SLO.service).in_(services)).order_by(col(SLO.id))
    return [Gated(*row) for row in session.execute(statement)]


def rewind_readers(session: Session, *, source: str, service: str, to: datetime) -> None:
    """Timeslice SLOs measured from ``source`` (``drift_store``, ``prediction_log``) over
    ``service``'s store measure again from ``to``: their ``evaluated_until`` moves back to it
    where it is later (buckets are stored with replace semantics)."""
    sli = col(SLO.sli)
    read = plain(col(SLO.id), col(SLO.service), sli["service"].as_string()).where(
        is_live(SLO),
        col(SLO.budgeting) == "timeslices",
        sli["source"].as_string() == source,
        col(SLO.evaluated_until) > to,
    )
    ids = [slo_id for slo_id, own, named in session.execute(read) if (named or own) == service]
    if ids:
        session.execute(update(SLO).where(col(SLO.id).in_(ids)).values(evaluated_until=to))
