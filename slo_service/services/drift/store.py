"""The drift store: versioned references, production batches measured against the latest one,
and measurements posted by external drift jobs.

A batch is all or nothing: it is parsed, checked against its reference's schema and measured
in memory before anything is written, then its row and one measurement per feature are added
in the request's transaction. What is kept of a reference is bounded per feature (bin edges,
bin counts and a sample of at most ``domain.drift.SAMPLE_SIZE`` values, or category counts),
so the memory a batch needs is bounded by the batch, not by history. A measurement older than
what a drift SLO has evaluated moves that SLO's ``evaluated_until`` back to it, so the next
evaluation counts it.
"""

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from slo_service.domain import drift
from slo_service.domain.blocks import Layout, epoch, instant
from slo_service.domain.drift_columns import (
    CategoricalColumn,
    Column,
    FeatureType,
    NumericColumn,
    check_schema,
)
from slo_service.errors import Conflict, InvalidInput
from slo_service.models import DriftBatch, DriftReference, DriftReferenceFeature
from slo_service.repositories import drift as drift_repo
from slo_service.repositories import slos as slo_repo
from slo_service.schemas.drift import BatchPublic, MeasurementIn, ReferencePublic
from slo_service.services import audit
from slo_service.services.drift import views as drift_views

MAX_FUTURE = timedelta(minutes=5)
MAX_AGE = timedelta(days=400)
Profile = drift.NumericProfile | drift.CategoricalProfile


def create_reference(
    session: Session,
    service: str,
    columns: Mapping[str, Column],
    *,
    bins: int,
    actor: str,
    subject: str = "inputs",
) -> ReferencePublic:
    """Profile every feature and store them as the service's next reference version, of its
    inputs or (``subject="predictions"``) of its predictions."""
    empty = [name for name, column in columns.items() if _size(column) == 0]
    if empty:
        raise InvalidInput(
            [(("columns", name), "has no values (only nulls): nothing to compare with")
             for name in empty]
        )  # fmt: skip
    features = [_stored(name, _profile(column, bins)) for name, column in columns.items()]
    rows = _size(next(iter(columns.values()))) + next(iter(columns.values())).nulls
    try:
        reference = drift_repo.add_reference(
            session,
            DriftReference(
                service=service, subject=subject, version=0, rows=rows, created_by=actor
            ),
            features,
        )  # fmt: skip
    except IntegrityError:
        raise Conflict(
            f"another reference of {service!r} was stored at the same time: send it again"
        ) from None
    audit.record(
        session,
        actor=actor,
        action="drift.reference.create",
        target_type="service",
        target_id=service,
        target=service,
        changes={
            "version": reference.version,
            "rows": rows,
            "features": sorted(columns),
            "subject": subject,
        },
    )
    return drift_views.reference_public(reference, features)


def ingest_batch(
    session: Session,
    service: str,
    columns: Mapping[str, Column],
    *,
    observed_at: datetime | None,
    batch_key: str | None,
    now: datetime,
    layout: Layout,
) -> BatchPublic:
    """Measure a batch against the latest reference and store it with its measurements."""
    reference, profiles = _current_profiles(session, service)
    if batch_key is not None and (seen := drift_repo.batch_by_key(session, service, batch_key)):
        return drift_views.batch_public(session, seen, duplicate=True)
    check_schema(columns, {name: type_of(profile) for name, profile in profiles.items()})
    at = _checked_time(observed_at or now, now=now, loc=("timestamp",))
    measured = {name: measure(profiles[name], column) for name, column in columns.items()}
    assert reference.id is not None
    first = next(iter(columns.values()))
    stored = DriftBatch(
        service=service,
        batch_key=batch_key,
        reference_id=reference.id,
        observed_at=at,
        rows=_size(first) + first.nulls,
        received_at=now,
    )
    try:
        batch = drift_repo.add_batch(session, stored)
    except IntegrityError:
        raise Conflict(
            f"batch {batch_key!r} of {service!r} is being stored by another request"
        ) from None
    drift_repo.add_measurements(
        session,
        measurement_rows(service, reference, profiles, measured, at=at, batch_id=batch.id, now=now),
    )
    rewind(session, service, [at], layout=layout)
    return drift_views.batch_public(session, batch, duplicate=False)


def measurement_rows(
    service: str,
    reference: DriftReference,
    profiles: Mapping[str, Profile],
    measured: Mapping[str, drift.FeatureDrift],
    *,
    at: datetime,
    batch_id: int | None,
    now: datetime,
) -> list[dict[str, Any]]:
    """The measurements to store of features measured against ``reference`` at ``at``."""
    return [
        {"service": service, "subject": reference.subject, "feature": name,
         "type": type_of(profiles[name]).value, "observed_at": at, "batch_id": batch_id,
         "reference_version": reference.version, "received_at": now,
         **asdict(result, dict_factory=_without_nulls)}
        for name, result in measured.items()
    ]  # fmt: skip


def _without_nulls(items: list[tuple[str, Any]]) -> dict[str, Any]:
    """A feature's drift as stored: the null count is kept as the null rate."""
    return {key: value for key, value in items if key != "nulls"}


def record_measurements(
    session: Session,
    service: str,
    items: Sequence[MeasurementIn],
    *,
    now: datetime,
    layout: Layout,
) -> int:
    """Store measurements of an external drift job, all or none; when the service has a
    reference, each feature must be one of its features, of its type."""
    reference = drift_repo.latest_reference(session, service)
    known: dict[str, str] = {}
    if reference is not None and reference.id is not None:
        known = {f.feature: f.type for f in drift_repo.features_of(session, reference.id)}
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for index, item in enumerate(items):
        loc = ("measurements", index)
        try:
            _checked_time(item.timestamp, now=now, loc=(*loc, "timestamp"))
        except InvalidInput as exc:
            problems += exc.problems
        if known and item.feature not in known:
            features = ", ".join(sorted(known))
            version = reference.version if reference else None
            reason = (
                f"{item.feature!r} is not a feature of reference version {version} ({features})"
            )
            problems.append(((*loc, "feature"), reason))
        elif known and item.type is not None and item.type != known[item.feature]:
            problems.append(
                ((*loc, "type"), f"{item.feature!r} is {known[item.feature]} in the reference")
            )
    if problems:
        raise InvalidInput(problems)
    rows = [
        {**item.model_dump(exclude={"timestamp", "type"}), "service": service,
         "observed_at": item.timestamp,
         "type": (item.type.value if item.type else known.get(item.feature)),
         "reference_version": None, "batch_id": None, "received_at": now}
        for item in items
    ]  # fmt: skip
    drift_repo.add_measurements(session, rows)
    rewind(session, service, [item.timestamp for item in items], layout=layout)
    return len(rows)


def reference_types(session: Session, service: str) -> dict[str, FeatureType]:
    """The type of each feature of the service's latest reference; a 422 when it has none."""
    reference = _latest(session, service)
    assert reference.id is not None
    stored = drift_repo.feature_types(session, reference.id)
    return {name: FeatureType(kind) for name, kind in stored.items()}


def _current_profiles(session: Session, service: str) -> tuple[DriftReference, dict[str, Profile]]:
    """The service's latest reference and its features' profiles; a 422 when it has none."""
    reference = _latest(session, service)
    return reference, profiles_of(session, reference)


def profiles_of(session: Session, reference: DriftReference) -> dict[str, Profile]:
    """A reference's features' profiles, by feature."""
    assert reference.id is not None
    return {f.feature: _loaded(f) for f in drift_repo.features_of(session, reference.id)}


def _latest(session: Session, service: str) -> DriftReference:
    reference = drift_repo.latest_reference(session, service)
    if reference is None:
        raise InvalidInput.at(
            ("service",),
            f"service {service!r} has no reference yet: POST one to "
            f"/api/v1/drift/{service}/reference before sending batches",
        )
    return reference


def _checked_time(at: datetime, *, now: datetime, loc: tuple[str | int, ...]) -> datetime:
    if not now - MAX_AGE <= at <= now + MAX_FUTURE:
        raise InvalidInput.at(loc, "must lie within the last 400 days (and not in the future)")
    return at


def rewind(session: Session, service: str, times: Sequence[datetime], *, layout: Layout) -> None:
    """Drift SLOs over this service's store measure again from the earliest new bucket."""
    width = layout.bucket_seconds
    earliest = min(epoch(at) for at in times)
    bucket = instant(earliest - earliest % width)
    slo_repo.rewind_readers(session, source="drift_store", service=service, to=bucket)


def _size(column: Column) -> int:
    return len(column.values)


def type_of(profile: Profile) -> FeatureType:
    if isinstance(profile, drift.NumericProfile):
        return FeatureType.NUMERIC
    return FeatureType.CATEGORICAL


def _profile(column: Column, bins: int) -> Profile:
    if isinstance(column, NumericColumn):
        return drift.numeric_profile(column.values, column.nulls, bins=bins)
    return drift.categorical_profile(column.values, column.nulls)


def measure(profile: Profile, column: Column) -> drift.FeatureDrift:
    if isinstance(profile, drift.NumericProfile):
        assert isinstance(column, NumericColumn)
        return drift.numeric_drift(profile, column.values, column.nulls)
    assert isinstance(column, CategoricalColumn)
    return drift.categorical_drift(profile, column.values, column.nulls)


def _stored(name: str, profile: Profile) -> DriftReferenceFeature:
    row = DriftReferenceFeature(
        reference_id=0,  # set when the reference is stored
        feature=name,
        type=type_of(profile).value,
        count=profile.count,
        nulls=profile.nulls,
    )
    if isinstance(profile, drift.NumericProfile):
        row.edges = profile.edges.tobytes()
        row.bin_counts = profile.counts.tobytes()
        row.sample = profile.sample.tobytes()
    else:
        row.categories = dict(profile.counts)
    return row


def _loaded(row: DriftReferenceFeature) -> Profile:
    if row.type == FeatureType.NUMERIC:
        return drift.NumericProfile(
            edges=drift_views.floats(row.edges), counts=drift_views.floats(row.bin_counts),
            sample=drift_views.floats(row.sample), count=row.count, nulls=row.nulls,
        )  # fmt: skip
    return drift.CategoricalProfile(counts=dict(row.categories or {}), count=row.count,
                                    nulls=row.nulls)  # fmt: skip
