"""The demo's prediction log: a week of predictions and their labels a day later, so that the
tour shows accuracy from labels falling during the incident, the label delay, and the
prediction drift of that incident's hours."""

from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from slo_service.demo import predictions as demo_predictions
from slo_service.demo import seed as demo
from slo_service.models import DriftMeasurement, PerformanceHour
from slo_service.services.performance import series
from tests.demo.test_seed import T0, fed, seeded

HOUR = 3600


def incident_hours() -> set[int]:
    start = int((T0 - demo.INCIDENT_AGO).timestamp())
    stop = int((T0 - demo.INCIDENT_AGO + demo.INCIDENT_LENGTH).timestamp())
    return set(range(start - start % HOUR, stop, HOUR))


def test_accuracy_from_labels_falls_in_the_incident_and_the_last_day_waits(db: Engine) -> None:
    seeded(db)
    last = int(T0.timestamp()) // HOUR * HOUR
    with Session(db) as session:
        found = series.by_time(
            session, demo.SERVICE, start=T0 - timedelta(days=7), end=T0,
            window=timedelta(hours=1), step=timedelta(hours=1), metric="accuracy",
            model_version=None,
        )  # fmt: skip
    accuracy = {int(p.start.timestamp()): p.metrics["accuracy"].value for p in found.points}
    labeled = {int(p.start.timestamp()): (p.labeled, p.predicted) for p in found.points}
    assert len(accuracy) == 7 * 24
    due = last - 29 * HOUR  # an hour is labeled once its last label (28 h late) has come
    for hour, value in accuracy.items():
        if hour >= last:  # the hour the seed ran in: logged by the feeds that follow
            assert labeled[hour] == (0, 0), hour
        elif hour >= due:
            assert labeled[hour] == (0, demo_predictions.PER_HOUR), hour
            assert value is None
        elif hour in incident_hours():
            assert value is not None, hour
            assert value < 0.85, hour
        else:
            assert labeled[hour] == (demo_predictions.PER_HOUR,) * 2, hour
            assert value is not None, hour
            assert value >= 0.85, hour
    median = found.delays.quantile(0.5)
    assert median is not None
    assert 20 * HOUR <= median <= 28 * HOUR


def test_prediction_drift_marks_the_incident_hours(db: Engine) -> None:
    seeded(db)
    with Session(db) as session:
        rows = session.exec(
            select(DriftMeasurement).where(
                col(DriftMeasurement.service) == demo.SERVICE,
                col(DriftMeasurement.subject) == "predictions",
            )
        ).all()
    by_hour: dict[int, list[float]] = {}
    for row in rows:
        hour = int(row.observed_at.timestamp()) - HOUR
        by_hour.setdefault(hour, []).append(row.psi or 0.0)
    assert len(by_hour) == 7 * 24
    drifted = {hour for hour, values in by_hour.items() if max(values) >= 0.2}
    assert drifted == incident_hours()


def test_a_feed_logs_the_new_hours_and_labels_those_due_once(db: Engine) -> None:
    seeded(db)
    later = T0 + timedelta(hours=5)
    fed(db, later)
    fed(db, later)  # again: nothing twice
    with Session(db) as session:
        hours = session.exec(
            select(PerformanceHour).where(col(PerformanceHour.service) == demo.SERVICE)
        ).all()
    predicted = {h.hour: h.predicted for h in hours}
    labeled = {h.hour: h.labeled for h in hours}
    last = int(later.timestamp()) // HOUR * HOUR
    assert max(predicted) == last - HOUR
    assert set(predicted.values()) == {demo_predictions.PER_HOUR}
    due = last - 29 * HOUR
    assert all(labeled[h] == (demo_predictions.PER_HOUR if h < due else 0) for h in labeled)
