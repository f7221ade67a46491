"""Reading Prometheus's HTTP query API for measurement: range queries decoded to numpy arrays.

A cold backfill reads tens of millions of points. A general JSON decoder (prometheus-api-client
hands back ``response.json()``) makes a list, an int and a str per point: about 1.3 µs each,
more than Prometheus takes to compute it. Here only the small skeleton of an answer (status and
label sets) goes through ``json``; the ``values`` arrays, which hold nothing but numbers, are
read by numpy in one pass, and checked for size so that anything unexpected is an error, never
a silently wrong number.
"""

import json
import threading
import time
import warnings
from typing import Any

import httpx
import numpy as np

from slo_service.domain.series import Floats
from slo_service.sources.base import SourceError

Labels = dict[str, str]

_VALUES = b'"values":['
_NUMERIC = b'0123456789.,+-eEINafn[]"'  # what a values array may hold: [[t,"v"],...], NaN, ±Inf
_RETRY_STATUS = (502, 503, 504)


class NotPrometheus(SourceError):
    """What answered is not Prometheus's HTTP API (a 404, or a success that is not its JSON):
    the configured address is most likely wrong, so the message says to check it."""


def wrong_address(url: str, answer: str) -> str:
    """What to say when the server at ``url`` gave ``answer`` instead of Prometheus's."""
    return (
        f"Prometheus at {url} {answer}: is SLO_PROMETHEUS_URL the server's base URL "
        "(such as http://prometheus:9090)?"
    )


class PrometheusApi:
    """A fail-fast client, safe to share between threads: a timeout on every request,
    ``retries`` more tries after a timeout, a refused connection or a 502/503/504, and no more
    waiting once Prometheus was found unreachable (until ``reset``)."""

    def __init__(self, url: str, *, timeout: float, retries: int = 1) -> None:
        self.url = url
        # Uncompressed: Prometheus spends more CPU gzipping a large range answer (0.8 s of
        # 4.5 s for 1.7M points, measured) than the transfer saves inside a cluster.
        self._client = httpx.Client(
            base_url=url.rstrip("/"), timeout=timeout, headers={"Accept-Encoding": "identity"}
        )
        self._retries = retries
        self._down: SourceError | None = None
        self._counting = threading.Lock()  # requests are made from several threads
        self.requests = 0  # HTTP requests made, for the benchmarks

    def reset(self) -> None:
        """Ask again, even if Prometheus was unreachable before."""
        self._down = None

    def range(self, query: str, start: int, end: int, step: int) -> list[tuple[Labels, Floats]]:
        """Each series of ``query`` at ``start, start + step, ..., end``: its labels, and its
        points as rows of (time, value)."""
        params = {"query": query, "start": str(start), "end": str(end), "step": f"{step}s"}
        path = "/api/v1/query_range"
        body = self._get(path, params)
        try:
            return decode_matrix(body)
        except NotPrometheus as exc:
            raise self._not_prometheus(path) from exc

    def series(self, match: str, start: int, end: int) -> list[Labels]:
        """Label sets of the series matching ``match`` in the range (``/api/v1/series``)."""
        params = {"match[]": match, "start": str(start), "end": str(end)}
        path = "/api/v1/series"
        body = self._get(path, params)
        try:
            data: list[Labels] = _ok(_json(body))
        except NotPrometheus as exc:
            raise self._not_prometheus(path) from exc
        return data

    def _not_prometheus(self, path: str) -> NotPrometheus:
        answer = f"answers {path} with something other than Prometheus's JSON"
        return NotPrometheus(wrong_address(self.url, answer))

    def _get(self, path: str, params: dict[str, str]) -> bytes:
        if self._down is not None:
            raise self._down  # unreachable earlier: do not wait again
        for attempt in range(self._retries + 1):
            last = attempt == self._retries
            with self._counting:
                self.requests += 1
            try:
                response = self._client.get(path, params=params)
            except httpx.TransportError as exc:
                if last:
                    self._down = SourceError(f"Prometheus at {self.url} unreachable: {_why(exc)}")
                    raise self._down from exc
            else:
                if response.status_code == 200:
                    return response.content
                if response.status_code == 404 or response.is_success:
                    # Prometheus's API answers 200, or an error of its own (400, 422, 503).
                    answer = f"answers {response.status_code} to {path}"
                    raise NotPrometheus(wrong_address(self.url, answer))
                if last or response.status_code not in _RETRY_STATUS:
                    raise SourceError(
                        f"Prometheus at {self.url} answered {response.status_code}: "
                        f"{_reason(response)}"
                    )
            time.sleep(0.2 * 2**attempt)
        raise AssertionError("unreachable")  # the last attempt returns or raises


def _why(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError) and _refused(exc):
        return "connection refused"
    return f"{type(exc).__name__}: {exc}"


def _refused(exc: BaseException) -> bool:
    """Whether a refused connection is behind ``exc``: httpx raises its ConnectError from
    httpcore's, which is raised while handling the socket's ConnectionRefusedError."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, ConnectionRefusedError):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def _reason(response: httpx.Response) -> str:
    """Prometheus's own error text, or the start of whatever else came back."""
    try:
        return str(response.json()["error"])
    except (ValueError, KeyError, TypeError):
        return response.text[:200] or response.reason_phrase


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError as exc:  # UnicodeDecodeError too
        raise NotPrometheus(f"the answer is not JSON: {exc}") from exc


def _ok(answer: Any) -> Any:
    if not isinstance(answer, dict) or "status" not in answer:
        raise NotPrometheus(f"the answer is not Prometheus's: {str(answer)[:200]}")
    if answer.get("status") != "success":
        raise SourceError(f"Prometheus answered without success: {str(answer)[:200]}")
    return answer["data"]


def decode_matrix(body: bytes) -> list[tuple[Labels, Floats]]:
    """A ``query_range`` answer → (labels, points as (time, value) rows) per series."""
    skeleton: list[bytes] = []
    points: list[Floats] = []
    at = 0
    while (found := body.find(_VALUES, at)) != -1:
        begin = found + len(_VALUES)
        skeleton.append(body[at:begin])
        if _escaped(body, found):  # inside a label value: not a values array
            at = begin
            continue
        end = begin if body[begin : begin + 1] == b"]" else body.find(b"]]", begin) + 1
        if end <= 0:
            raise SourceError("Prometheus's answer ends inside a values array")
        points.append(_numbers(body[begin:end]))
        at = end
    skeleton.append(body[at:])
    data = _ok(_json(b"".join(skeleton)))
    result = data.get("result") if isinstance(data, dict) else None
    if data.get("resultType") != "matrix" or not isinstance(result, list):
        raise SourceError(f"Prometheus answered a {data.get('resultType')}, not a matrix")
    if len(result) != len(points) or any(item.get("values") != [] for item in result):
        raise SourceError("Prometheus's answer has values arrays out of place")
    return [(item.get("metric", {}), rows) for item, rows in zip(result, points, strict=True)]


def _escaped(body: bytes, quote: int) -> bool:
    """Whether the quote at ``quote`` is escaped (inside a string): an odd run of backslashes."""
    run = 0
    while quote - run - 1 >= 0 and body[quote - run - 1] == ord("\\"):
        run += 1
    return run % 2 == 1


def _numbers(array: bytes) -> Floats:
    """``[t,"v"],[t,"v"]`` → rows of (t, v)."""
    if not array:
        return np.zeros((0, 2))
    if array.translate(None, _NUMERIC):
        raise SourceError("Prometheus's answer has something other than numbers in a values array")
    pairs = array.count(b"],[") + 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # numpy's "could not be read to its end"
        try:
            flat = np.fromstring(array.translate(None, b'[]"'), dtype=np.float64, sep=",")
        except (DeprecationWarning, ValueError) as exc:
            raise SourceError(f"Prometheus's answer has an unreadable values array: {exc}") from exc
    if flat.size != 2 * pairs:
        raise SourceError(f"Prometheus's answer has {flat.size} numbers for {pairs} points")
    return flat.reshape(pairs, 2)
