"""Alerts, notification routes and the notification outbox."""

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, update
from sqlmodel import Session, col, select

from slo_service.domain.ids import storable
from slo_service.models import Alert, Notification, NotificationRoute
from slo_service.repositories._bulk import dialect_insert


def firing_of(session: Session, slo_ids: Iterable[int]) -> Sequence[Alert]:
    return session.exec(
        select(Alert).where(col(Alert.slo_id).in_(list(slo_ids)), col(Alert.state) == "firing")
    ).all()


def firing_counts(session: Session) -> dict[int, int]:
    """How many alerts fire, per SLO (those with none are left out)."""
    statement = (
        select(Alert.slo_id, func.count())
        .where(col(Alert.state) == "firing")
        .group_by(col(Alert.slo_id))
    )
    counts: dict[int, int] = dict(session.exec(statement).all())
    return counts


def add(session: Session, row: Alert) -> Alert:
    session.add(row)
    session.flush()
    return row


def alerts(
    session: Session, *, service: str | None, resolved_since: datetime, limit: int
) -> Sequence[Alert]:
    """Firing alerts and those resolved since ``resolved_since``, newest first."""
    conditions: list[ColumnElement[bool]] = [
        or_(col(Alert.state) == "firing", col(Alert.resolved_at) >= resolved_since)
    ]
    if service is not None:
        conditions.append(col(Alert.service) == service)
    return session.exec(
        select(Alert)
        .where(*conditions)
        .order_by(col(Alert.started_at).desc(), col(Alert.id).desc())
        .limit(limit)
    ).all()


def routes(session: Session) -> Sequence[NotificationRoute]:
    """Every route in matching order."""
    return session.exec(
        select(NotificationRoute).order_by(
            col(NotificationRoute.position), col(NotificationRoute.id)
        )
    ).all()


def route(session: Session, route_id: int) -> NotificationRoute | None:
    if not storable(route_id):  # no row has it, and Postgres would refuse the number
        return None
    return session.get(NotificationRoute, route_id)


def route_by_name(session: Session, name: str) -> NotificationRoute | None:
    return session.exec(
        select(NotificationRoute).where(col(NotificationRoute.name) == name)
    ).first()


def save_route(session: Session, row: NotificationRoute) -> NotificationRoute:
    session.add(row)
    session.flush()
    return row


def delete_route(session: Session, row: NotificationRoute) -> None:
    session.delete(row)
    session.flush()


def last_sent(session: Session, alert_ids: Sequence[int]) -> dict[tuple[int, int], datetime]:
    """When each (alert, route) was last given a message, by the outbox."""
    if not alert_ids:
        return {}
    n = Notification
    rows = session.exec(
        select(n.alert_id, n.route_id, func.max(n.created_at))
        .where(col(n.alert_id).in_(alert_ids), col(n.route_id).is_not(None))
        .group_by(col(n.alert_id), col(n.route_id))
    ).all()
    return {(a, r): at for a, r, at in rows if a is not None and r is not None}


def enqueue(session: Session, rows: Sequence[Mapping[str, Any]]) -> int:
    """Add outbox rows, skipping those whose idempotency key is stored already."""
    if not rows:
        return 0
    insert = dialect_insert(session)
    statement = insert(Notification).on_conflict_do_nothing(index_elements=["idempotency_key"])
    result = session.execute(statement.returning(col(Notification.id)), [dict(r) for r in rows])
    return len(result.all())


def claim(session: Session, *, owner: str, now: datetime, until: datetime, limit: int) -> list[int]:
    """Lease up to ``limit`` rows due for a try (pending and due, or whose lease ran out):
    rows another sender holds are skipped, never waited for (``FOR UPDATE SKIP LOCKED``)."""
    n = Notification
    due = select(n.id).where(
        col(n.state) == "pending",
        col(n.next_attempt_at) <= now,
        or_(col(n.lease_until).is_(None), col(n.lease_until) < now),
    )
    found = session.exec(
        due.order_by(col(n.next_attempt_at), col(n.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    ids = [i for i in found if i is not None]
    if ids:
        session.execute(
            update(n).where(col(n.id).in_(ids)).values(lease_owner=owner, lease_until=until)
        )
    return ids


def get_many(session: Session, ids: Sequence[int]) -> list[Notification]:
    rows = session.exec(select(Notification).where(col(Notification.id).in_(ids))).all()
    return sorted(rows, key=lambda row: row.id or 0)


def notifications(
    session: Session, *, state: str | None, service: str | None, limit: int, offset: int
) -> tuple[Sequence[Notification], int]:
    conditions: list[ColumnElement[bool]] = []
    if state is not None:
        conditions.append(col(Notification.state) == state)
    if service is not None:
        conditions.append(col(Notification.service) == service)
    count = session.exec(select(func.count()).select_from(Notification).where(*conditions)).one()
    rows = session.exec(
        select(Notification)
        .where(*conditions)
        .order_by(col(Notification.created_at).desc(), col(Notification.id).desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return rows, count


def backlog(session: Session) -> int:
    return session.exec(
        select(func.count()).select_from(Notification).where(col(Notification.state) == "pending")
    ).one()


def of_slo(session: Session, slo_id: int, *, limit: int) -> Sequence[Alert]:
    """An SLO's alerts, newest first."""
    return session.exec(
        select(Alert)
        .where(col(Alert.slo_id) == slo_id)
        .order_by(col(Alert.started_at).desc(), col(Alert.id).desc())
        .limit(limit)
    ).all()


def started_between(
    session: Session, slo_ids: Sequence[int], start: datetime, end: datetime
) -> dict[int, int]:
    """How many alerts of each SLO started in ``[start, end)``."""
    rows = session.exec(
        select(Alert.slo_id, func.count())
        .where(
            col(Alert.slo_id).in_(slo_ids),
            col(Alert.started_at) >= start,
            col(Alert.started_at) < end,
        )
        .group_by(col(Alert.slo_id))
    ).all()
    return dict(rows)
