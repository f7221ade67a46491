"""What every notification channel shares: the message, the outcome of a delivery, and the
HTTP posting that turns an answer (or its absence) into that outcome.

A delivery is retried by the caller, not here: a channel only says whether to try again
(``RetryLater``, with how long the receiver asked to wait) or not (``Rejected``: the payload
or the stored settings are wrong, and another try would be refused the same way). Reasons end
up in logs and in the API, so they never hold a channel's secrets: Slack's webhook URLs are
credentials, and so are PagerDuty's routing keys.
"""

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

import httpx

from slo_service import __version__
from slo_service.domain.burn import Severity as Severity  # re-exported: the tiers' severities
from slo_service.domain.gate import age

Event = Literal["trigger", "resolve", "repeat", "test", "freeze_start", "freeze_lift"]
Problem = tuple[tuple[str, ...], str]  # (field path in the config, what is wrong with it)

DEFAULT_TIMEOUT = 5.0
_BODY_START = 200  # characters of an error answer worth keeping in a reason
_SHORTEST_SECRET = 4  # shorter "secrets" (a URL path of "/") would blank out ordinary text


@dataclass(frozen=True)
class TierBurn:
    """One burn-rate tier of an alert and its burn rates: over its factor for a trigger or a
    repeat, as they are now for a resolve (then usually under it)."""

    severity: Severity
    long_window: str  # e.g. "1h"
    short_window: str  # e.g. "5m"
    factor: float  # the tier fires when both windows burn faster than this
    long_burn_rate: float | None  # None: no data in the window
    short_burn_rate: float | None


@dataclass(frozen=True)
class Message:
    """What every channel renders: one alert transition (or a freeze change, or a test)."""

    event: Event
    # Stable per alert of an SLO ("slo-7-page", "slo-7-ticket", "slo-7-nodata"), so a resolve
    # finds its trigger; per service and cause for freezes ("freeze-churn-budget"). A resolve
    # may carry an older per-tier key ("slo-7-page-1h-5m") to close what came before them.
    dedup_key: str
    service: str
    slo: str | None  # "service:name"; None for a freeze
    severity: Severity
    summary: str  # one line, built by whoever makes the Message
    at: datetime  # when the transition happened (aware UTC)
    url: str | None  # link to the SLO page (or the service's gate)
    alert: str | None = None  # "page", "ticket" or "nodata"; None for a freeze or a test
    tiers: Sequence[TierBurn] = ()  # the tiers that fire (or fired); () for nodata
    budget_remaining: float | None = None  # fraction, 0.12 = 12%, may be negative
    time_to_exhaustion_seconds: float | None = None
    objective: float | None = None
    window: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)  # e.g. freeze reason, who


@dataclass(frozen=True)
class Delivered:
    status: int


@dataclass(frozen=True)
class RetryLater:
    """5xx, 408, 429, a timeout or a connection error. ``after_seconds`` is the receiver's
    Retry-After (given in seconds or as an HTTP-date), or None when it did not say."""

    reason: str
    after_seconds: float | None


@dataclass(frozen=True)
class Rejected:
    """Any other 4xx (or a URL that cannot be posted to): retrying will not help."""

    reason: str


Outcome = Delivered | RetryLater | Rejected


class Notifier(Protocol):
    """One kind of channel. ``config`` is the channel's stored settings (secrets included)."""

    def send(
        self, message: Message, config: Mapping[str, Any], *, idempotency_key: str
    ) -> Outcome: ...

    def check(self, config: Mapping[str, Any]) -> list[Problem]:
        """Problems with ``config`` as (field path, reason); [] when fine. No I/O."""
        ...


class HttpSender:
    """Posts JSON bodies for one channel (``channel`` names it in reasons, e.g. "Slack
    webhook"), with a timeout on every request and no redirects followed: a webhook that
    redirects is misconfigured, and following it would hand the body to another host.
    Safe to share between threads; ``close`` it when done."""

    def __init__(self, channel: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.channel = channel
        self.timeout = timeout
        self._client = httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            headers={"User-Agent": f"slo-service/{__version__}"},
        )

    def close(self) -> None:
        self._client.close()

    def post(
        self,
        url: str,
        body: bytes,
        *,
        idempotency_key: str,
        headers: Mapping[str, str] | None = None,
        secrets: Sequence[str] = (),
    ) -> Outcome:
        """POST ``body`` (JSON bytes, sent as they are: a signature may cover them). The URL,
        its path and ``secrets`` are blanked out of every reason."""
        hidden = (url, _path(url), *secrets)
        sent = {"Content-Type": "application/json", "Idempotency-Key": idempotency_key}
        try:
            response = self._client.post(url, content=body, headers={**sent, **(headers or {})})
        except httpx.TimeoutException:
            return RetryLater(f"{self.channel} did not answer within {self.timeout:g} s", None)
        except (httpx.UnsupportedProtocol, httpx.InvalidURL, httpx.LocalProtocolError) as exc:
            # Raised before anything was sent: the stored URL or a header cannot be used.
            why = redact(f"{type(exc).__name__}: {exc}", hidden)
            return Rejected(f"{self.channel} cannot be posted to: {why}")
        except httpx.ConnectError as exc:
            return RetryLater(f"{self.channel} unreachable: {_connect_why(exc, hidden)}", None)
        except httpx.TransportError as exc:  # the connection broke while sending or reading
            why = redact(f"{type(exc).__name__}: {exc}", hidden)
            return RetryLater(f"{self.channel} failed: {why}", None)
        return outcome(self.channel, response, hidden)


def outcome(channel: str, response: httpx.Response, hidden: Sequence[str] = ()) -> Outcome:
    """An HTTP answer → the Outcome it means (PagerDuty's retry table; the others agree)."""
    status = response.status_code
    if 200 <= status < 300:
        return Delivered(status)
    text = redact(" ".join(response.text[:_BODY_START].split()), hidden)
    reason = f"{channel} answered {status}: {text}" if text else f"{channel} answered {status}"
    if status in (408, 429) or status >= 500:
        # Honoured on 5xx too: a 503 with Retry-After asks for just as much patience.
        return RetryLater(reason, retry_after(response.headers.get("Retry-After")))
    if 300 <= status < 400:  # the Location is not repeated: it may carry the secret too
        return Rejected(f"{reason} (a redirect, not followed: is the URL right?)")
    return Rejected(reason)


def _path(url: str) -> str:
    """The URL's path (Slack's secret part), or "" for a URL too broken to split."""
    try:
        return urlsplit(url).path
    except ValueError:
        return ""


def _connect_why(exc: httpx.ConnectError, hidden: Sequence[str]) -> str:
    text = str(exc)
    return "connection refused" if "refused" in text.lower() else redact(text, hidden)


def retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP-date (RFC 9110);
    None when absent or unreadable, 0 for a date already past."""
    if not value or not value.strip():
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        try:
            when = parsedate_to_datetime(value.strip())
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # "-0000" in an HTTP-date: UTC by definition
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def redact(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every secret (longest first, so a URL goes before its path) blanked."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= _SHORTEST_SECRET:
            text = text.replace(secret, "[redacted]")
    return text


def check_url(config: Mapping[str, Any], key: str) -> list[Problem]:
    """Whether ``config[key]`` is an http(s) URL with a host. The URL is not quoted back."""
    value = config.get(key)
    if value is None or value == "":
        return [((key,), "required")]
    if not isinstance(value, str):
        return [((key,), "must be a string")]
    try:
        parts = urlsplit(value)
    except ValueError:
        return [((key,), "not a valid URL")]
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [((key,), "must be an http:// or https:// URL with a host")]
    return []


def json_bytes(value: Any) -> bytes:
    """Compact UTF-8 JSON; NaN is refused (it is not JSON): pass numbers through ``jsonable``."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.encode()


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data: mappings with string keys, lists, finite numbers (NaN and
    infinities become None), datetimes as ISO 8601, dataclasses (a ``TierBurn``) as objects of
    their fields; anything else as its ``str``."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime):
        return iso(value)
    if is_dataclass(value) and not isinstance(value, type):
        return jsonable({item.name: getattr(value, item.name) for item in fields(value)})
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    return str(value)


def utc(at: datetime) -> datetime:
    """``at`` in UTC; a naive time is taken as UTC (the Message promises aware UTC)."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def iso(at: datetime) -> str:
    """ISO 8601 in UTC, e.g. "2026-03-01T12:00:00+00:00"."""
    return utc(at).isoformat()


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in "…" when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def percent(fraction: float | None) -> str:
    """0.12 → "12.0%"; None → "no data"."""
    return "no data" if fraction is None or not math.isfinite(fraction) else f"{fraction:.1%}"


def objective_percent(objective: float) -> str:
    """0.999 → "99.9%", 0.99995 → "99.995%": every digit given, none of float's noise."""
    return f"{round(objective * 100, 6):.10g}%"


def times(rate: float | None) -> str:
    """A burn rate: 15.2 → "15.2x"; None → "no data"."""
    return "no data" if rate is None or not math.isfinite(rate) else f"{rate:.1f}x"


def duration_text(seconds: float) -> str:
    """Seconds → "3h 20m", "2d 4h", "12m", "under 1m" (as the gate's CI text says it)."""
    if not math.isfinite(seconds):
        return "never"
    # timedelta stops at 999,999,999 days; a century is already "never" for a budget.
    return age(timedelta(seconds=min(max(seconds, 0.0), 100 * 365 * 86400.0)))


def config_rejected(problems: Sequence[Problem]) -> Rejected:
    """The Outcome of a send with unusable settings: nothing was posted."""
    listed = "; ".join(f"{'.'.join(path)}: {why}" for path, why in problems)
    return Rejected(f"the channel's settings are invalid: {listed}")
