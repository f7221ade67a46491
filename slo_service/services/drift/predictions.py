"""Prediction drift: each hour of a service's logged predictions measured against its
prediction reference, before any label exists.

The prediction reference is a drift reference of subject ``predictions`` with the features
``prediction`` (the classes a classifier predicted, categorical; or a regression's values,
numeric) and ``score`` (a binary classifier's probability of the positive class, or the
probability a class map gives the predicted class: the model's confidence). Once an hour of
predictions has ended (and a few minutes more for stragglers), the periodic job measures it
like a drift batch: PSI and chi-squared for classes, PSI, KS and JS for values and scores. The
measurements are the service's drift of subject ``predictions``, observed at the hour's end:
the on-call view shows them, and a drift SLO with ``subject: predictions`` judges them.
Predictions logged for an hour after it was measured are not measured again.
"""

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import Engine
from sqlmodel import Session

from slo_service.db import session_scope
from slo_service.domain.blocks import Layout
from slo_service.domain.drift_columns import CategoricalColumn, Column, NumericColumn
from slo_service.errors import InvalidInput
from slo_service.repositories import drift as drift_repo
from slo_service.repositories import predictions as prediction_repo
from slo_service.repositories.predictions import Logged
from slo_service.services.drift import store

log = logging.getLogger(__name__)
PREDICTIONS = "predictions"
FEATURES = ("prediction", "score")
HOUR = 3600
GRACE = timedelta(minutes=5)  # after an hour ends, for predictions logged a little late
HOURS_PER_RUN = 48  # a service's hours measured in one run at most (a long gap catches up)


def measure_due(engine: Engine, *, now: datetime, layout: Layout) -> int:
    """Measure the ended hours of every service with a prediction reference; how many hours
    were measured. Each service is measured in its own transaction under its log's row lock,
    so replicas running the job at once measure each hour once."""
    with session_scope(engine) as session:
        services = prediction_repo.services_with_reference(session, PREDICTIONS)
    measured = 0
    for service in services:
        with session_scope(engine) as session:
            measured += measure_service(session, service, now=now, layout=layout)
    return measured


def measure_service(
    session: Session, service: str, *, now: datetime, layout: Layout, hours: int = HOURS_PER_RUN
) -> int:
    """Measure the service's ended hours since the last one measured (at most ``hours``), in
    the caller's transaction; how many had predictions."""
    log_row = prediction_repo.log_for_drift(session, service)
    reference = drift_repo.latest_reference(session, service, PREDICTIONS)
    if log_row is None or reference is None:
        return 0  # another replica holds it, or nothing to measure against
    ended = int((now - GRACE).timestamp()) // HOUR * HOUR
    start = log_row.drift_until or prediction_repo.first_hour(session, service)
    if start is None or start >= ended:
        return 0
    profiles = store.profiles_of(session, reference)
    measured_hours = 0
    for hour in range(start, min(ended, start + hours * HOUR), HOUR):
        rows = prediction_repo.made_between(session, service, hour, hour + HOUR)
        columns = {name: c for name, c in columns_of(rows).items() if name in profiles}
        if columns:
            at = datetime.fromtimestamp(hour + HOUR, UTC)
            measured = {name: store.measure(profiles[name], c) for name, c in columns.items()}
            drift_repo.add_measurements(
                session,
                store.measurement_rows(
                    service, reference, profiles, measured, at=at, batch_id=None, now=now
                ),
            )
            store.rewind(session, service, [at], layout=layout)
            measured_hours += 1
        log_row.drift_until = hour + HOUR
    session.add(log_row)
    return measured_hours


def check_columns(columns: Mapping[str, Column]) -> None:
    """A prediction reference has the columns ``prediction`` and ``score`` (either or both),
    and its scores are numbers."""
    others = sorted(set(columns) - set(FEATURES))
    if others:
        raise InvalidInput(
            [(("columns", name), "a prediction reference has only the columns prediction and "
              "score") for name in others]
        )  # fmt: skip
    if "score" in columns and not isinstance(columns["score"], NumericColumn):
        raise InvalidInput.at(("columns", "score"), "scores are probabilities: numbers")


def columns_of(rows: list[Logged]) -> dict[str, Column]:
    """An hour's predictions as the columns a prediction reference has: ``prediction``
    (classes, or a regression's values) and ``score`` (where the predictions have one)."""
    if not rows:
        return {}
    columns: dict[str, Column] = {}
    classes = [row.predicted for row in rows if row.predicted is not None]
    if all(row.predicted_value is not None for row in rows) and len(classes) < len(rows):
        values = np.array([row.predicted_value for row in rows], dtype=np.float64)
        columns["prediction"] = NumericColumn(values, 0)
    else:
        columns["prediction"] = CategoricalColumn(classes, len(rows) - len(classes))
    scores = [_confidence(row) for row in rows]
    present = np.array([s for s in scores if s is not None], dtype=np.float64)
    if present.size:
        columns["score"] = NumericColumn(present, len(scores) - present.size)
    return columns


def _confidence(row: Logged) -> float | None:
    if row.score is not None:
        return row.score
    if row.scores and row.predicted is not None:
        return row.scores.get(row.predicted)
    return None
