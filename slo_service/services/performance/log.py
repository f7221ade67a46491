"""Logging predictions and their late labels: a batch is checked whole and stored whole (or
not at all), a retried prediction is ignored by its id, a label that overtook its prediction
waits for it, and a second label replaces the first and is counted."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from slo_service.config import Settings
from slo_service.errors import Conflict, InvalidInput
from slo_service.models import PredictionLog
from slo_service.repositories import predictions as prediction_repo
from slo_service.repositories import slos as slo_repo
from slo_service.repositories.predictions import Labeling, Logged
from slo_service.schemas.predictions import (
    LabelIn,
    LabelsResult,
    PredictionIn,
    PredictionsResult,
    Task,
)
from slo_service.services import audit
from slo_service.services.performance import hours

MAX_FUTURE = timedelta(minutes=5)
LISTED = 100  # problems named in a refused batch's answer
Problems = list[tuple[tuple[str | int, ...], str]]
DAY = 86_400


@dataclass(frozen=True)
class Limits:
    """How old a logged prediction may be (``SLO_PREDICTION_RETENTION_DAYS``) and how long a
    label waits for its prediction (``SLO_LABEL_WAIT_DAYS``)."""

    retention: timedelta
    label_wait: timedelta


def limits_of(settings: Settings) -> Limits:
    return Limits(
        retention=timedelta(days=settings.prediction_retention_days),
        label_wait=timedelta(days=settings.label_wait_days),
    )


def prune(session: Session, *, now: datetime, limits: Limits) -> tuple[int, int]:
    """Drop predictions made before the retention (with their hours) and labels that waited
    longer than they may: how many of each went."""
    return prediction_repo.prune(
        session, before=(now - limits.retention).timestamp(), pending_before=now - limits.label_wait
    )


def log_predictions(
    session: Session,
    service: str,
    items: Sequence[PredictionIn],
    *,
    task: Task | None,
    positive_class: str | int | None,
    now: datetime,
    limits: Limits,
) -> PredictionsResult:
    """Store a batch of predictions whole, or refuse it whole with every bad item named."""
    log = prediction_repo.log_of(session, service)
    wanted = _task(log, task, items)
    positive = None if positive_class is None else str(positive_class)
    unset = log is None or log.positive_class is None
    if positive is None and unset and any(isinstance(i.score, float) for i in items):
        positive = "1"  # a binary score says what it is the probability of: sklearn's default
    _check_log(log, service, wanted, positive)
    problems = _prediction_problems(items, wanted, now=now, limits=limits)
    if problems:
        raise InvalidInput(_first(problems))
    if log is None:
        log = prediction_repo.open_log(session, service, task=wanted, positive_class=positive)
        _check_log(log, service, wanted, positive)  # another batch may have made it first
    elif positive is not None and log.positive_class is None:
        log.positive_class = positive
        session.add(log)
    logged = {item.id: _as_logged(item) for item in items}
    new = prediction_repo.insert_new(session, service, list(logged.values()))
    waiting = prediction_repo.take_pending(session, service, sorted(new))
    prediction_repo.set_labels(session, service, waiting)
    labeled = [_relabeled(logged[label.prediction_id], label) for label in waiting]
    hours.update(
        session, log, predicted=[(logged[i].model_version, logged[i].ts) for i in new],
        labeled=labeled,
    )  # fmt: skip
    _rewind(session, service, labeled)
    return PredictionsResult(
        accepted=len(new), duplicates=len(items) - len(new), labeled=len(waiting), task=wanted
    )


def log_labels(
    session: Session,
    service: str,
    items: Sequence[LabelIn],
    *,
    now: datetime,
    actor: str,
) -> LabelsResult:
    """Give logged predictions their labels (replacing earlier ones, counted), and keep the
    labels of predictions not logged yet."""
    log = prediction_repo.log_of(session, service)
    problems = _label_problems(items, log, now=now)
    if problems:
        raise InvalidInput(_first(problems))
    labels = [
        Labeling(
            item.id,
            None if isinstance(item.label, float) else str(item.label),
            None if isinstance(item.label, str) else float(item.label),
            epoch_of(item.labeled_at),
            1,
        )
        for item in items
    ]
    found = prediction_repo.for_labeling(
        session, service, [label.prediction_id for label in labels]
    )
    known = [label for label in labels if label.prediction_id in found]
    prediction_repo.keep_pending(
        session, service, [label for label in labels if label.prediction_id not in found],
        received_at=now,
    )  # fmt: skip
    prediction_repo.set_labels(session, service, known)
    replaced = [
        found[label.prediction_id]
        for label in known
        if found[label.prediction_id].labeled_at is not None
    ]
    if log is not None and known:
        hours.update(
            session,
            log,
            labeled=[_relabeled(found[label.prediction_id], label) for label in known],
            unlabeled=replaced,
        )
    _rewind(session, service, [found[label.prediction_id] for label in known])
    if replaced:
        audit.record(
            session,
            actor=actor,
            action="labels.replace",
            target_type="service",
            target_id=service,
            target=service,
            changes={
                "replaced": len(replaced),
                "predictions": sorted(row.prediction_id for row in replaced)[:20],
            },
        )
    return LabelsResult(
        matched=len(known) - len(replaced), replaced=len(replaced), pending=len(labels) - len(known)
    )


def _rewind(session: Session, service: str, labeled: Sequence[Logged]) -> None:
    """Performance SLOs over the service judge again from the UTC day of the earliest
    prediction that got a label (their periods tile the day, so whole periods are judged)."""
    if labeled:
        earliest = min(row.ts for row in labeled)
        day = datetime.fromtimestamp(earliest - earliest % DAY, UTC)
        slo_repo.rewind_readers(session, source="prediction_log", service=service, to=day)


def epoch_of(at: datetime) -> float:
    return at.timestamp()


def _first(problems: Problems) -> Problems:
    """The first ``LISTED`` problems, and how many more there are: a batch of 10,000 bad
    items is answered in a few kilobytes."""
    if len(problems) <= LISTED:
        return problems
    return [*problems[:LISTED], ((), f"and {len(problems) - LISTED} more problems like these")]


def _task(log: PredictionLog | None, asked: Task | None, items: Sequence[PredictionIn]) -> Task:
    if asked is not None:
        return asked
    if log is not None:
        return log.task  # type: ignore[return-value]
    # Class names or scores make a classifier, whatever else the batch holds; then a
    # fractional number makes a regression.
    if any(isinstance(i.prediction, str) or i.score is not None for i in items):
        return "classification"
    fractional = any(isinstance(item.prediction, float) for item in items)
    return "regression" if fractional else "classification"


def _check_log(log: PredictionLog | None, service: str, task: Task, positive: str | None) -> None:
    if log is None:
        return
    if log.task != task:
        raise Conflict(
            f"service {service!r} logs {log.task} predictions; a batch of {task} predictions "
            "cannot join them (log them under another service name)"
        )
    if positive is not None and log.positive_class not in (None, positive):
        raise Conflict(
            f"service {service!r} scores class {log.positive_class!r} as positive, not {positive!r}"
        )


def _prediction_problems(
    items: Sequence[PredictionIn], task: Task, *, now: datetime, limits: Limits
) -> Problems:
    problems: Problems = []
    first: dict[str, int] = {}
    oldest = now - limits.retention
    for index, item in enumerate(items):
        at = ("predictions", index)
        if item.id in first:
            problems.append(((*at, "id"), f"repeats the id of item {first[item.id]}"))
        first.setdefault(item.id, index)
        if not oldest <= item.timestamp <= now + MAX_FUTURE:
            problems.append(
                ((*at, "timestamp"), f"must lie within the last {limits.retention.days} days "
                 "(SLO_PREDICTION_RETENTION_DAYS) and not in the future")
            )  # fmt: skip
        if task == "classification" and isinstance(item.prediction, float):
            problems.append(
                ((*at, "prediction"), "a classifier's prediction is a class label (a string or "
                 "an integer); this service logs classification predictions")
            )  # fmt: skip
        if task == "regression":
            if isinstance(item.prediction, str):
                problems.append(
                    ((*at, "prediction"), "a regression model predicts a number; this service "
                     "logs regression predictions")
                )  # fmt: skip
            if item.score is not None:
                problems.append(((*at, "score"), "a regression prediction has no class score"))
    return problems


def _label_problems(
    items: Sequence[LabelIn], log: PredictionLog | None, *, now: datetime
) -> Problems:
    problems: Problems = []
    first: dict[str, int] = {}
    for index, item in enumerate(items):
        at = ("labels", index)
        if item.id in first:
            problems.append(((*at, "id"), f"repeats the id of item {first[item.id]}"))
        first.setdefault(item.id, index)
        if item.labeled_at > now + MAX_FUTURE:
            problems.append(((*at, "labeled_at"), "must not lie in the future"))
        if log is not None and log.task == "classification" and isinstance(item.label, float):
            problems.append(
                ((*at, "label"), "a class label is a string or an integer; this service logs "
                 "classification predictions")
            )  # fmt: skip
        if log is not None and log.task == "regression" and isinstance(item.label, str):
            problems.append(((*at, "label"), "this service logs regression: a label is a number"))
    return problems


def _as_logged(item: PredictionIn) -> Logged:
    """A prediction as it is stored: a class as text, a number as a value (an integer class
    as both), a binary score or a map of class probabilities."""
    prediction = item.prediction
    return Logged(
        prediction_id=item.id,
        ts=epoch_of(item.timestamp),
        model_version=item.model_version,
        predicted=None if isinstance(prediction, float) else str(prediction),
        predicted_value=None if isinstance(prediction, str) else float(prediction),
        score=item.score if isinstance(item.score, float) else None,
        scores=item.score if isinstance(item.score, dict) else None,
        label=None,
        label_value=None,
        labeled_at=None,
    )


def _relabeled(row: Logged, label: Labeling) -> Logged:
    """The prediction with the label given (built whole: ``_replace`` costs five times as
    much, and a batch relabels 10,000)."""
    return Logged(*row[:7], label.label, label.label_value, label.labeled_at)  # 7: unlabeled
