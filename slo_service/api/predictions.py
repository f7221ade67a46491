"""``/api/v1/predictions/{service}`` and ``/api/v1/labels/{service}``: the prediction log and
its late labels; ``/api/v1/services/{service}/performance``: the metrics made of them."""

import re
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from slo_service.api.deps import Reader, SessionDep, SettingsDep, Writer
from slo_service.db import utcnow
from slo_service.domain.label_delay import Delays
from slo_service.domain.performance import METRICS, MetricName
from slo_service.domain.windows import parse_duration
from slo_service.errors import InvalidInput
from slo_service.schemas.common import DURATION_PATTERN, SLUG_PATTERN, Instant
from slo_service.schemas.errors import error_responses
from slo_service.schemas.predictions import (
    LabelDelay,
    LabelsIn,
    LabelsResult,
    MetricPublic,
    PerformancePoint,
    PerformancePublic,
    PredictionsIn,
    PredictionsResult,
)
from slo_service.services.performance import log as prediction_log
from slo_service.services.performance import series
from slo_service.services.performance.series import Point, Series

router = APIRouter(tags=["performance"], responses=error_responses(401, 403, 409, 413, 422))
Service = Annotated[str, Path(pattern=SLUG_PATTERN, description="The model.")]
DEFAULT_RANGE = timedelta(days=7)


@router.post("/predictions/{service}")
def log_predictions(
    service: Service, body: PredictionsIn, session: SessionDep, settings: SettingsDep,
    _caller: Writer,
) -> PredictionsResult:  # fmt: skip
    """Log a batch of predictions (up to 10,000): stored whole, or refused whole (422) with
    each bad item named; a prediction whose id is logged already is ignored. A label that
    arrived before its prediction is matched now."""
    return prediction_log.log_predictions(
        session, service, body.predictions, task=body.task, positive_class=body.positive_class,
        now=utcnow(), limits=prediction_log.limits_of(settings),
    )  # fmt: skip


@router.post("/labels/{service}")
def log_labels(
    service: Service, body: LabelsIn, session: SessionDep, caller: Writer
) -> LabelsResult:
    """Give logged predictions their labels (up to 10,000 at once): stored whole, or refused
    whole (422) with each bad item named. A second label for a prediction replaces the first
    (counted, and audited); a label for a prediction not logged yet waits for it."""
    return prediction_log.log_labels(session, service, body.labels, now=utcnow(), actor=caller.name)


@router.get("/services/{service}/performance", responses=error_responses(404))
def get_performance(
    service: Service,
    session: SessionDep,
    _caller: Reader,
    start: Annotated[
        Instant | None, Query(alias="from", description="Default: 7 days before `to`.")
    ] = None,
    end: Annotated[Instant | None, Query(alias="to", description="Default: now.")] = None,
    metric: Annotated[
        MetricName | None,
        Query(description=f"One of {', '.join(METRICS)}; default: every one of the task's."),
    ] = None,
    by: Annotated[
        Literal["time", "count"],
        Query(
            description="time: windows of prediction time (whole hours); count: windows of "
            "labeled predictions in prediction order."
        ),
    ] = "time",
    window: Annotated[
        str | None,
        Query(
            max_length=8,
            description="By time a duration of whole hours (default 1h, e.g. 1d); by count a "
            "number of labeled predictions (default 1000).",
        ),
    ] = None,
    step: Annotated[
        str | None,
        Query(
            max_length=8,
            description="How far apart windows start: by time a duration (default: the window), "
            "by count a number of labeled predictions (default: the window).",
        ),
    ] = None,
    model_version: Annotated[
        str | None, Query(max_length=100, description="Only this model version.")
    ] = None,
) -> PerformancePublic:
    """Performance from labels over windows, with label coverage and the label delay seen;
    undefined metrics are null with a reason, never NaN. At most 10,000 points; a count series
    reads at most 200,000 labeled predictions."""
    end = end or utcnow()
    start = start or end - DEFAULT_RANGE
    if start >= end:
        raise InvalidInput.at(("from",), "must be before 'to'")
    if by == "time":
        width = _duration("window", window or "1h")
        stride = _duration("step", step) if step else width
        found = series.by_time(
            session, service, start=start, end=end, window=width, step=stride, metric=metric,
            model_version=model_version,
        )  # fmt: skip
        window_text, step_text = window or "1h", step or window or "1h"
    else:
        size = _count("window", window or "1000")
        every = _count("step", step) if step else size
        found = series.by_count(
            session, service, start=start, end=end, size=size, step=every, metric=metric,
            model_version=model_version,
        )  # fmt: skip
        window_text, step_text = str(size), str(every)
    return _public(found, by, window_text, step_text, model_version)


def _duration(name: str, text: str) -> timedelta:
    if not re.fullmatch(DURATION_PATTERN, text):
        raise InvalidInput.at((name,), f"{text!r} is not a duration such as 1h, 6h or 1d")
    return parse_duration(text)


def _count(name: str, text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 1_000_000:
        raise InvalidInput.at((name,), f"{text!r}: by count, a whole number from 1 to 1000000")
    return int(text)


def _public(
    found: Series, by: Literal["time", "count"], window: str, step: str, version: str | None
) -> PerformancePublic:
    log = found.log
    return PerformancePublic(
        service=log.service,
        task=log.task,
        positive_class=log.positive_class,
        by=by,
        window=window,
        step=step,
        model_version=version,
        points=[_point(p) for p in found.points],
        overall=_point(found.overall),
        label_delay=_delay(found.delays),
    )


def _point(point: Point) -> PerformancePoint:
    return PerformancePoint(
        start=point.start,
        end=point.end,
        predicted=point.predicted,
        labeled=point.labeled,
        coverage=point.coverage,
        metrics={
            name: MetricPublic(value=m.value, reason=m.reason) for name, m in point.metrics.items()
        },
    )


def _delay(delays: Delays) -> LabelDelay:
    p50, p95 = delays.quantile(0.5), delays.quantile(0.95)
    return LabelDelay(
        p50_seconds=None if p50 is None else round(p50),
        p95_seconds=None if p95 is None else round(p95),
        labels=delays.count,
    )
