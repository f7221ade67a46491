"""Evaluation: measure the buckets after an SLO's ``evaluated_until`` and store them.

A run reads only new buckets (one query_range per query, pinned, bucket-aligned); a new SLO
backfills its window once. Buckets are stored with replace semantics and ``evaluated_until``
moves in the same transaction, so running a range twice, or crashing and resuming, gives the
numbers of one uninterrupted run. A failing source moves nothing and counts nothing as bad:
the error is kept on the SLO and the next run catches up from where the last one stopped.
"""

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Engine
from sqlmodel import Session

from slo_service.db import session_scope, utcnow
from slo_service.domain.blocks import Layout, epoch, instant
from slo_service.domain.burn import BURN_WINDOWS
from slo_service.domain.sli import SLI_ADAPTER
from slo_service.domain.windows import align, parse_window
from slo_service.models import SLO
from slo_service.repositories import slos as slo_repo
from slo_service.services import buckets
from slo_service.sources.base import Answer, NoData, Request, SliSource, SourceError

log = logging.getLogger(__name__)

_CALENDAR_SPAN = {"month": timedelta(days=31), "week": timedelta(days=7)}


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


def span_to_cover(slo: SLO) -> timedelta:
    """How far back a first evaluation reaches: the window, and at least the burn windows."""
    window = parse_window(slo.window)
    length = window.length or _CALENDAR_SPAN[str(window.calendar)]
    return max(length, max(BURN_WINDOWS.values()))


def due_until(now: datetime, layout: Layout) -> datetime:
    """The end of the newest bucket to measure: one bucket back, so late scrapes are in."""
    width = timedelta(seconds=layout.bucket_seconds)
    return align(now, width) - width


def request_for(
    slo: SLO, *, now: datetime, layout: Layout, backfill: timedelta | None = None
) -> Request | None:
    """What to measure for ``slo`` now: the buckets after ``evaluated_until`` (the window the
    first time, ``backfill`` more if asked); None when nothing is due."""
    assert slo.id is not None
    width = timedelta(seconds=layout.bucket_seconds)
    end = due_until(now, layout)
    start = slo.evaluated_until or end - span_to_cover(slo)
    if backfill is not None:
        start = min(start, align(end - backfill, width))
    if start >= end:
        return None
    return Request(
        key=slo.id,
        sli=SLI_ADAPTER.validate_python(slo.sli),
        start=epoch(start),
        end=epoch(end),
        no_data=cast(NoData, slo.no_data),
    )


def store(
    session: Session, slo: SLO, request: Request, answer: Answer, *, now: datetime, layout: Layout
) -> Outcome:
    """Keep what was measured and move ``evaluated_until``; or keep only the error."""
    assert slo.id is not None
    start, end = instant(request.start), instant(request.end)
    if isinstance(answer, SourceError):
        log.warning("evaluating SLO %s (%s:%s) failed: %s", slo.id, slo.service, slo.name, answer)
        slo.last_error = str(answer)
        session.add(slo)
        return Outcome(slo.id, start, end, 0, str(answer))
    buckets.write(session, slo.id, answer, layout=layout, add=False)
    slo.evaluated_until = max(end, slo.evaluated_until or end)
    slo.last_success_at = now
    slo.last_error = None
    session.add(slo)
    session.flush()
    return Outcome(slo.id, start, end, len(answer), None)


def evaluate(
    session: Session,
    slo: SLO,
    *,
    sources: Mapping[str, SliSource],
    layout: Layout,
    now: datetime | None = None,
    backfill: timedelta | None = None,
) -> Outcome:
    """Measure and store ``slo``'s new buckets (and ``backfill`` more, if given)."""
    assert slo.id is not None
    now = now or utcnow()
    request = request_for(slo, now=now, layout=layout, backfill=backfill)
    source = sources.get(str(slo.sli.get("source")))
    if request is None or source is None:
        return Outcome(slo.id, None, None, 0, None)
    answer = source.measure([request], bucket=layout.bucket_seconds)[request.key]
    return store(session, slo, request, answer, now=now, layout=layout)


def run_cycle(
    engine: Engine,
    *,
    sources: Mapping[str, SliSource],
    layout: Layout,
    owner: str,
    now: datetime | None = None,
    lease: timedelta = timedelta(minutes=5),
    retry_after: timedelta = timedelta(minutes=1),
    batch: int = 500,
) -> list[Outcome]:
    """Evaluate every due SLO once: claim a batch under a lease, measure the batch together
    (so a source can share queries), store each SLO in its own transaction, release. A failed
    SLO keeps its lease until ``retry_after``, so no replica retries it within the cycle; a
    replica that dies leaves leases that expire."""
    now = now or utcnow()
    due = due_until(now, layout)
    outcomes: list[Outcome] = []
    while True:
        with session_scope(engine) as session:
            claimed = slo_repo.claim_due(
                session, due=due, owner=owner, now=now, lease=lease, limit=batch
            )
            rows = [slo for slo_id in claimed if (slo := slo_repo.get(session, slo_id))]
        if not claimed:
            return outcomes
        answers = _measure(rows, sources=sources, layout=layout, now=now)
        for slo_id in claimed:
            with session_scope(engine) as session:
                slo = slo_repo.get(session, slo_id)
                outcome = None
                if slo is not None and slo_id in answers:
                    request, answer = answers[slo_id]
                    outcome = store(session, slo, request, answer, now=now, layout=layout)
                    outcomes.append(outcome)
                # Whatever did not succeed (failed, or no source for it) waits for a later cycle.
                hold = None if outcome is not None and outcome.ok else now + retry_after
                slo_repo.release(session, slo_id, owner=owner, hold_until=hold)


def _measure(
    rows: Sequence[SLO], *, sources: Mapping[str, SliSource], layout: Layout, now: datetime
) -> dict[int, tuple[Request, Answer]]:
    """Each source measures all of its SLOs' requests at once."""
    by_source: dict[str, list[Request]] = {}
    for slo in rows:
        request = request_for(slo, now=now, layout=layout)
        if request is not None and str(slo.sli.get("source")) in sources:
            by_source.setdefault(str(slo.sli.get("source")), []).append(request)
    answers: dict[int, tuple[Request, Answer]] = {}
    for name, requests in by_source.items():
        measured = sources[name].measure(requests, bucket=layout.bucket_seconds)
        answers.update((r.key, (r, measured[r.key])) for r in requests)
    return answers
