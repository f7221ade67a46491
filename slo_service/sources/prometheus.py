"""Measuring SLIs from Prometheus over bucket-aligned ranges (``PrometheusSource``).

Every query is pinned to explicit times. The value Prometheus gives at the mark ``t`` for
``increase(x[B])`` is the count of the bucket ``[t - B, t)``: a range's buckets are read at the
marks that close them, ``start + B, ..., end``, as one array per series.
"""

import logging
import math
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import numpy as np

from slo_service.domain.promql import parse_selector
from slo_service.domain.series import Buckets, Floats
from slo_service.domain.sli import LatencySli, RatioSli, SliSpec, ThresholdSli
from slo_service.sources import plan
from slo_service.sources.base import Answer, Request, SourceError
from slo_service.sources.datasources import Access
from slo_service.sources.plan import Need
from slo_service.sources.prometheus_http import Health, Labels, PrometheusApi

log = logging.getLogger(__name__)

# Prometheus refuses a query_range of more than 11,000 points.
MAX_POINTS = 10_000


class SeveralSeries(SourceError):
    """A query that must give one series gave several: the error names the SLI's field."""


def split_histogram(histogram: str) -> tuple[str, str]:
    """``name{a="b"}`` → (``name``, ``a="b"``)."""
    name, _, matchers = histogram.partition("{")
    return name, matchers.rstrip().removesuffix("}")


def selector(name: str, *matchers: str) -> str:
    inside = ",".join(m for m in matchers if m)
    return f"{name}{{{inside}}}" if inside else name


class PrometheusSource:
    """Measures ratio, latency and threshold SLIs; requests over the same range share queries
    (``sources.plan``), one query_range per query and chunk of at most 10,000 points, a few
    queries in flight at once (Prometheus evaluates each on one core)."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float,
        retries: int = 1,
        concurrency: int = 2,
        access: Access | None = None,
        health: Health | None = None,
    ) -> None:
        """``access`` (a datasource's) replaces ``url`` and ``timeout`` when given."""
        self.api = PrometheusApi(
            url, timeout=timeout, retries=retries, access=access, health=health
        )
        self.concurrency = concurrency  # queries in flight at once in a round

    def measure(self, requests: Sequence[Request], *, bucket: int) -> dict[int, Answer]:
        self.api.reset()
        by_range: dict[tuple[int, int], list[Request]] = defaultdict(list)
        for request in requests:
            by_range[request.start, request.end].append(request)
        answers: dict[int, Answer] = {}
        for (start, end), same_range in by_range.items():
            answers |= _Round(self, start, end, bucket).run(same_range)
        return answers

    def latest(self, query: str, *, at: int) -> float | None:
        self.api.reset()
        found = self.api.range(query, at, at, 60)
        if len(found) > 1:
            raise SourceError(f"{query} returned {len(found)} series; it must return one")
        if not found or not len(found[0][1]):
            return None
        return float(found[0][1][-1, 1])

    def series(self, query: str, first: int, last: int, step: int) -> list[tuple[Labels, Floats]]:
        """Every series of ``query`` at the marks ``first, first + step, ..., last``: one
        array each, NaN at the marks without a value."""
        marks = (last - first) // step + 1
        found: dict[tuple[tuple[str, str], ...], Floats] = {}
        for chunk in range(first, last + 1, step * MAX_POINTS):
            chunk_last = min(last, chunk + step * (MAX_POINTS - 1))
            offset = (chunk - first) // step
            for labels, chunk_values in self.api.range_marks(query, chunk, chunk_last, step):
                values = found.setdefault(tuple(sorted(labels.items())), np.full(marks, np.nan))
                values[offset : offset + len(chunk_values)] = chunk_values
        return [(dict(labels), values) for labels, values in found.items()]


def _counter_of(sli: SliSpec) -> str:
    """The selector that counts all events of an occurrences SLI."""
    if isinstance(sli, RatioSli):
        return sli.total
    assert isinstance(sli, LatencySli)
    name, matchers = split_histogram(sli.histogram)
    return selector(f"{name}_count", matchers)


class _Round:
    """Measuring a set of requests over one range: plan the needs, fetch each group and lone
    query once, and assemble every request's values from the answers."""

    def __init__(self, source: PrometheusSource, start: int, end: int, bucket: int) -> None:
        self.source, self.start, self.end, self.bucket = source, start, end, bucket
        self.groups: dict[str, set[str]] = defaultdict(set)
        self.alone: set[str] = set()
        self.fetched: dict[object, Floats | SourceError | None] = {}  # None: no such series
        self.marks = 0  # how many marks the last fetch asked for
        self.bounds: dict[tuple[str, str], set[str] | SourceError] = {}

    def run(self, requests: Sequence[Request]) -> dict[int, Answer]:
        answers: dict[int, Answer] = {}
        needs: dict[int, dict[str, Need]] = {}
        self._load_bounds(requests)
        for request in requests:
            try:
                planned = self._plan(request.sli)
            except SourceError as exc:
                answers[request.key] = exc
                continue
            if planned is None:
                answers[request.key] = Buckets.empty(self.start, self.bucket)
                continue
            needs[request.key] = planned
            for need in planned.values():
                if need.group is not None and need.model is not None:
                    self.groups[need.group].add(need.model)
                else:
                    self.alone.add(need.alone)
        self._fetch()
        silent: list[Request] = []
        for request in requests:
            if request.key in needs:
                answers[request.key] = self._assemble(request, needs[request.key])
                answer = answers[request.key]
                quiet = isinstance(answer, Buckets) and answer.count == 0
                if quiet and not isinstance(request.sli, ThresholdSli):
                    silent.append(request)
        answers |= self._explain_silences(silent)
        return answers

    def _explain_silences(self, requests: Sequence[Request]) -> dict[int, Answer]:
        """A counter with samples but no per-bucket increase is scraped too seldom for the
        bucket (``increase()`` needs two samples in it): say so rather than report no data.
        One sample count per metric for all the silent SLIs."""
        span = self.end - self.start
        needs = {request.key: plan.samples(_counter_of(request.sli), span) for request in requests}
        self.groups.clear()
        self.alone.clear()
        for need in needs.values():
            if need.group is not None and need.model is not None:
                self.groups[need.group].add(need.model)
            else:
                self.alone.add(need.alone)
        self._fetch(first=self.end)
        explained: dict[int, Answer] = {}
        buckets = span // self.bucket
        for key, need in needs.items():
            try:
                (found,) = np.nan_to_num(self._answer("total", need))
            except SourceError as exc:
                explained[key] = exc
                continue
            # Ten samples without one increase is no edge effect of a range's first bucket.
            if 10 <= found < 2 * buckets:
                explained[key] = SourceError(
                    f"total: {found:.0f} samples in {buckets} buckets of {self.bucket} s: the "
                    "metric is scraped less than twice per bucket, so increase() sees nothing; "
                    "scrape it more often or raise SLO_BUCKET_SECONDS"
                )
        return explained

    def _plan(self, sli: SliSpec) -> dict[str, Need] | None:
        if isinstance(sli, RatioSli):
            counted = ("good", sli.good) if sli.good is not None else ("bad", sli.bad)
            assert counted[1] is not None
            return {
                "total": plan.increase(sli.total, self.bucket),
                counted[0]: plan.increase(counted[1], self.bucket),
            }
        if isinstance(sli, LatencySli):
            name, matchers = split_histogram(sli.histogram)
            le = self._le_bound(sli)
            if le is None:
                return None
            return {
                "total": plan.increase(selector(f"{name}_count", matchers), self.bucket),
                "good": plan.increase(
                    selector(f"{name}_bucket", matchers), self.bucket, f'le="{le}"'
                ),
            }
        if isinstance(sli, ThresholdSli):
            return {"query": plan.instant(sli.query)}
        raise SourceError(f"Prometheus cannot measure a {sli.source} SLI")

    def _load_bounds(self, requests: Sequence[Request]) -> None:
        """Read the ``le`` bounds of every histogram the requests use, one series lookup per
        histogram for all models (a model's own bounds count, not another model's)."""
        groups: dict[str, set[str]] = defaultdict(set)
        for request in requests:
            if isinstance(request.sli, LatencySli):
                model, shared = self._bucket_selector(request.sli)
                groups[shared if model is None else plan.shared_selector(shared)].add(model or "")
        for match, models in groups.items():
            selector = plan.render_group(match, models) if plan.is_group(match) else match
            try:
                found = self.source.api.series(selector, self.start, self.end)
            except SourceError as exc:
                self.bounds.update(((match, m), exc) for m in models)
                continue
            for labels in found:
                key = (match, labels.get(plan.MODEL_LABEL, "") if plan.is_group(match) else "")
                bounds = self.bounds.setdefault(key, set())
                if isinstance(bounds, set) and "le" in labels:
                    bounds.add(labels["le"])

    def _bucket_selector(self, sli: LatencySli) -> tuple[str | None, str]:
        name, matchers = split_histogram(sli.histogram)
        model, rest = plan.split_model(parse_selector(selector(f"{name}_bucket", matchers)))
        return model, rest.render() if model is not None else selector(f"{name}_bucket", matchers)

    def _le_bound(self, sli: LatencySli) -> str | None:
        """The ``le`` label text equal to the threshold (matched as text by Prometheus, so
        ``0.5`` is not ``0.50``); None when the histogram has no series in the range."""
        model, shared = self._bucket_selector(sli)
        key = (shared if model is None else plan.shared_selector(shared), model or "")
        bounds = self.bounds.get(key, set())
        if isinstance(bounds, SourceError):
            raise bounds
        if not bounds:
            return None
        for bound in bounds:
            if bound != "+Inf" and math.isclose(float(bound), sli.threshold_seconds, rel_tol=1e-9):
                return bound
        listed = ", ".join(sorted(bounds, key=float))
        name = split_histogram(sli.histogram)[0]
        raise SourceError(
            f"histogram: {name} has no le bound at {sli.threshold_seconds} s; its bounds are "
            f"{listed}: set the threshold to one of them"
        )

    def _fetch(self, first: int | None = None) -> None:
        """Ask each group and lone query once, at the marks from ``first`` to the end."""
        first, last = first or self.start + self.bucket, self.end
        self.marks = (last - first) // self.bucket + 1
        queries = [plan.render_group(group, models) for group, models in self.groups.items()]
        queries += self.alone
        with ThreadPoolExecutor(self.source.concurrency) as pool:
            found = dict(
                zip(queries, pool.map(partial(self._series, first, last), queries), strict=True)
            )
        for group, models in self.groups.items():
            series = found[plan.render_group(group, models)]
            if isinstance(series, SourceError):
                self.fetched.update(((group, model), series) for model in models)
                continue
            by_model = {labels.get(plan.MODEL_LABEL): marks for labels, marks in series}
            self.fetched.update(((group, m), by_model.get(m)) for m in models)
        for query in self.alone:
            series = found[query]
            if isinstance(series, SourceError):
                self.fetched[query] = series
            elif len(series) > 1:
                labels = "; ".join(str(labels) for labels, _ in series[:3])
                self.fetched[query] = SeveralSeries(
                    f"the query returns {len(series)} series where one is expected ({labels}); "
                    "aggregate it, e.g. with sum() or max()"
                )
            else:
                self.fetched[query] = series[0][1] if series else None

    def _series(
        self, first: int, last: int, query: str
    ) -> list[tuple[Labels, Floats]] | SourceError:
        try:
            return self.source.series(query, first, last, self.bucket)
        except SourceError as exc:
            return exc

    def _answer(self, field: str, need: Need) -> Floats:
        key: object = (need.group, need.model) if need.group and need.model else need.alone
        found = self.fetched[key]
        if isinstance(found, SourceError):
            raise SourceError(f"{field}: {found}") if isinstance(found, SeveralSeries) else found
        return np.full(self.marks, np.nan) if found is None else found

    def _assemble(self, request: Request, needs: dict[str, Need]) -> Answer:
        try:
            marks = {field: self._answer(field, need) for field, need in needs.items()}
        except SourceError as exc:
            return exc
        sli = request.sli
        if isinstance(sli, ThresholdSli):
            return plan.slices(
                marks["query"], op=sli.op, threshold=sli.threshold, no_data=request.no_data,
                start=self.start, bucket=self.bucket,
            )  # fmt: skip
        counted_is_good = "good" in marks
        return plan.ratio(
            marks["total"], marks["good" if counted_is_good else "bad"],
            counted_is_good=counted_is_good, start=self.start, bucket=self.bucket,
        )  # fmt: skip
