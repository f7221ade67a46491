"""The drift store: reference versions with their feature profiles, batches, measurements."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import func, insert
from sqlalchemy import select as columns_of
from sqlmodel import Session, col, select

from slo_service.models import (
    DriftBatch,
    DriftMeasurement,
    DriftReference,
    DriftReferenceFeature,
)


def latest_reference(
    session: Session, service: str, subject: str = "inputs"
) -> DriftReference | None:
    """The service's newest reference of ``subject`` (``inputs`` or ``predictions``)."""
    return session.exec(
        select(DriftReference)
        .where(col(DriftReference.service) == service, col(DriftReference.subject) == subject)
        .order_by(col(DriftReference.version).desc())
        .limit(1)
    ).first()


def features_of(session: Session, reference_id: int) -> Sequence[DriftReferenceFeature]:
    return session.exec(
        select(DriftReferenceFeature)
        .where(col(DriftReferenceFeature.reference_id) == reference_id)
        .order_by(col(DriftReferenceFeature.feature))
    ).all()


def feature_types(session: Session, reference_id: int) -> dict[str, str]:
    rows = session.exec(
        select(DriftReferenceFeature.feature, DriftReferenceFeature.type).where(
            col(DriftReferenceFeature.reference_id) == reference_id
        )
    ).all()
    return dict(rows)


def add_reference(
    session: Session, reference: DriftReference, features: Sequence[DriftReferenceFeature]
) -> DriftReference:
    """Store a new version: one more than the service's latest (the unique constraint on
    (service, version) turns a concurrent upload of the same version into a conflict)."""
    latest = session.exec(
        select(func.max(DriftReference.version)).where(
            col(DriftReference.service) == reference.service
        )
    ).one()
    reference.version = (latest or 0) + 1
    session.add(reference)
    session.flush()
    assert reference.id is not None
    for feature in features:
        feature.reference_id = reference.id
        session.add(feature)
    session.flush()
    return reference


def batch_by_key(session: Session, service: str, key: str) -> DriftBatch | None:
    return session.exec(
        select(DriftBatch).where(
            col(DriftBatch.service) == service, col(DriftBatch.batch_key) == key
        )
    ).first()


def latest_batch_at(session: Session, service: str) -> datetime | None:
    """When the service's newest batch was observed (None before its first)."""
    return session.exec(
        select(DriftBatch.observed_at)
        .where(col(DriftBatch.service) == service)
        .order_by(col(DriftBatch.observed_at).desc())
        .limit(1)
    ).first()


def reference_by_id(session: Session, reference_id: int) -> DriftReference | None:
    return session.get(DriftReference, reference_id)


def add_batch(session: Session, batch: DriftBatch) -> DriftBatch:
    session.add(batch)
    session.flush()
    return batch


def add_measurements(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Many measurements in one batched INSERT."""
    if rows:
        session.execute(insert(DriftMeasurement), [dict(row) for row in rows])


def of_batch(session: Session, batch_id: int) -> Sequence[DriftMeasurement]:
    return session.exec(
        select(DriftMeasurement).where(col(DriftMeasurement.batch_id) == batch_id)
    ).all()


def latest_per_feature(
    session: Session, service: str, subject: str = "inputs"
) -> Sequence[DriftMeasurement]:
    """Each feature's newest measurement, of ``subject``."""
    ranked = (
        select(
            col(DriftMeasurement.id).label("id"),
            func.row_number()
            .over(
                partition_by=col(DriftMeasurement.feature),
                order_by=(
                    col(DriftMeasurement.observed_at).desc(),
                    col(DriftMeasurement.id).desc(),
                ),
            )
            .label("rank"),
        )
        .where(col(DriftMeasurement.service) == service, col(DriftMeasurement.subject) == subject)
        .subquery()
    )
    newest = select(ranked.c.id).where(ranked.c.rank == 1)
    return session.exec(select(DriftMeasurement).where(col(DriftMeasurement.id).in_(newest))).all()


def history(
    session: Session,
    service: str,
    *,
    since: datetime | None,
    until: datetime | None,
    feature: str | None,
    limit: int,
    subject: str = "inputs",
) -> tuple[Sequence[DriftMeasurement], int]:
    """Measurements of ``subject`` newest first, and how many match in all."""
    conditions = [
        col(DriftMeasurement.service) == service,
        col(DriftMeasurement.subject) == subject,
    ]
    if since is not None:
        conditions.append(col(DriftMeasurement.observed_at) >= since)
    if until is not None:
        conditions.append(col(DriftMeasurement.observed_at) < until)
    if feature is not None:
        conditions.append(col(DriftMeasurement.feature) == feature)
    count = session.exec(
        select(func.count()).select_from(DriftMeasurement).where(*conditions)
    ).one()
    rows = session.exec(
        select(DriftMeasurement)
        .where(*conditions)
        .order_by(col(DriftMeasurement.observed_at).desc(), col(DriftMeasurement.id).desc())
        .limit(limit)
    ).all()
    return rows, count


class Reading(NamedTuple):
    feature: str
    type: str | None
    observed_at: datetime
    psi: float | None
    ks_statistic: float | None
    js_distance: float | None


def readings(
    session: Session, service: str, *, start: datetime, end: datetime, subject: str = "inputs"
) -> list[Reading]:
    """What drift SLIs judge of the measurements of ``subject`` in ``[start, end)``."""
    m = DriftMeasurement
    rows = session.execute(
        columns_of(
            col(m.feature), col(m.type), col(m.observed_at), col(m.psi), col(m.ks_statistic),
            col(m.js_distance),
        ).where(col(m.service) == service, col(m.subject) == subject, col(m.observed_at) >= start,
                col(m.observed_at) < end)
    ).all()  # fmt: skip
    return [Reading(*row) for row in rows]
