"""What the drift store answers: references, batches, measurements, and its overview."""

from collections.abc import Sequence
from datetime import datetime

import numpy as np
from sqlmodel import Session

from slo_service.domain.drift_columns import FeatureType
from slo_service.domain.series import Floats
from slo_service.errors import NotFound
from slo_service.models import DriftBatch, DriftMeasurement, DriftReference, DriftReferenceFeature
from slo_service.repositories import drift as drift_repo
from slo_service.schemas.drift import (
    BatchPublic,
    DriftPublic,
    MeasurementPublic,
    MeasurementsPublic,
    ReferenceFeaturePublic,
    ReferencePublic,
)


def overview(
    session: Session,
    service: str,
    *,
    since: datetime | None,
    until: datetime | None,
    feature: str | None,
    limit: int,
    subject: str = "inputs",
) -> DriftPublic:
    """The latest reference, each feature's newest measurement, and the history, of the
    service's inputs or (``subject="predictions"``) of its predictions."""
    reference = drift_repo.latest_reference(session, service, subject)
    latest = drift_repo.latest_per_feature(session, service, subject)
    if reference is None and not latest:
        raise NotFound(
            f"service {service!r} has no drift data: POST its reference to "
            f"/api/v1/drift/{service}/reference first"
        )
    history, count = drift_repo.history(
        session, service, since=since, until=until, feature=feature, limit=limit, subject=subject
    )
    public = None
    if reference is not None and reference.id is not None:
        public = reference_public(reference, drift_repo.features_of(session, reference.id))
    return DriftPublic(
        service=service,
        reference=public,
        latest=most_drifted([measurement_public(m) for m in latest]),
        history=MeasurementsPublic(data=[measurement_public(m) for m in history], count=count),
    )


def most_drifted(measurements: list[MeasurementPublic]) -> list[MeasurementPublic]:
    """Highest PSI first; those without a PSI last, by name."""
    return sorted(measurements, key=lambda m: (m.psi is None, -(m.psi or 0.0), m.feature))


def measurement_public(row: DriftMeasurement) -> MeasurementPublic:
    return MeasurementPublic(
        **row.model_dump(exclude={"id", "service", "received_at", "type"}),
        type=FeatureType(row.type) if row.type else None,
        source="batch" if row.batch_id is not None else "external",
    )


def floats(data: bytes | None) -> Floats:
    assert data is not None
    return np.frombuffer(data, dtype=np.float64)


def feature_public(row: DriftReferenceFeature) -> ReferenceFeaturePublic:
    numeric = row.type == FeatureType.NUMERIC
    return ReferenceFeaturePublic(
        feature=row.feature,
        type=FeatureType(row.type),
        count=row.count,
        null_rate=row.nulls / (row.count + row.nulls),
        edges=floats(row.edges).tolist() if numeric else None,
        bin_counts=floats(row.bin_counts).tolist() if numeric else None,
        sample_size=len(floats(row.sample)) if numeric else None,
        categories=row.categories,
    )


def reference_public(
    reference: DriftReference, features: Sequence[DriftReferenceFeature]
) -> ReferencePublic:
    return ReferencePublic(
        service=reference.service,
        version=reference.version,
        rows=reference.rows,
        created_at=reference.created_at,
        created_by=reference.created_by,
        features=[feature_public(f) for f in sorted(features, key=lambda f: f.feature)],
    )


def batch_public(session: Session, batch: DriftBatch, *, duplicate: bool) -> BatchPublic:
    assert batch.id is not None
    reference = drift_repo.reference_by_id(session, batch.reference_id)
    assert reference is not None
    measured = [measurement_public(m) for m in drift_repo.of_batch(session, batch.id)]
    return BatchPublic(
        id=batch.id,
        service=batch.service,
        batch_id=batch.batch_key,
        reference_version=reference.version,
        observed_at=batch.observed_at,
        rows=batch.rows,
        duplicate=duplicate,
        features=most_drifted(measured),
    )
