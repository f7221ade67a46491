"""What every notification channel shares: the message, the outcome of a delivery, and the
helpers the channels render messages with (``notify.posting`` turns an HTTP answer, or its
absence, into an outcome).

A delivery is retried by the caller, not here: a channel only says whether to try again
(``RetryLater``, with how long the receiver asked to wait) or not (``Rejected``: the payload
or the stored settings are wrong, and another try would be refused the same way). Reasons end
up in logs and in the API, so they never hold a channel's secrets nor what a receiver said.
"""

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from slo_service.domain.burn import Severity as Severity  # re-exported: the tiers' severities
from slo_service.domain.gate import age

Event = Literal["trigger", "resolve", "repeat", "test", "freeze_start", "freeze_lift"]
Problem = tuple[tuple[str, ...], str]  # (field path in the config, what is wrong with it)

DEFAULT_TIMEOUT = 5.0


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
    alert: str | None = None  # "page", "ticket", "nodata", "labels_missing"; None: freeze, test
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

    def check_destination(self, config: Mapping[str, Any]) -> list[Problem]:
        """Problems with where a checked ``config`` sends to: its URL's host looked up and
        judged by the egress policy (I/O: DNS). Sending checks again, after its own lookup."""
        ...


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
