"""Evaluation: measure the buckets after an SLO's ``evaluated_until`` and store them.

A run reads only new buckets (one query_range per query, pinned, bucket-aligned); a new SLO
backfills its window once. Buckets are stored with replace semantics and ``evaluated_until``
moves in the same transaction, so running a range twice, or crashing and resuming, gives the
numbers of one uninterrupted run. A failing source moves nothing and counts nothing as bad:
the error is kept on the SLO and the next run catches up from where the last one stopped.
"""

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Engine
from sqlmodel import Session

from slo_service.db import session_scope, utcnow
from slo_service.domain.blocks import BLOCK_SECONDS, Layout, epoch, instant
from slo_service.domain.burn import BURN_WINDOWS
from slo_service.domain.series import Buckets
from slo_service.domain.sli import PredictionLogSli, stored_sli
from slo_service.domain.windows import align, parse_window
from slo_service.models import SLO
from slo_service.repositories import slos as slo_repo
from slo_service.services import summaries
from slo_service.services.evaluated import Outcome as Outcome
from slo_service.services.evaluated import keep, store_many
from slo_service.services.evaluated import store as store
from slo_service.sources import prediction_log
from slo_service.sources.base import Answer, NoData, Request, SliSource

log = logging.getLogger(__name__)
PUSH = "push"
_CALENDAR_SPAN = {"month": timedelta(days=31), "week": timedelta(days=7)}
# The most one measurement covers: bounds a backfill's memory and Prometheus's answers (six
# days of minutes are 8,640 points, under its 11,000-point limit for one query_range).
SLICE = timedelta(days=6)
# A batch measures about this many buckets at a time at most, and the next slice is measured
# while one is stored (~250 MB in flight for both): the more SLOs in a batch, the shorter its
# slices.
BATCH_BUCKETS = 2_000_000


def span_to_cover(slo: SLO | slo_repo.Measured) -> timedelta:
    """How far back a first evaluation reaches: the window, and at least the burn windows."""
    window = parse_window(slo.window)
    length = window.length or _CALENDAR_SPAN[str(window.calendar)]
    return max(length, max(BURN_WINDOWS.values()))


def due_until(now: datetime, layout: Layout) -> datetime:
    """The end of the newest bucket to measure: one bucket back, so late scrapes are in."""
    width = timedelta(seconds=layout.bucket_seconds)
    return align(now, width) - width


def pending_range(
    slo: SLO | slo_repo.Measured,
    *,
    now: datetime,
    layout: Layout,
    backfill: timedelta | None = None,
) -> tuple[datetime, datetime] | None:
    """The buckets to measure for ``slo`` now: those after ``evaluated_until`` (the window the
    first time, ``backfill`` more if asked); None when nothing is due."""
    width = timedelta(seconds=layout.bucket_seconds)
    end = due_until(now, layout)
    sli = stored_sli(slo.sli)
    if isinstance(sli, PredictionLogSli):
        # Judged once the labels are due, whole periods at a time, from the start of a day.
        end = instant(prediction_log.due_end(sli, epoch(end)))
        width = timedelta(days=1)
    start = slo.evaluated_until or align(end - span_to_cover(slo), width)
    if backfill is not None:
        start = min(start, align(end - backfill, width))
    return (start, end) if start < end else None


def request_for(slo: SLO | slo_repo.Measured, start: datetime, end: datetime) -> Request:
    assert slo.id is not None
    return Request(
        key=slo.id,
        sli=stored_sli(slo.sli),
        start=epoch(start),
        end=epoch(end),
        no_data=cast(NoData, slo.no_data),
    )


def evaluate(
    session: Session,
    slo: SLO,
    *,
    sources: Mapping[str, SliSource],
    layout: Layout,
    now: datetime | None = None,
    backfill: timedelta | None = None,
) -> Outcome:
    """Measure and store ``slo``'s new buckets (and ``backfill`` more, if given), a slice at
    a time, in the caller's transaction."""
    assert slo.id is not None
    now = now or utcnow()
    pending = pending_range(slo, now=now, layout=layout, backfill=backfill)
    source = sources.get(str(slo.sli.get("source")))
    if slo.sli.get("source") == PUSH:
        summaries.update(session, [slo], now=now, layout=layout)
    if pending is None or source is None:
        if source is not None:
            summaries.update(session, [slo], now=now, layout=layout)
        return Outcome(slo.id, None, None, 0, None)
    start, end = pending
    measured = 0
    for first, last in _slices(start, end):
        request = request_for(slo, first, last)
        answer = source.measure([request], bucket=layout.bucket_seconds)[request.key]
        (outcome,) = store(session, [(slo, request, answer)], now=now, layout=layout)
        if not outcome.ok:
            return outcome
        measured += outcome.buckets
    summaries.update(session, [slo], now=now, layout=layout)
    return Outcome(slo.id, start, end, measured, None)


def _following(
    requests: Mapping[int, Request], ends: Mapping[int, int], step: int
) -> dict[int, Request]:
    """The next slice of each request, up to ``step`` seconds long; none past its SLO's end."""
    return {
        slo_id: replace(r, start=r.end, end=_cut(r.end, step, ends[slo_id]))
        for slo_id, r in requests.items()
        if r.end < ends[slo_id]
    }


def _cut(start: int, step: int, end: int) -> int:
    """Where a slice from ``start`` ends: on a block boundary (so that the next slice appends
    new blocks instead of rewriting the last one), at most ``step`` later, or at ``end``."""
    next_block = start - start % BLOCK_SECONDS + BLOCK_SECONDS
    return min(max(start + step - (start + step) % BLOCK_SECONDS, next_block), end)


def _slices(start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    while start < end:
        last = instant(_cut(epoch(start), int(SLICE.total_seconds()), epoch(end)))
        yield start, last
        start = last


def run_cycle(
    engine: Engine,
    *,
    sources: Mapping[str, SliSource],
    layout: Layout,
    owner: str,
    now: datetime | None = None,
    lease: timedelta = timedelta(minutes=5),
    retry_after: timedelta = timedelta(minutes=1),
    batch: int = 1000,
) -> list[Outcome]:
    """Evaluate every due SLO once: claim a batch under a lease, measure the whole batch a
    slice at a time (so a source shares queries between SLOs, and a backfill's memory stays
    bounded), store each slice in one transaction, the last one in the transaction that
    summarizes the SLOs that succeeded (budget, burn rates, their services' gate state) and
    releases them. A failed SLO keeps its lease until ``retry_after``, so no replica retries
    it within the cycle; a replica that dies leaves leases that expire; long backfills renew
    theirs."""
    cycle = _Cycle(engine, sources, layout, owner, now or utcnow(), lease)
    outcomes: list[Outcome] = []
    seen: set[int] = set()
    while claimed := cycle.claim(batch):
        if again := [i for i in claimed if i in seen]:
            # Due still after this cycle evaluated it (its state is not what evaluation
            # moves): it waits for the next cycle rather than spinning this one.
            log.error("SLOs %s are due again in the cycle that evaluated them", again)
            with session_scope(engine) as session:
                hold = cycle.clock() + retry_after
                slo_repo.release(session, again, owner=owner, hold_until=hold)
            claimed = [i for i in claimed if i not in seen]
            if not claimed:
                continue
        seen.update(claimed)
        results, (requests, answers) = cycle.bring_up_to_date(claimed)
        with session_scope(engine) as session:
            slos = slo_repo.get_many(session, list(results))
            last = [(slos[i], request, answers[i]) for i, request in requests.items() if i in slos]
            for outcome in keep(session, last, now=cycle.now, layout=layout):
                results[outcome.slo_id] = _Cycle.add(outcome, results[outcome.slo_id])
            outcomes += [outcome for outcome in results.values() if outcome is not None]
            ok = {i for i, outcome in results.items() if outcome is not None and outcome.ok}
            done = [i for i in results if i in ok]
            # Whatever did not succeed (failed, or no source for it) waits for a later cycle.
            held = [i for i in results if i not in ok]
            evaluated = [slos[i] for i in done if i in slos]
            summaries.update(session, evaluated, now=cycle.now, layout=layout)
            waiting = [slos[i] for i in held if i in slos]
            summaries.follow_failed(session, waiting, now=cycle.now, layout=layout)
            slo_repo.release(session, done, owner=owner)
            slo_repo.release(session, held, owner=owner, hold_until=cycle.clock() + retry_after)
    return outcomes


class _Cycle:
    def __init__(
        self,
        engine: Engine,
        sources: Mapping[str, SliSource],
        layout: Layout,
        owner: str,
        now: datetime,
        lease: timedelta,
    ) -> None:
        self.engine, self.sources, self.layout = engine, sources, layout
        self.owner, self.now, self.lease = owner, now, lease
        self.due = due_until(now, layout)
        self.started = time.monotonic()

    def clock(self) -> datetime:
        """``now`` moved on by the time this cycle has taken (leases use it)."""
        return self.now + timedelta(seconds=time.monotonic() - self.started)

    def claim(self, limit: int) -> list[int]:
        with session_scope(self.engine) as session:
            return slo_repo.claim_due(
                session,
                due=self.due,
                owner=self.owner,
                now=self.clock(),
                lease=self.lease,
                limit=limit,
            )

    def bring_up_to_date(
        self, ids: Sequence[int]
    ) -> tuple[dict[int, Outcome | None], tuple[dict[int, Request], dict[int, Answer]]]:
        """Measure every SLO of the batch up to ``due``, one slice of all of them at a time,
        the next slice measured while the last one is stored (no transaction open during a
        measurement; each slice stored in one transaction) but for the last slice: it is
        returned, with the outcomes so far, for the cycle to store with the summaries."""
        results: dict[int, Outcome | None] = dict.fromkeys(ids)
        requests, sources, ends = self._pending(ids, results)
        width = timedelta(seconds=self.layout.bucket_seconds)
        slice_ = min(
            SLICE, max(timedelta(hours=1), width * (BATCH_BUCKETS // max(len(requests), 1)))
        )
        step = int(slice_.total_seconds())
        requests = _following(requests, ends, step)
        with ThreadPoolExecutor(1) as measurer:
            measuring = measurer.submit(self._measure, requests, sources)
            while requests:
                answers = measuring.result()
                measured = {i: r for i, r in requests.items() if isinstance(answers[i], Buckets)}
                following = _following(measured, ends, step)
                if not following:
                    return results, (requests, answers)
                measuring = measurer.submit(self._measure, following, sources)
                stored = self._store(requests, answers)
                for outcome in stored:
                    results[outcome.slo_id] = self.add(outcome, results[outcome.slo_id])
                kept = {outcome.slo_id for outcome in stored if outcome.ok}
                requests = {slo_id: r for slo_id, r in following.items() if slo_id in kept}
        return results, ({}, {})

    def _measure(
        self, requests: Mapping[int, Request], sources: Mapping[int, str]
    ) -> dict[int, Answer]:
        by_source: dict[str, list[Request]] = {}
        for slo_id, request in requests.items():
            by_source.setdefault(sources[slo_id], []).append(request)
        answers: dict[int, Answer] = {}
        for name, same_source in by_source.items():
            answers |= self.sources[name].measure(same_source, bucket=self.layout.bucket_seconds)
        return answers

    def _store(
        self, requests: Mapping[int, Request], answers: Mapping[int, Answer]
    ) -> list[Outcome]:
        """Store a slice, renewing the leases of the SLOs still measured (a deleted SLO is
        left out)."""
        with session_scope(self.engine) as session:
            slo_repo.renew(
                session, list(requests), owner=self.owner, until=self.clock() + self.lease
            )
            batch = [
                (slo, requests[slo_id], answers[slo_id])
                for slo_id, slo in slo_repo.measured_many(session, list(requests)).items()
            ]
            return store_many(session, batch, now=self.now, layout=self.layout)

    def _pending(
        self, ids: Sequence[int], results: dict[int, Outcome | None]
    ) -> tuple[dict[int, Request], dict[int, str], dict[int, int]]:
        """For each SLO with something to measure: an empty request where it starts (its
        first slice follows it), its source's name, and the end of its range."""
        requests, sources, ends = {}, {}, {}
        with session_scope(self.engine) as session:
            for slo_id, slo in slo_repo.measured_many(session, ids).items():
                source = str(slo.sli.get("source"))
                if source == PUSH:
                    # Nothing to measure: its buckets are written as events arrive.
                    results[slo_id] = Outcome(slo_id, None, None, 0, None)
                    continue
                span = pending_range(slo, now=self.now, layout=self.layout)
                if source not in self.sources:
                    continue
                if span is None:
                    # Nothing due yet (its labels are not): summarized as of now all the same.
                    results[slo_id] = Outcome(slo_id, None, None, 0, None)
                    continue
                requests[slo_id] = request_for(slo, span[0], span[0])
                sources[slo_id], ends[slo_id] = source, epoch(span[1])
                results[slo_id] = Outcome(slo_id, span[0], span[1], 0, None)
        return requests, sources, ends

    @staticmethod
    def add(outcome: Outcome, so_far: Outcome | None) -> Outcome:
        """One slice's outcome added to the SLO's outcome so far in this cycle."""
        if so_far is None:
            return outcome
        return Outcome(
            outcome.slo_id,
            so_far.start,
            outcome.end,
            so_far.buckets + outcome.buckets,
            outcome.error,
        )
