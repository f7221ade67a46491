"""What an evaluation keeps of a measurement: the buckets, and the SLO's evaluation state
(``evaluated_until`` and ``data_until`` moved forward, the last success or the error), in the
caller's transaction."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from slo_service.domain.blocks import Layout, instant
from slo_service.domain.series import Buckets
from slo_service.models import SLO
from slo_service.repositories import slos as slo_repo
from slo_service.services import buckets
from slo_service.sources.base import Answer, Request, SourceError

log = logging.getLogger("slo_service.services.evaluation")


@dataclass(frozen=True)
class Outcome:
    slo_id: int
    start: datetime | None
    end: datetime | None
    buckets: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


def store(
    session: Session,
    measured: Sequence[tuple[SLO, Request, Answer]],
    *,
    now: datetime,
    layout: Layout,
) -> list[Outcome]:
    """Keep what was measured (one bulk write for all the SLOs) and move each SLO's
    ``evaluated_until``; for an SLO whose source failed, keep only the error."""
    outcomes = keep(session, measured, now=now, layout=layout)
    session.flush()
    return outcomes


def keep(
    session: Session,
    measured: Sequence[tuple[SLO, Request, Answer]],
    *,
    now: datetime,
    layout: Layout,
) -> list[Outcome]:
    """``store``, leaving the SLOs' changes to be flushed with their summaries."""
    outcomes: list[Outcome] = []
    written = {}
    with session.no_autoflush:  # the buckets' queries need none of the SLOs' changes
        for slo, request, answer in measured:
            outcome, changes = _moved(slo, request, answer, now=now)
            for name, value in changes.items():
                setattr(slo, name, value)
            if isinstance(answer, Buckets):
                written[outcome.slo_id] = answer
            outcomes.append(outcome)
            session.add(slo)
        buckets.write_many(session, written, layout=layout, add=False)
    return outcomes


def store_many(
    session: Session,
    measured: Sequence[tuple[slo_repo.Measured, Request, Answer]],
    *,
    now: datetime,
    layout: Layout,
) -> list[Outcome]:
    """``store`` for SLOs read as columns (a cycle's thousands): what moved is written in one
    batched update for the SLOs that were measured and one for those whose source failed."""
    outcomes: list[Outcome] = []
    written = {}
    moved: dict[bool, list[dict[str, object]]] = {True: [], False: []}
    for slo, request, answer in measured:
        outcome, changes = _moved(slo, request, answer, now=now)
        if isinstance(answer, Buckets):
            written[outcome.slo_id] = answer
        outcomes.append(outcome)
        moved[outcome.ok].append({"id": slo.id, **changes})
    for rows in moved.values():
        slo_repo.record_evaluations(session, rows)
    buckets.write_many(session, written, layout=layout, add=False)
    return outcomes


def _moved(
    slo: SLO | slo_repo.Measured, request: Request, answer: Answer, *, now: datetime
) -> tuple[Outcome, dict[str, object]]:
    """What measuring ``request`` did for ``slo``: its outcome, and the SLO's columns to set
    (``evaluated_until`` and ``data_until`` move forward only; a failure sets only the
    error)."""
    assert slo.id is not None
    start, end = instant(request.start), instant(request.end)
    if isinstance(answer, SourceError):
        log.warning("evaluating SLO %s (%s:%s) failed: %s", slo.id, slo.service, slo.name, answer)
        return Outcome(slo.id, start, end, 0, str(answer)), {"last_error": str(answer)}
    data_until = slo.data_until
    if answer.data_until is not None:
        seen = instant(answer.data_until)
        data_until = max(seen, data_until or seen)
    changes: dict[str, object] = {
        "evaluated_until": max(end, slo.evaluated_until or end),
        "data_until": data_until,
        "last_success_at": now,
        "last_error": None,
    }
    return Outcome(slo.id, start, end, answer.count, None), changes
