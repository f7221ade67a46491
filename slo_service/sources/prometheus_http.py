"""Reading Prometheus's HTTP query API for measurement: range queries decoded to numpy arrays.

A cold backfill reads tens of millions of points. A general JSON decoder (prometheus-api-client
hands back ``response.json()``) makes a list, an int and a str per point: about 1.3 µs each,
more than Prometheus takes to compute it. Here only the small skeleton of an answer (status and
label sets) goes through ``json``; the ``values`` arrays, which hold nothing but numbers, are
read by numpy in one pass, and checked for size so that anything unexpected is an error, never
a silently wrong number.
"""

import functools
import json
import ssl
import threading
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import numpy as np
import orjson

from slo_service.domain.series import Floats
from slo_service.errors import causes
from slo_service.sources.base import SourceError
from slo_service.sources.datasources import Access

Labels = dict[str, str]

_VALUES = b'"values":['
_NUMERIC = b'0123456789.,+-eEINafn[]"'  # what a values array may hold: [[t,"v"],...], NaN, ±Inf
_RETRY_STATUS = (502, 503, 504)
_REFUSED = (401, 403)
_E = TypeVar("_E", bound=BaseException)


class NotPrometheus(SourceError):
    """What answered is not Prometheus's HTTP API (a 404, or a success that is not its JSON):
    the configured address is most likely wrong, so the message says to check it."""


class HttpStatus(SourceError):
    """The server answered an HTTP error: ``status``, and its own ``reason``."""

    def __init__(self, message: str, *, status: int, reason: str) -> None:
        super().__init__(message)
        self.status, self.reason = status, reason


def wrong_address(access: Access, answer: str) -> str:
    """What to say when the server ``access`` reaches gave ``answer`` instead of Prometheus's."""
    return (
        f"{access.where} {answer}: is {access.address_setting} the server's base URL "
        "(such as http://prometheus:9090)?"
    )


class Health:
    """Whether a datasource's last query succeeded, when, and the error if not; shared by the
    clients of one datasource (measurement and the save-time check), safe between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.at: datetime | None = None
        self.error: str | None = None

    def record(self, error: str | None) -> None:
        with self._lock:
            self.at, self.error = datetime.now(UTC), error

    def last(self) -> tuple[datetime | None, str | None]:
        with self._lock:
            return self.at, self.error


class PrometheusApi:
    """A fail-fast client, safe to share between threads: a timeout on every request,
    ``retries`` more tries after a timeout, a refused connection or a 502/503/504, and no more
    waiting once Prometheus was found unreachable (until ``reset``)."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float,
        retries: int = 1,
        access: Access | None = None,
        health: Health | None = None,
    ) -> None:
        """``access`` (a datasource's credentials, TLS and headers) replaces ``url`` and
        ``timeout`` when given; ``health`` records the outcome of every request."""
        access = access or Access.plain(url, timeout=timeout)
        self.url, self.access, self.health = access.url, access, health
        # Uncompressed: Prometheus spends more CPU gzipping a large range answer (0.8 s of
        # 4.5 s for 1.7M points, measured) than the transfer saves inside a cluster.
        self._client = httpx.Client(
            base_url=access.url.rstrip("/"),
            timeout=access.timeout,
            headers={**access.headers, "Accept-Encoding": "identity"},
            auth=access.basic_auth,
            verify=access.verify,
        )
        self._extensions = {"sni_hostname": access.server_name} if access.server_name else {}
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

    def range_marks(
        self, query: str, start: int, end: int, step: int
    ) -> list[tuple[Labels, Floats]]:
        """Each series of ``query`` as its values at ``start, start + step, ..., end`` (NaN
        where it has none): ``range`` without the times, read faster (``marks_of``)."""
        params = {"query": query, "start": str(start), "end": str(end), "step": f"{step}s"}
        path = "/api/v1/query_range"
        body = self._get(path, params)
        read = functools.partial(marks_of, first=start, step=step, count=(end - start) // step + 1)
        try:
            return decode_matrix(body, read)
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

    def instant(self, query: str, at: float) -> Any:
        """The result of ``query`` at ``at`` (``/api/v1/query``), as Prometheus's JSON."""
        path = "/api/v1/query"
        body = self._get(path, {"query": query, "time": str(at)})
        try:
            return _ok(_json(body))
        except NotPrometheus as exc:
            raise self._not_prometheus(path) from exc

    def _not_prometheus(self, path: str) -> NotPrometheus:
        answer = f"answers {path} with something other than Prometheus's JSON"
        error = NotPrometheus(wrong_address(self.access, answer))
        self._record(error)
        return error

    def _record(self, error: SourceError | None) -> None:
        if self.health is not None:
            self.health.record(None if error is None else str(error))

    def _get(self, path: str, params: dict[str, str]) -> bytes:
        try:
            body = self._request(path, params)
        except SourceError as exc:
            self._record(exc)
            raise
        self._record(None)
        return body

    def _request(self, path: str, params: dict[str, str]) -> bytes:
        if self._down is not None:
            raise self._down  # unreachable earlier: do not wait again
        for attempt in range(self._retries + 1):
            last = attempt == self._retries
            with self._counting:
                self.requests += 1
            try:
                response = self._client.get(path, params=params, extensions=self._extensions)
            except httpx.TransportError as exc:
                if last:
                    why = _why(exc, self.access.tls_hint)
                    self._down = SourceError(f"{self.access.where} unreachable: {why}")
                    raise self._down from exc
            else:
                if response.status_code == 200:
                    return response.content
                if response.status_code == 404 or response.is_success:
                    # Prometheus's API answers 200, or an error of its own (400, 422, 503).
                    answer = f"answers {response.status_code} to {path}"
                    raise NotPrometheus(wrong_address(self.access, answer))
                if last or response.status_code not in _RETRY_STATUS:
                    raise self._status_error(response)
            time.sleep(0.2 * 2**attempt)
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def _status_error(self, response: httpx.Response) -> HttpStatus:
        """An HTTP error answer, named; a refusal (401, 403) says which credentials to check."""
        status, reason = response.status_code, _reason(response)
        if status in _REFUSED:
            message = (
                f"{self.access.where}: HTTP {status} {response.reason_phrase}: "
                f"{self.access.refused_hint}"
            )
        else:
            message = f"{self.access.where} answered {status}: {reason}"
        return HttpStatus(message, status=status, reason=reason)


def _why(exc: httpx.TransportError, tls_hint: str = "") -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError) and _behind(exc, ConnectionRefusedError):
        return "connection refused"
    tls = _behind(exc, ssl.SSLError)
    if tls is not None:
        reason = getattr(tls, "verify_message", None) or getattr(tls, "reason", None) or tls
        if "ALERT" in str(reason):  # the server's alert: it refused us, e.g. our certificate
            reason = f"the server refused the handshake ({reason})"
        return f"TLS failed: {reason}" + (f": {tls_hint}" if tls_hint else "")
    return f"{type(exc).__name__}: {exc}"


def _behind(exc: BaseException, kind: type[_E]) -> _E | None:
    """The ``kind`` of exception behind ``exc`` if any: httpx raises its errors from
    httpcore's, which are raised while handling the socket's (ConnectionRefusedError,
    ssl.SSLError)."""
    return next((c for c in causes(exc) if isinstance(c, kind)), None)


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


def decode_matrix(
    body: bytes, read: Callable[[bytes], Floats] | None = None
) -> list[tuple[Labels, Floats]]:
    """A ``query_range`` answer → (labels, points as (time, value) rows) per series, or what
    ``read`` makes of each values array instead."""
    read = read or _numbers
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
        points.append(read(body[begin:end]))
        at = end
    skeleton.append(body[at:])
    data = _ok(_json(b"".join(skeleton)))
    result = data.get("result") if isinstance(data, dict) else None
    if data.get("resultType") != "matrix" or not isinstance(result, list):
        raise SourceError(f"Prometheus answered a {data.get('resultType')}, not a matrix")
    if len(result) != len(points) or any(item.get("values") != [] for item in result):
        raise SourceError("Prometheus's answer has values arrays out of place")
    return [(item.get("metric", {}), rows) for item, rows in zip(result, points, strict=True)]


def marks_of(array: bytes, *, first: int, step: int, count: int) -> Floats:
    """A values array → its values at the marks ``first``, ``first + step``, ... (``count``
    of them), NaN at a mark without a point (a gap) and outside points left out. A dense
    array, a point at every mark (the usual answer), has its values read alone: its times
    are compared, as text, with the marks', not parsed (half the numbers to read)."""
    dense = _dense(array, first, step, count)
    if dense is not None:
        return dense
    points = _numbers(array)
    values = np.full(count, np.nan)
    at = np.rint((points[:, 0] - first) / step).astype(np.int64)
    inside = (at >= 0) & (at < count)
    values[at[inside]] = points[inside, 1]
    return values


def _dense(array: bytes, first: int, step: int, count: int) -> Floats | None:
    """The values of a dense array read alone, None for any other (``_numbers`` reads it,
    and names what is wrong with it). Dense: around the quoted values, exactly the text of a
    point at every mark, each time as Prometheus writes it."""
    if array.count(b'"') != 2 * count or array.translate(None, _NUMERIC):
        return None
    if b"N" in array or b"I" in array or b'"-0' in array:  # as plain_numbers: numpy reads them
        return None
    quoted = array.split(b'"')
    if b"".join(quoted[0::2]) != _marks_text(first, step, count):
        return None
    try:
        values = orjson.loads(b"[" + b",".join(quoted[1::2]) + b"]")
    except orjson.JSONDecodeError:
        return None
    return np.array(values, dtype=np.float64) if len(values) == count else None


@functools.lru_cache(maxsize=64)  # every series of an answer has the same marks
def _marks_text(first: int, step: int, count: int) -> bytes:
    """A dense values array without its values: ``[t,],[t,],...,[t,]``."""
    return b"[" + b",],[".join(b"%d" % t for t in range(first, first + count * step, step)) + b",]"


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
    flat = plain_numbers(array) if b"N" not in array and b"I" not in array else None
    if flat is None:
        with warnings.catch_warnings():
            # numpy's "could not be read to its end"
            warnings.simplefilter("error", DeprecationWarning)
            try:
                flat = np.fromstring(array.translate(None, b'[]"'), dtype=np.float64, sep=",")
            except (DeprecationWarning, ValueError) as exc:
                raise SourceError(
                    f"Prometheus's answer has an unreadable values array: {exc}"
                ) from exc
    if flat.size != 2 * pairs:
        raise SourceError(f"Prometheus's answer has {flat.size} numbers for {pairs} points")
    return flat.reshape(pairs, 2)


def plain_numbers(array: bytes) -> Floats | None:
    """The numbers of a values array read as one JSON array by orjson: six times faster than
    numpy's text parser, and as exact (both round correctly). None when JSON cannot read it
    as numbers alone the way numpy does: NaN and infinities (left out by the caller), ``-0``
    (JSON's integer zero has no sign), or anything JSON refuses (numpy then decides)."""
    if b'"-0' in array:
        return None
    try:
        return np.array(orjson.loads(b"[" + array.translate(None, b'[]"') + b"]"), dtype=np.float64)
    except (orjson.JSONDecodeError, TypeError, ValueError):
        return None
