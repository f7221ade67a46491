"""The prediction log: logged predictions, labels waiting for theirs, and the hourly figures
made of them. A batch is thousands of rows, so on Postgres they move by COPY or as arrays (one
statement each way), on SQLite as batched statements.

Long because every statement of the prediction log is here, side by side: the ingest, the
hourly figures, the reads of the series and of prediction drift, and pruning share the
tables and their indexes, and reading them together shows what each index serves."""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import NamedTuple

import orjson
from sqlalchemy import bindparam, delete, func, update
from sqlalchemy import select as plain
from sqlmodel import Session, col, select

from slo_service.db import utcnow
from slo_service.models import (
    DriftReference,
    PendingLabel,
    PerformanceHour,
    Prediction,
    PredictionLog,
)
from slo_service.repositories._bulk import among, dialect_insert, postgres


def log_of(session: Session, service: str) -> PredictionLog | None:
    return session.get(PredictionLog, service)


def open_log(
    session: Session, service: str, *, task: str, positive_class: str | None
) -> PredictionLog:
    """The service's log, made with ``task`` unless another request made it first (then
    theirs stands: the caller checks it)."""
    session.execute(
        dialect_insert(session)(PredictionLog)
        .values(service=service, task=task, positive_class=positive_class, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["service"])
    )
    return session.exec(
        select(PredictionLog).where(PredictionLog.service == service).with_for_update()
    ).one()


class Logged(NamedTuple):
    """A logged prediction as the performance figures read it, with its label if any."""

    prediction_id: str
    ts: float
    model_version: str
    predicted: str | None
    predicted_value: float | None
    score: float | None
    scores: dict[str, float] | None
    label: str | None
    label_value: float | None
    labeled_at: float | None


_LOGGED = [col(getattr(Prediction, name)) for name in Logged._fields]
_NEW = Logged._fields[:7]  # what a new prediction has: no label yet
_SCORES = _NEW.index("scores")
# On Postgres a batch is copied into a temporary table (emptied at commit), then inserted
# from it in one statement: COPY moves the rows faster than any parameters.
_INCOMING = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS prediction_incoming (LIKE prediction) "
    "ON COMMIT DELETE ROWS"
)
_COPY_INCOMING = (
    "COPY prediction_incoming (service, prediction_id, ts, model_version, predicted, "
    "predicted_value, score, scores, labels) FROM STDIN"
)
_INSERT_INCOMING = (
    "INSERT INTO prediction SELECT * FROM prediction_incoming "
    "ON CONFLICT (service, prediction_id) DO NOTHING RETURNING prediction_id"
)


def insert_new(session: Session, service: str, rows: Sequence[Logged]) -> set[str]:
    """Insert the predictions (unlabeled: their ``_NEW`` fields) whose id the service has not
    logged yet; return the ids inserted."""
    if not rows:
        return set()
    driver = postgres(session)
    if driver is not None:
        with driver.cursor() as cursor:
            cursor.execute(_INCOMING)
            with cursor.copy(_COPY_INCOMING) as copy:
                for row in rows:
                    scores = None if row.scores is None else orjson.dumps(row.scores).decode()
                    copy.write_row((service, *row[:_SCORES], scores, 0))
            cursor.execute(_INSERT_INCOMING)
            inserted = {prediction_id for (prediction_id,) in cursor.fetchall()}
            cursor.execute(
                "DELETE FROM prediction_incoming"
            )  # a batch may follow in this transaction
            return inserted
    values = [
        {"service": service, "labels": 0, **{name: row[i] for i, name in enumerate(_NEW)}}
        for row in rows
    ]
    statement = (
        dialect_insert(session)(Prediction)
        .on_conflict_do_nothing(index_elements=["service", "prediction_id"])
        .returning(col(Prediction.prediction_id))
    )
    return {prediction_id for (prediction_id,) in session.execute(statement, values)}


def for_labeling(session: Session, service: str, ids: Sequence[str]) -> dict[str, Logged]:
    """The logged predictions among ``ids``, locked until the transaction ends (two batches
    labeling one prediction take turns), by id."""
    if not ids:
        return {}
    driver = postgres(session)
    if driver is not None:
        # Joined to the ids unnested (see ``take_pending``).
        with driver.cursor() as cursor:
            cursor.execute(_FOR_LABELING, [list(ids), service])
            return {row[0]: Logged(*row) for row in cursor.fetchall()}
    statement = (
        plain(*_LOGGED)
        .where(
            col(Prediction.service) == service, among(session, col(Prediction.prediction_id), ids)
        )
        .with_for_update()
    )
    return {row.prediction_id: Logged(*row) for row in session.execute(statement)}


_FOR_LABELING = (
    f"SELECT {', '.join(f'p.{name}' for name in Logged._fields)} FROM prediction AS p "
    "JOIN unnest(%s::text[]) AS v(prediction_id) ON p.prediction_id = v.prediction_id "
    "WHERE p.service = %s FOR UPDATE OF p"
)


class Labeling(NamedTuple):
    """A label to give a logged prediction, and how many labels it counts for."""

    prediction_id: str
    label: str | None
    label_value: float | None
    labeled_at: float
    labels: int


def set_labels(session: Session, service: str, labels: Sequence[Labeling]) -> None:
    """Give each prediction its label, and add to the labels it counts."""
    if not labels:
        return
    driver = postgres(session)
    if driver is not None:
        with driver.cursor() as cursor:
            columns = [list(column) for column in zip(*labels, strict=True)]
            cursor.execute(_SET_LABELS, [*columns, service])
        return
    statement = (
        update(Prediction)
        .where(
            col(Prediction.service) == service,
            col(Prediction.prediction_id) == bindparam("key"),
        )
        .values(
            label=bindparam("new_label"),
            label_value=bindparam("new_label_value"),
            labeled_at=bindparam("new_labeled_at"),
            labels=col(Prediction.labels) + bindparam("added"),
        )
    )
    session.connection().execute(
        statement,
        [
            {"key": i, "new_label": t, "new_label_value": v, "new_labeled_at": at, "added": n}
            for i, t, v, at, n in labels
        ],
    )


_SET_LABELS = (
    "UPDATE prediction AS p SET label = v.label, label_value = v.label_value, "
    "labeled_at = v.labeled_at, labels = p.labels + v.labels "
    "FROM unnest(%s::text[], %s::text[], %s::float8[], %s::float8[], %s::integer[]) "
    "AS v(prediction_id, label, label_value, labeled_at, labels) "
    "WHERE p.service = %s AND p.prediction_id = v.prediction_id"
)


def keep_pending(
    session: Session, service: str, labels: Sequence[Labeling], *, received_at: datetime
) -> None:
    """Keep labels whose prediction is not logged yet; a later label for the same id replaces
    the one waiting and adds to its count."""
    if not labels:
        return
    insert_ = dialect_insert(session)(PendingLabel)
    statement = insert_.on_conflict_do_update(
        index_elements=["service", "prediction_id"],
        set_={
            "label": insert_.excluded.label,
            "label_value": insert_.excluded.label_value,
            "labeled_at": insert_.excluded.labeled_at,
            "labels": col(PendingLabel.labels) + insert_.excluded.labels,
            "received_at": insert_.excluded.received_at,
        },
    )
    session.execute(
        statement,
        [{"service": service, **label._asdict(), "received_at": received_at} for label in labels],
    )


_TAKE_PENDING = (
    "DELETE FROM pending_label AS p USING unnest(%s::text[]) AS v(prediction_id) "
    "WHERE p.service = %s AND p.prediction_id = v.prediction_id "
    "RETURNING p.prediction_id, p.label, p.label_value, p.labeled_at, p.labels"
)


def take_pending(session: Session, service: str, ids: Sequence[str]) -> list[Labeling]:
    """Remove and return the labels that waited for the predictions ``ids``."""
    if not ids:
        return []
    driver = postgres(session)
    if driver is not None:
        # Joined to the ids unnested, not ``= ANY``: a table that grew faster than autovacuum
        # analyzed it looks small to the planner, and a scan of it tested every row against
        # all 10,000 ids (1.5 to 4 s a batch at a million rows, not 0.3).
        with driver.cursor() as cursor:
            cursor.execute(_TAKE_PENDING, [list(ids), service])
            return [Labeling(*row) for row in cursor.fetchall()]
    statement = (
        delete(PendingLabel)
        .where(
            col(PendingLabel.service) == service,
            among(session, col(PendingLabel.prediction_id), ids),
        )
        .returning(*(col(getattr(PendingLabel, name)) for name in Labeling._fields))
    )
    return [Labeling(*row) for row in session.execute(statement)]


def hours_for_update(
    session: Session, service: str, keys: Iterable[tuple[str, int]]
) -> dict[tuple[str, int], PerformanceHour]:
    """The hourly figures of ``keys`` (model version, hour), made empty where missing and
    locked in key order until the transaction ends (so concurrent batches never deadlock)."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    session.execute(
        dialect_insert(session)(PerformanceHour).on_conflict_do_nothing(
            index_elements=["service", "model_version", "hour"]
        ),
        [{"service": service, "model_version": v, "hour": h, "predicted": 0, "labeled": 0}
         for v, h in wanted],
    )  # fmt: skip
    versions = sorted({version for version, _ in wanted})
    hours = sorted({hour for _, hour in wanted})
    rows = session.exec(
        select(PerformanceHour)
        .where(
            PerformanceHour.service == service,
            col(PerformanceHour.model_version).in_(versions),
            col(PerformanceHour.hour) >= hours[0],
            col(PerformanceHour.hour) <= hours[-1],
        )
        .order_by(col(PerformanceHour.model_version), col(PerformanceHour.hour))
        .with_for_update()
    ).all()
    return {(row.model_version, row.hour): row for row in rows}


def hours_between(
    session: Session, service: str, first: int, last: int, *, model_version: str | None
) -> Sequence[PerformanceHour]:
    """The service's hourly figures from hour ``first`` to ``last`` (epoch seconds), by hour."""
    statement = select(PerformanceHour).where(
        PerformanceHour.service == service,
        col(PerformanceHour.hour) >= first,
        col(PerformanceHour.hour) <= last,
    )
    if model_version is not None:
        statement = statement.where(PerformanceHour.model_version == model_version)
    return session.exec(statement.order_by(col(PerformanceHour.hour))).all()


def labeled_between(
    session: Session,
    service: str,
    start: float,
    end: float,
    *,
    model_version: str | None,
    limit: int,
) -> list[Logged]:
    """Labeled predictions made in ``[start, end)``, oldest first, at most ``limit``."""
    statement = plain(*_LOGGED).where(
        col(Prediction.service) == service,
        col(Prediction.ts) >= start,
        col(Prediction.ts) < end,
        col(Prediction.labeled_at).is_not(None),
    )
    if model_version is not None:
        statement = statement.where(col(Prediction.model_version) == model_version)
    statement = statement.order_by(col(Prediction.ts), col(Prediction.prediction_id)).limit(limit)
    return [Logged(*row) for row in session.execute(statement)]


def counts_between(
    session: Session, service: str, start: int, end: int, *, model_version: str | None
) -> tuple[int, int]:
    """Predictions logged and labeled in the hours from ``start`` to ``end`` (whole hours)."""
    statement = plain(
        func.coalesce(func.sum(PerformanceHour.predicted), 0),
        func.coalesce(func.sum(PerformanceHour.labeled), 0),
    ).where(
        col(PerformanceHour.service) == service,
        col(PerformanceHour.hour) >= start,
        col(PerformanceHour.hour) < end,
    )
    if model_version is not None:
        statement = statement.where(col(PerformanceHour.model_version) == model_version)
    predicted, labeled = session.execute(statement).one()
    return int(predicted), int(labeled)


def labeled_before(
    session: Session, service: str, before: float, *, limit: int, model_version: str | None
) -> list[Logged]:
    """The last ``limit`` labeled predictions made before ``before``, oldest first."""
    statement = plain(*_LOGGED).where(
        col(Prediction.service) == service,
        col(Prediction.ts) < before,
        col(Prediction.labeled_at).is_not(None),
    )
    if model_version is not None:
        statement = statement.where(col(Prediction.model_version) == model_version)
    order = (col(Prediction.ts).desc(), col(Prediction.prediction_id).desc())
    rows = session.execute(statement.order_by(*order).limit(limit))
    return [Logged(*row) for row in reversed(rows.all())]


def made_between(session: Session, service: str, start: float, end: float) -> list[Logged]:
    """Every prediction made in ``[start, end)``, labeled or not (an hour: some 40,000 at a
    million a day)."""
    statement = plain(*_LOGGED).where(
        col(Prediction.service) == service, col(Prediction.ts) >= start, col(Prediction.ts) < end
    )
    return [Logged(*row) for row in session.execute(statement)]


def first_hour(session: Session, service: str) -> int | None:
    """The first hour the service logged predictions in (epoch seconds), None before any."""
    first: int | None = session.exec(
        select(func.min(PerformanceHour.hour)).where(
            PerformanceHour.service == service, col(PerformanceHour.predicted) > 0
        )
    ).one()
    return first


def last_hour(session: Session, service: str) -> int | None:
    """The last hour the service logged predictions in (epoch seconds), None before any."""
    last: int | None = session.exec(
        select(func.max(PerformanceHour.hour)).where(
            PerformanceHour.service == service, col(PerformanceHour.predicted) > 0
        )
    ).one()
    return last


def unlabeled_hours(session: Session, service: str, *, before: int) -> list[int]:
    """The hours before ``before`` with predictions and no label yet, in order."""
    statement = (
        plain(col(PerformanceHour.hour))
        .where(
            col(PerformanceHour.service) == service,
            col(PerformanceHour.hour) < before,
            col(PerformanceHour.predicted) > 0,
        )
        .group_by(col(PerformanceHour.hour))
        .having(func.sum(PerformanceHour.labeled) == 0)
        .order_by(col(PerformanceHour.hour))
    )
    return list(session.execute(statement).scalars())


def services_with_reference(session: Session, subject: str) -> list[str]:
    """Services that log predictions and have a drift reference of ``subject``."""
    statement = (
        plain(col(PredictionLog.service))
        .where(
            col(PredictionLog.service).in_(
                plain(col(DriftReference.service)).where(col(DriftReference.subject) == subject)
            )
        )
        .order_by(col(PredictionLog.service))
    )
    return list(session.execute(statement).scalars())


def log_for_drift(session: Session, service: str) -> PredictionLog | None:
    """The service's log, locked until the transaction ends; None when another transaction
    holds it (Postgres: it is being measured elsewhere) or there is none."""
    return session.exec(
        select(PredictionLog)
        .where(PredictionLog.service == service)
        .with_for_update(skip_locked=True)
    ).first()


def prune(session: Session, *, before: float, pending_before: datetime) -> tuple[int, int]:
    """Drop predictions made before ``before`` (epoch seconds), the figures of the hours that
    ended by then, and labels that waited since before ``pending_before``; how many
    predictions and labels went. Service by service: each delete walks its (service, ts)
    index."""
    services = session.execute(plain(col(PredictionLog.service))).scalars().all()
    predictions = 0
    for service in services:
        gone = session.execute(
            delete(Prediction).where(
                col(Prediction.service) == service, col(Prediction.ts) < before
            )
        )
        predictions += int(gone.rowcount)  # type: ignore[attr-defined]
        session.execute(
            delete(PerformanceHour).where(
                col(PerformanceHour.service) == service, col(PerformanceHour.hour) <= before - 3600
            )
        )
    pending = session.execute(
        delete(PendingLabel).where(col(PendingLabel.received_at) < pending_before)
    )
    return predictions, int(pending.rowcount)  # type: ignore[attr-defined]
