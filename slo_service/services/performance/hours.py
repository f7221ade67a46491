"""The hourly figures of a service's prediction log, kept as predictions and labels land: per
model version and hour of prediction, how many predictions were logged and labeled, the tally
of the labeled ones and their label delays. A label that replaces another takes the old one's
share out before it adds its own, so the figures always equal those of the rows as stored."""

from collections import Counter
from collections.abc import Iterable, Sequence

from sqlmodel import Session

from slo_service.domain.label_delay import Delays
from slo_service.domain.labeled import Reading, Tally
from slo_service.models import PerformanceHour, PredictionLog
from slo_service.repositories import predictions as prediction_repo
from slo_service.repositories.predictions import Logged

HOUR = 3600


def hour_of(ts: float) -> int:
    return int(ts // HOUR) * HOUR


def update(
    session: Session,
    log: PredictionLog,
    *,
    predicted: Iterable[tuple[str, float]] = (),
    labeled: Sequence[Logged] = (),
    unlabeled: Sequence[Logged] = (),
) -> None:
    """Count new predictions (model version, prediction time), add the labeled predictions
    ``labeled`` and take out ``unlabeled`` (the same predictions with the labels they had)."""
    logged = Counter((version, hour_of(ts)) for version, ts in predicted)
    added = _by_hour(labeled)
    removed = _by_hour(unlabeled)
    rows = prediction_repo.hours_for_update(
        session, log.service, set(logged) | set(added) | set(removed)
    )
    for key, row in rows.items():
        row.predicted += logged.get(key, 0)
        tally, delays = stored(log, row)
        for rows_, sign in ((removed.get(key, []), -1), (added.get(key, []), 1)):
            if not rows_:
                continue
            row.labeled += sign * len(rows_)
            change, change_delays = reading(log).tally(rows_), delays_of(rows_)
            if sign > 0:
                tally = change if tally is None else tally + change  # type: ignore[operator]
                delays = delays + change_delays
            else:
                assert tally is not None  # what is taken out was added before
                tally = tally - change  # type: ignore[operator]
                delays = delays - change_delays
        row.tally = None if tally is None else dict(tally.to_json())
        row.delays = delays.to_json()
        session.add(row)


def reading(log: PredictionLog) -> Reading:
    """How the log's labeled predictions are measured."""
    return Reading(log.task, log.positive_class)  # type: ignore[arg-type]


def stored(log: PredictionLog, row: PerformanceHour) -> tuple[Tally | None, Delays]:
    """An hour's tally (None before any label) and label delays, as kept."""
    delays = Delays.from_json(row.delays)
    return (None if row.tally is None else reading(log).stored(row.tally)), delays


def _by_hour(rows: Sequence[Logged]) -> dict[tuple[str, int], list[Logged]]:
    found: dict[tuple[str, int], list[Logged]] = {}
    for row in rows:
        found.setdefault((row.model_version, hour_of(row.ts)), []).append(row)
    return found


def delays_of(rows: Sequence[Logged]) -> Delays:
    return Delays.of(float(row.labeled_at or 0.0) - row.ts for row in rows)
