"""Prometheus through prometheus-api-client: checks SLI queries before they are stored, and
measures SLIs over bucket-aligned ranges (``PrometheusSource``).

Every query is pinned to explicit times. The value Prometheus gives at the mark ``t`` for
``increase(x[B])`` is the count of the bucket ``[t - B, t)``, so it is filed under ``t - B``.
"""

import ast
import json
import logging
import math
import operator
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

import requests
from prometheus_api_client import PrometheusConnect
from prometheus_api_client.exceptions import PrometheusApiClientException
from urllib3.util.retry import Retry

from slo_service.domain.budget import Counts
from slo_service.domain.sli import LatencySli, RatioSli, SliSpec, ThresholdSli
from slo_service.sources.base import NoData, Problem, SourceError, Values

log = logging.getLogger(__name__)

# The check wraps selectors the way the engine will, so a selector Prometheus accepts alone
# but not inside increase() is caught too.
_CHECK_RANGE = "5m"
# Prometheus refuses a query_range of more than 11,000 points.
MAX_POINTS = 10_000
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt,
    ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
}  # fmt: skip


def connect(url: str, *, timeout: float, retries: int = 0) -> PrometheusConnect:
    """A client that fails fast: bounded retries, and a timeout on every request."""
    retry = Retry(total=retries, backoff_factor=0.2, status_forcelist=(502, 503, 504))
    return PrometheusConnect(url=url, disable_ssl=True, retry=retry, timeout=timeout)


def split_histogram(histogram: str) -> tuple[str, str]:
    """``name{a="b"}`` → (``name``, ``a="b"``)."""
    name, _, matchers = histogram.partition("{")
    return name, matchers.rstrip().removesuffix("}")


def _selector(name: str, *matchers: str) -> str:
    inside = ",".join(m for m in matchers if m)
    return f"{name}{{{inside}}}" if inside else name


def queries_of(sli: SliSpec) -> list[tuple[str, str]]:
    """(field, PromQL) for each query the engine will run for ``sli``."""
    if isinstance(sli, RatioSli):
        fields = [("good", sli.good), ("bad", sli.bad), ("total", sli.total)]
        return [
            (field, f"sum(increase({selector}[{_CHECK_RANGE}]))")
            for field, selector in fields
            if selector is not None
        ]
    if isinstance(sli, LatencySli):
        name, matchers = split_histogram(sli.histogram)
        bucket = _selector(f"{name}_bucket", matchers)
        return [("histogram", f"sum by (le) (increase({bucket}[{_CHECK_RANGE}]))")]
    if isinstance(sli, ThresholdSli):
        return [("query", sli.query)]
    return []


def rejection(exc: PrometheusApiClientException) -> tuple[int, str]:
    """Status code and Prometheus's own error text from the client's exception message."""
    message = str(exc)
    status = int(message.split()[3]) if message.startswith("HTTP Status Code ") else 0
    start, end = message.find("(b"), message.rfind(")")
    try:
        body = ast.literal_eval(message[start + 1 : end])
        return status, str(json.loads(body)["error"])
    except (ValueError, SyntaxError, KeyError, TypeError):
        return status, message


class PrometheusChecker:
    """Runs each query of an SLI once against the configured Prometheus."""

    def __init__(self, url: str, *, timeout: float) -> None:
        self._url = url
        self._client = connect(url, timeout=timeout)

    def check(self, sli: SliSpec) -> Sequence[Problem]:
        problems: list[Problem] = []
        at = datetime.now(UTC).replace(second=0, microsecond=0).timestamp()
        for field, query in queries_of(sli):
            try:
                self._client.custom_query(query, params={"time": at})
            except requests.RequestException as exc:
                log.info("Prometheus at %s unreachable, query checked locally: %s", self._url, exc)
                return problems
            except PrometheusApiClientException as exc:
                status, reason = rejection(exc)
                if 400 <= status < 500:
                    problems.append(((field,), f"Prometheus rejects the query: {reason}"))
                else:
                    log.warning(
                        "Prometheus at %s answered %s; query not checked", self._url, status
                    )
        return problems


class PrometheusSource:
    """Measures ratio, latency and threshold SLIs with one query_range per query and chunk."""

    def __init__(self, url: str, *, timeout: float, retries: int = 1) -> None:
        self._url = url
        self._client = connect(url, timeout=timeout, retries=retries)

    def measure(
        self, sli: SliSpec, *, start: int, end: int, bucket: int, no_data: NoData
    ) -> Values:
        if isinstance(sli, RatioSli):
            return self._ratio(sli, start, end, bucket)
        if isinstance(sli, LatencySli):
            return self._latency(sli, start, end, bucket)
        if isinstance(sli, ThresholdSli):
            return self._threshold(sli, start, end, bucket, no_data)
        raise SourceError(f"Prometheus cannot measure a {sli.source} SLI")

    def _ratio(self, sli: RatioSli, start: int, end: int, bucket: int) -> Values:
        total = self._increase(sli.total, "total", start, end, bucket)
        counted = sli.good if sli.good is not None else sli.bad
        assert counted is not None
        other = self._increase(counted, "good" if sli.good else "bad", start, end, bucket)
        values: Values = []
        for stamp, events in sorted(total.items()):
            found = other.get(stamp, 0.0)
            good = found if sli.good is not None else events - found
            values.append((stamp, Counts(min(max(good, 0.0), events), events)))
        return values

    def _latency(self, sli: LatencySli, start: int, end: int, bucket: int) -> Values:
        name, matchers = split_histogram(sli.histogram)
        le = self._le_bound(name, matchers, sli.threshold_seconds, start, end)
        if le is None:
            return []
        good_selector = _selector(f"{name}_bucket", matchers, f'le="{le}"')
        good = self._increase(good_selector, "histogram", start, end, bucket)
        total = self._increase(
            _selector(f"{name}_count", matchers), "histogram", start, end, bucket
        )
        return [
            (stamp, Counts(min(good.get(stamp, 0.0), events), events))
            for stamp, events in sorted(total.items())
        ]

    def _le_bound(
        self, name: str, matchers: str, threshold: float, start: int, end: int
    ) -> str | None:
        """The ``le`` label text equal to ``threshold`` (matched as text by Prometheus, so
        ``0.5`` is not ``0.50``); None when the histogram has no series in the range."""
        match = _selector(f"{name}_bucket", matchers)
        bounds: list[str] = self._call(
            partial(
                self._client.get_label_values,
                "le",
                params={"match[]": match, "start": start, "end": end},
            )
        )
        if not bounds:
            return None
        for bound in bounds:
            if bound != "+Inf" and math.isclose(float(bound), threshold, rel_tol=1e-9):
                return bound
        raise SourceError(
            f"histogram: {name} has no le bound at {threshold} s; its bounds are "
            f"{', '.join(sorted(bounds, key=lambda b: float(b)))}: set the threshold to one of them"
        )

    def _threshold(
        self, sli: ThresholdSli, start: int, end: int, bucket: int, no_data: NoData
    ) -> Values:
        samples = self._range(sli.query, "query", start + bucket, end, bucket)
        meets = _OPS[sli.op]
        values: Values = []
        for mark in range(start + bucket, end + 1, bucket):
            value = samples.get(mark)
            if value is None or math.isnan(value):
                if no_data == "ignore":
                    continue
                counts = Counts(1.0 if no_data == "good" else 0.0, 1.0)
            else:
                counts = Counts(1.0 if meets(value, sli.threshold) else 0.0, 1.0)
            values.append((mark - bucket, counts))
        return values

    def _increase(
        self, selector: str, field: str, start: int, end: int, bucket: int
    ) -> dict[int, float]:
        """Per-bucket increase, keyed by bucket start."""
        query = f"sum(increase({selector}[{bucket}s]))"
        marks = self._range(query, field, start + bucket, end, bucket)
        return {mark - bucket: value for mark, value in marks.items() if not math.isnan(value)}

    def _range(self, query: str, field: str, first: int, last: int, step: int) -> dict[int, float]:
        """Values of a one-series query at the marks ``first, first + step, ..., last``."""
        values: dict[int, float] = {}
        for chunk in range(first, last + 1, step * MAX_POINTS):
            chunk_last = min(last, chunk + step * (MAX_POINTS - 1))
            series = self._call(
                partial(
                    self._client.custom_query_range,
                    query,
                    start_time=datetime.fromtimestamp(chunk, UTC),
                    end_time=datetime.fromtimestamp(chunk_last, UTC),
                    step=f"{step}s",
                )
            )
            if len(series) > 1:
                labels = "; ".join(str(s.get("metric", {})) for s in series[:3])
                raise SourceError(
                    f"{field}: the query returns {len(series)} series where one is expected "
                    f"({labels}); aggregate it, e.g. with sum() or max()"
                )
            for mark, text in series[0]["values"] if series else []:
                values[int(float(mark))] = float(text)
        return values

    def _call(self, request: Callable[[], Any]) -> Any:
        try:
            return request()
        except requests.RequestException as exc:
            raise SourceError(
                f"Prometheus at {self._url} unreachable: {type(exc).__name__}"
            ) from exc
        except PrometheusApiClientException as exc:
            status, reason = rejection(exc)
            raise SourceError(f"Prometheus at {self._url} answered {status}: {reason}") from exc
