"""Measuring performance SLIs from the prediction log (``PredictionLogSource``).

Timeslices: each bucket is judged by the metric (scikit-learn's) of the labeled predictions
that stand for it, good when it meets the threshold. By period (``bucket`` of the SLI, whole
hours or days): the predictions made in the bucket's period, read from the hourly figures (AUC,
which does not add up, from the predictions themselves). By count (``window_size`` N): the last
N labeled predictions made before the bucket's end. A bucket with no labeled prediction to judge
it by (or fewer than N), or whose metric is undefined there (no predicted positives for
precision, one class for AUC), has no value and follows the SLO's no_data policy.

Evaluation asks for a bucket only once its labels are due (``due_end``): after the end of its
period (by period) and the expected label delay; labels that come later rewind the SLO
(``services.performance.log``), so that the bucket is judged again.
"""

from collections.abc import Sequence

import numpy as np
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from slo_service.db import session_scope
from slo_service.domain import performance
from slo_service.domain.labeled import Reading, Tally
from slo_service.domain.series import Floats
from slo_service.domain.sli import PredictionLogSli
from slo_service.domain.windows import parse_duration
from slo_service.models import PerformanceHour, PredictionLog
from slo_service.repositories import predictions as prediction_repo
from slo_service.repositories.predictions import Logged
from slo_service.sources import plan
from slo_service.sources.base import Answer, Request, SourceError

HOUR = 3600
MAX_ROWS = 500_000  # labeled predictions one request reads at most (by count, or for AUC)


def due_end(sli: PredictionLogSli, due: int) -> int:
    """The end of the buckets whose labels are due when evaluation is due up to ``due``."""
    lagged = due - _seconds(sli.expected_label_delay)
    if sli.window_size is not None:
        return lagged
    return lagged - lagged % _seconds(sli.bucket)


class PredictionLogSource:
    """Reads each request's service's prediction log over its range."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def measure(self, requests: Sequence[Request], *, bucket: int) -> dict[int, Answer]:
        answers: dict[int, Answer] = {}
        for request in requests:
            sli = request.sli
            if not isinstance(sli, PredictionLogSli) or sli.service is None:
                answers[request.key] = SourceError("not a prediction_log SLI with a service")
                continue
            try:
                with session_scope(self.engine) as session:
                    values = _values(session, sli, request, bucket=bucket)
            except SQLAlchemyError as exc:
                answers[request.key] = SourceError(
                    f"the prediction log could not be read: {exc.__class__.__name__}"
                )
                continue
            except SourceError as exc:
                answers[request.key] = exc
                continue
            answers[request.key] = plan.slices(
                values, op=sli.op, threshold=sli.threshold, no_data=request.no_data,
                start=request.start, bucket=bucket,
            )  # fmt: skip
        return answers


def _values(session: Session, sli: PredictionLogSli, request: Request, *, bucket: int) -> Floats:
    """The metric standing for each bucket of the request (NaN: none)."""
    assert sli.service is not None
    starts = request.start + bucket * np.arange((request.end - request.start) // bucket)
    log = prediction_repo.log_of(session, sli.service)
    if log is None:
        return np.full(starts.size, np.nan)
    if sli.window_size is not None:
        return _by_count(session, log, sli, starts + bucket, request)
    return _by_period(session, log, sli, starts, request)


def _by_period(
    session: Session,
    log: PredictionLog,
    sli: PredictionLogSli,
    starts: np.ndarray,
    request: Request,
) -> Floats:
    period = _seconds(sli.bucket)
    first = request.start - request.start % period
    last = request.end + (-request.end % period)
    rows = prediction_repo.hours_between(
        session, log.service, first, last - HOUR, model_version=sli.model_version
    )
    grouped: dict[int, list[PerformanceHour]] = {}
    for row in rows:
        grouped.setdefault(row.hour - row.hour % period, []).append(row)
    verdicts = {
        start: _of_hours(session, log, sli, these, start, start + period)
        for start, these in grouped.items()
    }
    return np.array([verdicts.get(s - s % period, np.nan) for s in starts.tolist()])


def _of_hours(
    session: Session,
    log: PredictionLog,
    sli: PredictionLogSli,
    rows: Sequence[PerformanceHour],
    start: int,
    end: int,
) -> float:
    """The metric of one period: from its hours' tallies, or (AUC) its predictions."""
    if sli.metric == "auc":
        return _auc(log, _labeled(session, log, sli, start, end))
    tally: Tally | None = None
    for row in rows:
        if row.tally is not None:
            kept = _reading(log).stored(row.tally)
            tally = kept if tally is None else tally + kept  # type: ignore[operator]
    if tally is None:
        return np.nan
    return _number(tally.metrics()[sli.metric])


def _by_count(
    session: Session, log: PredictionLog, sli: PredictionLogSli, ends: np.ndarray, request: Request
) -> Floats:
    """Each bucket by the last ``window_size`` labeled predictions made before its end."""
    size = sli.window_size
    assert size is not None
    before = prediction_repo.labeled_before(
        session, log.service, request.start, limit=size, model_version=sli.model_version
    )
    rows = _reading(log).usable([*before, *_labeled(session, log, sli, request.start, request.end)])
    values = np.full(ends.size, np.nan)
    stamps = np.array([row.ts for row in rows])
    after = np.searchsorted(stamps, ends, side="left")  # rows made before each end
    judged = after >= size
    if not judged.any():
        return values
    if sli.metric == "auc":
        found = {k: _auc(log, rows[k - size : k]) for k in set(after[judged].tolist())}
        values[judged] = [found[k] for k in after[judged].tolist()]
        return values
    series = _reading(log).windows(rows, size=size, step=1, auc=False)[sli.metric]
    values[judged] = [_number(series[k - size]) for k in after[judged].tolist()]
    return values


def _labeled(
    session: Session, log: PredictionLog, sli: PredictionLogSli, start: int, end: int
) -> list[Logged]:
    rows = prediction_repo.labeled_between(
        session, log.service, start, end, model_version=sli.model_version, limit=MAX_ROWS + 1
    )
    if len(rows) > MAX_ROWS:
        raise SourceError(
            f"more than {MAX_ROWS} labeled predictions to read at once: judge by hourly "
            "periods (bucket) rather than by count, or by another metric than auc"
        )
    return rows


def _auc(log: PredictionLog, rows: Sequence[Logged]) -> float:
    rows = _reading(log).usable(rows)
    return _number(_reading(log).metrics(rows)["auc"]) if rows else np.nan


def _reading(log: PredictionLog) -> Reading:
    return Reading(log.task, log.positive_class)  # type: ignore[arg-type]


def _number(metric: performance.Metric) -> float:
    return np.nan if metric.value is None else metric.value


def _seconds(duration: str) -> int:
    return int(parse_duration(duration).total_seconds()) if duration != "0m" else 0
