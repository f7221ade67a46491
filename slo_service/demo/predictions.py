"""The demo model's prediction log: a week of its churn classifier's scored predictions, each
labeled a day after it was made, and a reference of its predictions from validation.

During the demo's incident (three days ago) the model predicts churn far more often and is
wrong much more: accuracy from labels falls in those hours, the prediction drift of its
classes and scores shows it before any label came, and the last day has no labels yet (the
label delay). ``feed`` continues the predictions every hour and labels each hour once its
day has passed; every prediction is drawn from its own hour's generator and stored under its
own id, so feeding again records nothing twice.
"""

from datetime import UTC, datetime, timedelta

import numpy as np
from sqlmodel import Session

from slo_service.domain import drift_columns
from slo_service.domain.blocks import Layout
from slo_service.repositories import predictions as prediction_repo
from slo_service.schemas.predictions import LabelIn, PredictionIn
from slo_service.services.drift import predictions as prediction_drift
from slo_service.services.drift import store as drift
from slo_service.services.performance import log as prediction_log

HOUR = 3600
DAYS = 7
PER_HOUR = 200
LABELED_AFTER = (20, 28)  # hours after its prediction a label comes, at least and at most
DUE = timedelta(hours=29)  # an hour is labeled once its last label has come
BATCH = 10_000
LIMITS = prediction_log.Limits(retention=timedelta(days=DAYS + 1), label_wait=timedelta(days=14))
SLOS: list[dict[str, object]] = [
    {"name": "accuracy-from-labels", "kind": "model_performance", "objective": 0.95,
     "window": "7d",
     "params": {"metric": "accuracy", "threshold": 0.85, "expected_label_delay": "30h",
                "min_coverage": 0.8},
     "description": "Hours whose predictions were at least 85% right, once labeled."},
    {"name": "prediction-drift", "kind": "drift", "objective": 0.95, "window": "7d",
     "params": {"subject": "predictions", "default_threshold": 0.2},
     "description": "Hours whose predicted classes and scores stay near validation's."},
]  # fmt: skip


def seed(
    session: Session, service: str, *, end: datetime, incident: tuple[datetime, datetime],
    layout: Layout,
) -> None:  # fmt: skip
    """A prediction reference, a week of hourly predictions up to ``end`` and the labels due
    by then, and the drift of each ended hour of predictions."""
    rng = np.random.default_rng(20261203)
    classes, scores, _ = _outputs(rng, 20_000, drifting=False)
    reference = drift_columns.from_json({"prediction": classes, "score": scores.tolist()}, {})
    drift.create_reference(
        session, service, reference, bins=10, actor="demo", subject=prediction_drift.PREDICTIONS
    )
    last = int(end.timestamp()) // HOUR * HOUR
    hours = range(last - DAYS * 24 * HOUR, last, HOUR)
    _log(session, service, hours, incident, now=end)
    prediction_drift.measure_service(session, service, now=end, layout=layout, hours=len(hours))


def feed(session: Session, service: str, *, now: datetime) -> None:
    """The healthy hours of predictions after the last one logged up to ``now``, and the
    labels now due; a demo left stopped catches up at most the seed's week."""
    if prediction_repo.log_of(session, service) is None:
        return
    last = int(now.timestamp()) // HOUR * HOUR
    logged = prediction_repo.last_hour(session, service)
    first = max(last - DAYS * 24 * HOUR, last if logged is None else logged + HOUR)
    _log(session, service, range(first, last, HOUR), (now, now), now=now)


def _log(
    session: Session,
    service: str,
    hours: range,
    incident: tuple[datetime, datetime],
    *,
    now: datetime,
) -> None:
    """The predictions of ``hours`` (those logged already are ignored by their ids), drifting
    in the hours that overlap ``incident``, and the labels of every hour whose labels have all
    come by ``now`` and that has none yet."""
    start, stop = (int(at.timestamp()) for at in incident)
    start -= start % HOUR
    items = [item for hour in hours for item in _hour(hour, start <= hour < stop)[0]]
    for first in range(0, len(items), BATCH):
        prediction_log.log_predictions(
            session, service, items[first : first + BATCH], task="classification",
            positive_class="churn", now=now, limits=LIMITS,
        )  # fmt: skip
    due = int((now - DUE).timestamp()) // HOUR * HOUR
    unlabeled = prediction_repo.unlabeled_hours(session, service, before=due)
    labels = [label for hour in unlabeled for label in _hour(hour, start <= hour < stop)[1]]
    for first in range(0, len(labels), BATCH):
        prediction_log.log_labels(
            session, service, labels[first : first + BATCH], now=now, actor="demo"
        )


def _hour(hour: int, drifting: bool) -> tuple[list[PredictionIn], list[LabelIn]]:
    """One hour's predictions and their labels (a day or so later), the same whenever drawn."""
    rng = np.random.default_rng(hour)
    classes, scores, truth = _outputs(rng, PER_HOUR, drifting=drifting)
    stamps = hour + np.sort(rng.uniform(0, HOUR, PER_HOUR))
    delays = rng.uniform(*LABELED_AFTER, PER_HOUR) * HOUR
    predictions, labels = [], []
    for i, (predicted, score, true, at, delay) in enumerate(
        zip(classes, scores.tolist(), truth, stamps.tolist(), delays.tolist(), strict=True)
    ):
        key = f"demo-{hour}-{i}"
        predictions.append(
            PredictionIn(
                id=key,
                timestamp=_instant(at),
                model_version="v3",
                prediction=predicted,
                score=score,
            )
        )
        labels.append(LabelIn(id=key, label=true, labeled_at=_instant(at + delay)))
    return predictions, labels


def _outputs(
    rng: np.random.Generator, rows: int, *, drifting: bool
) -> tuple[list[str], np.ndarray, list[str]]:
    """Predicted classes, churn scores and true classes: a fifth of the customers churn, and
    the model scores them well; drifting, it scores everyone much higher."""
    churns = rng.random(rows) < 0.2
    scores = np.where(churns, rng.beta(6, 1.5, rows), rng.beta(1.5, 6, rows))
    if drifting:
        scores = np.clip(scores + 0.35, 0, 1)
    scores = scores.round(4)
    classes = ["churn" if s >= 0.5 else "stay" for s in scores.tolist()]
    return classes, scores, ["churn" if c else "stay" for c in churns.tolist()]


def _instant(stamp: float) -> datetime:
    return datetime.fromtimestamp(stamp, UTC)
