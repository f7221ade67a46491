"""A generic JSON webhook: the whole message as a JSON object, for receivers of one's own
(a chat bridge, an incident tool, a runbook automation).

The body is the message's fields (``at`` in ISO 8601, ``labels`` and ``details`` as objects,
``alert`` as "page", "ticket", "nodata", "labels_missing" or null, ``tiers`` as a list of
objects with ``severity``, ``long_window``, ``short_window``, ``factor``, ``long_burn_rate``
and ``short_burn_rate``) and ``"version": 2``, which changes only when a field changes meaning or
goes away. (Version 1 had one tier's five fields at the top level: an alert was one tier.)
Every request carries ``Idempotency-Key``: the same for each retry of one delivery, so a
receiver that saw it already can answer 2xx and do nothing.

With a ``secret`` in the channel's config, two headers let the receiver check that the body
came from here, unchanged, and recently::

    X-SLO-Timestamp: 1767268800
    X-SLO-Signature: sha256=<hex HMAC-SHA256, keyed with the secret, of "1767268800." + body>

To verify: take the raw body bytes as received (before any JSON parsing), compute
``hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()``, compare it
with ``hmac.compare_digest`` to the signature after ``sha256=``, and refuse a timestamp more
than a few minutes from the receiver's clock: signing the timestamp with the body is what
keeps a captured request from being replayed later.
"""

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any

from slo_service.notify.base import (
    DEFAULT_TIMEOUT,
    Message,
    Outcome,
    Problem,
    config_rejected,
    json_bytes,
    jsonable,
)
from slo_service.notify.egress import PUBLIC_ONLY, EgressPolicy
from slo_service.notify.pinned import Resolver, system_resolver
from slo_service.notify.posting import HttpSender, check_destination, check_url

VERSION = 2  # 2: one alert per SLO and severity, its tiers in ``tiers``
SIGNATURE_HEADER = "X-SLO-Signature"
TIMESTAMP_HEADER = "X-SLO-Timestamp"


class WebhookNotifier:
    """POSTs the message to the config's ``url``, signed when the config has a ``secret``.
    The URL's host must pass ``egress`` (public addresses only, by default). ``clock``
    (epoch seconds) is for tests that pin the signed timestamp."""

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.time,
        egress: EgressPolicy = PUBLIC_ONLY,
        resolve: Resolver = system_resolver,
    ) -> None:
        self._sender = HttpSender("Webhook", timeout=timeout, policy=egress, resolve=resolve)
        self._clock = clock

    def close(self) -> None:
        self._sender.close()

    def check(self, config: Mapping[str, Any]) -> list[Problem]:
        problems = check_url(config, "url")
        secret = config.get("secret")
        if secret is not None and (not isinstance(secret, str) or not secret):
            problems.append((("secret",), "must be a non-empty string, or left out"))
        return problems

    def check_destination(self, config: Mapping[str, Any]) -> list[Problem]:
        return check_destination(self._sender, config, "url")

    def send(self, message: Message, config: Mapping[str, Any], *, idempotency_key: str) -> Outcome:
        problems = self.check(config)
        if problems:
            return config_rejected(problems)
        url: str = config["url"]
        secret: str | None = config.get("secret")
        body = webhook_body(message)
        headers = signed_headers(secret, body, int(self._clock())) if secret else {}
        return self._sender.post(url, body, idempotency_key=idempotency_key, headers=headers)


def webhook_payload(message: Message) -> dict[str, Any]:
    """The body as data: ``version`` and every field of the message."""
    values = {item.name: getattr(message, item.name) for item in fields(message)}
    data: dict[str, Any] = jsonable(values)
    return {"version": VERSION, **data}


def webhook_body(message: Message) -> bytes:
    """The exact bytes posted (and signed)."""
    return json_bytes(webhook_payload(message))


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 with ``secret`` over ``f"{timestamp}."`` + ``body``."""
    signed = f"{timestamp}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }
