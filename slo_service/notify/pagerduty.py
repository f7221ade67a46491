"""PagerDuty through the Events API v2 (``POST {base}/v2/enqueue``): alert events that open,
refresh and resolve one PagerDuty alert per alert of an SLO (its page, its ticket, its no-data
ticket).

The message's ``dedup_key`` is what ties a resolve to its trigger, so a re-sent trigger (a
repeat, or a retry after a timeout whose first try did arrive) only adds a log entry to the
open alert instead of paging twice. PagerDuty answers 202 when it accepted the event, 400 for
an invalid one (not retried), 429 when the integration is rate limited, 5xx when it failed:
``HttpSender`` maps those. The routing key is the credential: never in a reason.
"""

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from slo_service.notify.base import (
    DEFAULT_TIMEOUT,
    Message,
    Outcome,
    Problem,
    TierBurn,
    config_rejected,
    duration_text,
    iso,
    json_bytes,
    jsonable,
    percent,
    truncate,
)
from slo_service.notify.posting import HttpSender

DEFAULT_BASE_URL = "https://events.pagerduty.com"
SUMMARY_LIMIT = 1024  # Events API v2: payload.summary
DEDUP_LIMIT = 255  # Events API v2: dedup_key
SEVERITY = {"page": "critical", "ticket": "warning"}
# PagerDuty's integration keys are 32 letters and digits; a little leeway either side, so that
# a key of another shape (a ruleset's, a future format) is not refused here for its length.
_ROUTING_KEY = re.compile(r"[A-Za-z0-9]{20,64}")
_CLASS = {"freeze_start": "error-budget-freeze", "test": "slo-service-test"}
_NO_DATA_CLASS = "slo-no-data"  # a silent source is not a burn: rules can tell them apart
_LABELS_CLASS = "slo-labels-missing"  # nor are labels that do not arrive


class PagerDutyNotifier:
    """Sends to ``{base_url}/v2/enqueue`` (the base URL is a setting of the service, for a
    proxy or a test receiver; the channel's config holds only the routing key). The base URL
    is the operator's, not an API caller's: it is trusted, outside the egress policy."""

    def __init__(
        self, base_url: str = DEFAULT_BASE_URL, *, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._sender = HttpSender("PagerDuty", timeout=timeout)

    def close(self) -> None:
        self._sender.close()

    def check(self, config: Mapping[str, Any]) -> list[Problem]:
        key = config.get("routing_key")
        if key is None or key == "":
            return [(("routing_key",), "required")]
        if not isinstance(key, str) or not _ROUTING_KEY.fullmatch(key):
            # The key itself is not quoted back: it is the secret.
            return [
                (
                    ("routing_key",),
                    "must be an Events API v2 integration key: 32 letters and digits "
                    "(20 to 64 are accepted)",
                )
            ]
        return []

    def check_destination(self, config: Mapping[str, Any]) -> list[Problem]:
        return []  # the routing key chooses no destination: SLO_PAGERDUTY_URL does

    def send(self, message: Message, config: Mapping[str, Any], *, idempotency_key: str) -> Outcome:
        problems = self.check(config)
        if problems:
            return config_rejected(problems)
        key: str = config["routing_key"]
        body = json_bytes(pagerduty_event(message, key))
        return self._sender.post(
            f"{self.base_url}/v2/enqueue", body, idempotency_key=idempotency_key
        )


def pagerduty_event(message: Message, routing_key: str) -> dict[str, Any]:
    """The Events API v2 body for ``message``. A resolve (of an alert, or of a freeze) carries
    only what PagerDuty reads from one: the routing key, the action and the dedup key."""
    action = "resolve" if message.event in ("resolve", "freeze_lift") else "trigger"
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": dedup_key(message.dedup_key),
    }
    if action == "resolve":
        return event
    event["payload"] = _payload(message)
    event["client"] = "slo-service"
    if message.url:
        event["client_url"] = message.url
        link = "SLO page" if message.slo is not None else "Deploy gate"
        event["links"] = [{"href": message.url, "text": link}]
    return event


def dedup_key(key: str) -> str:
    """``key``, or when over PagerDuty's 255 characters its start and a digest of the whole:
    still one stable key per alert, and two long keys sharing a start do not collide."""
    if len(key) <= DEDUP_LIMIT:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    return f"{key[: DEDUP_LIMIT - len(digest) - 1]}-{digest}"


def _payload(message: Message) -> dict[str, Any]:
    # A freeze is worth a look, never a 3 a.m. call: always "warning".
    severity = "warning" if message.event == "freeze_start" else SEVERITY[message.severity]
    payload: dict[str, Any] = {
        "summary": truncate(message.summary or message.slo or message.service, SUMMARY_LIMIT),
        "source": message.service,
        "severity": severity,
        "timestamp": iso(message.at),
        "group": message.service,
        "class": _event_class(message),
        "custom_details": custom_details(message),
    }
    if message.slo is not None:
        payload["component"] = message.slo
    return payload


def _event_class(message: Message) -> str:
    if message.alert == "nodata":
        return _NO_DATA_CLASS
    if message.alert == "labels_missing":
        return _LABELS_CLASS
    return _CLASS.get(message.event, "slo-burn-rate")


def custom_details(message: Message) -> dict[str, Any]:
    """Every number of the message, raw (for rules and searches) and, where a person reads a
    fraction or seconds poorly, as text too; the tiers over their factor as a list, each with
    its windows, factor and burn rates. Absent numbers are left out, not null."""
    seconds = message.time_to_exhaustion_seconds
    remaining = message.budget_remaining
    details: dict[str, Any] = {
        "event": message.event,
        "slo": message.slo,
        "alert": message.alert,
        "severity": message.severity,
        "tiers": [_tier(tier) for tier in message.tiers] or None,
        "budget_remaining": remaining,
        "budget_remaining_percent": None if remaining is None else percent(remaining),
        "time_to_exhaustion_seconds": seconds,
        "time_to_exhaustion": None
        if seconds is None
        else ("already exhausted" if seconds <= 0 else duration_text(seconds)),
        "objective": message.objective,
        "window": message.window,
        "labels": dict(message.labels) or None,
        "details": dict(message.details) or None,
    }
    return {name: value for name, value in jsonable(details).items() if value is not None}


def _tier(tier: TierBurn) -> dict[str, Any]:
    """A tier as JSON data, a rate without data (or NaN) left out like the other numbers."""
    values: dict[str, Any] = jsonable(tier)
    return {name: value for name, value in values.items() if value is not None}
