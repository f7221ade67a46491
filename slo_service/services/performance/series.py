"""A service's performance series: by time, from the hourly figures (a month is some 700 rows,
however many predictions it holds); by count, from the labeled predictions themselves (the
last N labeled predictions every M, in prediction order), read up to a bound."""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlmodel import Session

from slo_service.domain import performance
from slo_service.domain.label_delay import Delays
from slo_service.domain.labeled import Tally
from slo_service.domain.performance import Metric, MetricName
from slo_service.errors import InvalidInput, NotFound
from slo_service.models import PerformanceHour, PredictionLog
from slo_service.repositories import predictions as prediction_repo
from slo_service.repositories.predictions import Logged
from slo_service.services.performance import hours
from slo_service.services.performance.hours import HOUR

MAX_ROWS = 200_000  # labeled predictions a count series (or AUC over time) reads at most
MAX_POINTS = 10_000
UNSCORED_AUC = "AUC reads every score of the window: {} labeled predictions are more than {}"


@dataclass(frozen=True)
class Point:
    start: datetime
    end: datetime
    predicted: int | None
    labeled: int
    metrics: dict[MetricName, Metric]

    @property
    def coverage(self) -> float | None:
        if not self.predicted:
            return None
        return self.labeled / self.predicted


@dataclass(frozen=True)
class Series:
    log: PredictionLog
    points: list[Point]
    overall: Point
    delays: Delays


def metric_names(log: PredictionLog, asked: MetricName | None) -> tuple[MetricName, ...]:
    names = (
        performance.REGRESSION_METRICS
        if log.task == "regression"
        else performance.CLASSIFICATION_METRICS
    )
    if asked is None:
        return names
    if asked not in names:
        raise InvalidInput.at(
            ("metric",), f"{asked!r} does not apply to {log.task}: use one of {', '.join(names)}"
        )
    return (asked,)


def log_or_404(session: Session, service: str) -> PredictionLog:
    log = prediction_repo.log_of(session, service)
    if log is None:
        raise NotFound(
            f"service {service!r} has logged no predictions: POST them to "
            f"/api/v1/predictions/{service}"
        )
    return log


def by_time(
    session: Session,
    service: str,
    *,
    start: datetime,
    end: datetime,
    window: timedelta,
    step: timedelta,
    metric: MetricName | None,
    model_version: str | None,
) -> Series:
    """The metrics over each ``window`` ending every ``step`` from ``start`` + ``window`` to
    ``end`` (whole hours, as the figures are kept per hour of prediction time)."""
    log = log_or_404(session, service)
    names = metric_names(log, metric)
    for name, length in (("window", window), ("step", step)):
        if length.total_seconds() % HOUR or length < timedelta(hours=1):
            raise InvalidInput.at(
                (name,), "must be whole hours (the figures are kept per hour of prediction "
                "time); use by=count for finer windows",
            )  # fmt: skip
    first, last = _hour_at_or_after(start), _hour_at_or_after(end)
    width, stride = int(window.total_seconds()), int(step.total_seconds())
    ends = list(range(first + width, last + 1, stride))
    if len(ends) > MAX_POINTS:
        raise InvalidInput.at(("step",), f"{len(ends)} points: at most {MAX_POINTS}, widen step")
    rows = prediction_repo.hours_between(
        session, service, first, last - HOUR, model_version=model_version
    )
    summed = _running(log, rows, first, last)
    points = [_point(log, summed, e - width, e, names, first) for e in ends]
    overall = _point(log, summed, first, last, names, first)
    want_auc = "auc" in names
    if want_auc:
        points, overall = _with_auc(session, log, points, overall, model_version=model_version)
    return Series(log, points, overall, summed[-1][3] if summed else Delays())


def by_count(
    session: Session,
    service: str,
    *,
    start: datetime,
    end: datetime,
    size: int,
    step: int,
    metric: MetricName | None,
    model_version: str | None,
) -> Series:
    """The metrics of every ``size`` labeled predictions, every ``step``, in prediction
    order, among the predictions made in ``[start, end)``."""
    log = log_or_404(session, service)
    names = metric_names(log, metric)
    rows = prediction_repo.labeled_between(
        session, service, start.timestamp(), end.timestamp(),
        model_version=model_version, limit=MAX_ROWS + 1,
    )  # fmt: skip
    if len(rows) > MAX_ROWS:
        raise InvalidInput.at(
            ("from",), f"more than {MAX_ROWS} labeled predictions from 'from' to 'to': a count "
            "series reads each of them; narrow the range or ask by=time",
        )  # fmt: skip
    rows = hours.reading(log).usable(rows)
    starts = performance.window_starts(len(rows), size=size, step=step)
    if starts.size > MAX_POINTS:
        raise InvalidInput.at(("step",), f"{starts.size} windows: at most {MAX_POINTS}")
    series = hours.reading(log).windows(rows, size=size, step=step, auc="auc" in names)
    points = [
        Point(
            _instant(rows[s].ts),
            _instant(rows[s + size - 1].ts),
            None,
            size,
            {name: series[name][k] for name in names},
        )
        for k, s in enumerate(starts.tolist())
    ]
    totals = prediction_repo.hours_between(
        session, service, _hour_of(start), _hour_at_or_after(end) - HOUR,
        model_version=model_version,
    )  # fmt: skip
    summed = _running(log, totals, _hour_of(start), _hour_at_or_after(end))
    overall = _point(log, summed, _hour_of(start), _hour_at_or_after(end), names, _hour_of(start))
    if "auc" in names:
        overall = _replace_auc(overall, _auc_of(log, rows))
    return Series(log, points, overall, summed[-1][3] if summed else Delays())


Summed = tuple[int, int, Tally | None, Delays]


def _running(
    log: PredictionLog, rows: Sequence[PerformanceHour], first: int, last: int
) -> list[Summed]:
    """Running sums from hour ``first``: entry ``k`` holds what the hours before
    ``first + k`` hours add up to (predicted, labeled, tally, delays)."""
    by_hour: dict[int, list[PerformanceHour]] = {}
    for row in rows:
        by_hour.setdefault(row.hour, []).append(row)
    summed: list[Summed] = [(0, 0, None, Delays())]
    for hour in range(first, last, HOUR):
        predicted, labeled, tally, delays = summed[-1]
        for row in by_hour.get(hour, []):
            kept, kept_delays = hours.stored(log, row)
            predicted, labeled = predicted + row.predicted, labeled + row.labeled
            if kept is not None:
                tally = kept if tally is None else tally + kept  # type: ignore[operator]
            delays = delays + kept_delays
        summed.append((predicted, labeled, tally, delays))
    return summed


def _point(
    log: PredictionLog,
    summed: list[Summed],
    start: int,
    end: int,
    names: tuple[MetricName, ...],
    first: int,
) -> Point:
    """The hours from ``start`` to ``end`` as one point: the running sums' difference."""
    high, low = summed[(end - first) // HOUR], summed[(start - first) // HOUR]
    tally = _difference(log, high[2], low[2])
    found = tally.metrics() if tally is not None else {}
    empty = Metric(None, performance.EMPTY)
    metrics = {name: found.get(name, empty) for name in names}
    return Point(_instant(start), _instant(end), high[0] - low[0], high[1] - low[1], metrics)


def _difference(log: PredictionLog, high: Tally | None, low: Tally | None) -> Tally | None:
    if high is None:
        return None
    if low is None:
        return high
    return high - low  # type: ignore[operator]


def _with_auc(
    session: Session,
    log: PredictionLog,
    points: list[Point],
    overall: Point,
    *,
    model_version: str | None,
) -> tuple[list[Point], Point]:
    """AUC is not additive: it reads every score of a window, within ``MAX_ROWS``."""
    if overall.labeled > MAX_ROWS:
        why = Metric(None, UNSCORED_AUC.format(overall.labeled, MAX_ROWS))
        return [_replace_auc(p, why) for p in points], _replace_auc(overall, why)
    rows = prediction_repo.labeled_between(
        session, log.service, overall.start.timestamp(), overall.end.timestamp(),
        model_version=model_version, limit=MAX_ROWS + 1,
    )  # fmt: skip
    stamps = np.array([row.ts for row in rows])
    found = []
    for point in points:
        low, high = np.searchsorted(stamps, [point.start.timestamp(), point.end.timestamp()])
        found.append(_replace_auc(point, _auc_of(log, rows[low:high])))
    return found, _replace_auc(overall, _auc_of(log, rows))


def _auc_of(log: PredictionLog, rows: Sequence[Logged]) -> Metric:
    if not rows:
        return Metric(None, performance.EMPTY)
    return hours.reading(log).metrics(rows)["auc"]


def _replace_auc(point: Point, auc: Metric) -> Point:
    if "auc" not in point.metrics:
        return point
    metrics = {**point.metrics, "auc": auc}
    return Point(point.start, point.end, point.predicted, point.labeled, metrics)


def _hour_of(at: datetime) -> int:
    return int(at.timestamp() // HOUR) * HOUR


def _hour_at_or_after(at: datetime) -> int:
    return math.ceil(at.timestamp() / HOUR) * HOUR


def _instant(stamp: float) -> datetime:
    return datetime.fromtimestamp(stamp, UTC)
