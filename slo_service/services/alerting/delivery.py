"""Delivering the outbox: claim due rows under a lease, send each to its channel, and record
what came of it.

Rows are claimed with ``FOR UPDATE SKIP LOCKED`` in a short transaction that only sets the
lease, so senders on several replicas never take the same row, and none holds a transaction
open while it waits on a channel. A sender that dies leaves leases that run out, and its rows
are sent by the next one; each carries its idempotency key as the ``Idempotency-Key`` header
(and PagerDuty's dedup key), so a receiver can drop the copy of a message whose delivery was
not recorded. A result is recorded only while the sender still holds the row's lease.

A failed try is retried after the backoff of ``domain.alerts.Backoff`` (never before the
receiver's Retry-After); a row out of tries, or one its channel refused (a 4xx: the payload or
the config is wrong), is dead, and shown with its last error in ``GET /notifications``.
"""

import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from slo_service.db import session_scope, utcnow
from slo_service.domain.alerts import Backoff
from slo_service.models import Notification, NotificationRoute
from slo_service.notify.base import (
    Delivered,
    Message,
    Notifier,
    Outcome,
    Rejected,
    RetryLater,
    TierBurn,
)
from slo_service.repositories import alerts as alert_repo

log = logging.getLogger(__name__)

# A message queued before alerts were per SLO and severity had its one tier in these fields;
# such rows may still wait in the outbox after an upgrade, and must still be sent.
_LEGACY_TIER = ("long_window", "short_window", "factor", "long_burn_rate", "short_burn_rate")


@dataclass(frozen=True)
class _Claimed:
    id: int
    channel_type: str
    idempotency_key: str
    attempts: int
    message: Message
    config: Mapping[str, Any] | None  # None: the route or its channel is gone


@dataclass
class Sender:
    engine: Engine
    notifiers: Mapping[str, Notifier]
    base_url: str
    owner: str
    backoff: Backoff = field(default_factory=Backoff)
    # The lease must outlast a whole batch of sends that all time out, or another sender
    # could take rows this one is still sending (``lease_for``).
    lease: timedelta = timedelta(minutes=2)
    batch: int = 10
    rng: random.Random = field(default_factory=random.Random)
    # Told (channel type, outcome) of every try: the scheduler counts them for /metrics.
    on_result: Callable[[str, str], None] = lambda _channel, _outcome: None

    def run_once(self, now: datetime | None = None) -> dict[str, int]:
        """Send every due row (a batch at a time); how many were delivered, retried, dead."""
        counts = {"delivered": 0, "retry": 0, "dead": 0}
        while True:
            at = now or utcnow()
            with session_scope(self.engine) as session:
                ids = alert_repo.claim(
                    session, owner=self.owner, now=at, until=at + self.lease, limit=self.batch
                )
            if not ids:
                return counts
            with session_scope(self.engine) as session:
                claimed = [self._prepare(session, row) for row in alert_repo.get_many(session, ids)]
            results = [(row, self._send(row)) for row in claimed]
            with session_scope(self.engine) as session:
                for row, outcome in results:
                    counts[self._record(session, row, outcome, now=now or utcnow())] += 1
            if now is not None and len(ids) < self.batch:
                return counts  # a pinned clock: one pass over what is due

    def _prepare(self, session: Session, row: Notification) -> _Claimed:
        assert row.id is not None
        route = session.get(NotificationRoute, row.route_id) if row.route_id else None
        config = None
        if route is not None and row.channel < len(route.channels):
            channel = route.channels[row.channel]
            if channel.get("type") == row.channel_type:
                config = dict(channel)
        return _Claimed(
            row.id, row.channel_type, row.idempotency_key, row.attempts,
            message_of(row.message, self.base_url), config,
        )  # fmt: skip

    def _send(self, row: _Claimed) -> Outcome:
        notifier = self.notifiers.get(row.channel_type)
        if row.config is None or notifier is None:
            return Rejected("its route or channel was deleted or changed since it was queued")
        return notifier.send(row.message, row.config, idempotency_key=row.idempotency_key)

    def _record(
        self, session: Session, claimed: _Claimed, outcome: Outcome, *, now: datetime
    ) -> str:
        row = session.get(Notification, claimed.id)
        if row is None or row.lease_owner != self.owner:
            return "retry"  # our lease ran out and another sender took the row
        row.attempts += 1
        row.lease_owner = row.lease_until = None
        if isinstance(outcome, Delivered):
            row.state, row.delivered_at, row.last_status = "delivered", now, outcome.status
            row.last_error = None
            kind = "delivered"
        elif isinstance(outcome, RetryLater) and not self.backoff.exhausted(row.attempts):
            wait = self.backoff.delay(
                row.attempts, jitter=self.rng.random(), retry_after=outcome.after_seconds
            )
            row.next_attempt_at, row.last_error = now + wait, outcome.reason
            kind = "retry"
        else:
            row.state, row.last_error = "dead", outcome.reason
            kind = "dead"
            log.warning("notification %s is dead after %d tries: %s", row.id, row.attempts,
                        outcome.reason)  # fmt: skip
        self.on_result(row.channel_type, kind)
        session.add(row)
        return kind


def lease_for(batch: int, timeout: float) -> timedelta:
    """A lease that outlasts ``batch`` sends that each take their whole ``timeout``."""
    return timedelta(seconds=2 * batch * timeout + 5)


def message_of(stored: Mapping[str, Any], base_url: str) -> Message:
    """The outbox's message with its link made from this service's base URL and its tiers
    as ``TierBurn``; a row queued before the upgrade gets its one tier from its flat fields."""
    fields = dict(stored)
    path = fields.pop("path", None)
    legacy = {name: fields.pop(name) for name in _LEGACY_TIER if name in fields}
    fields["at"] = datetime.fromisoformat(fields["at"])
    fields["url"] = f"{base_url.rstrip('/')}{path}" if path else None
    fields["tiers"] = tuple(tier_of(tier) for tier in fields.get("tiers") or ())
    if legacy.get("long_window") and legacy.get("short_window") and not fields["tiers"]:
        fields["tiers"] = (tier_of({"severity": fields["severity"], **legacy}),)
        # Each alert was then a page or a ticket of one tier: its severity names it.
        fields.setdefault("alert", fields["severity"])
    return Message(**fields)


def tier_of(stored: Mapping[str, Any]) -> TierBurn:
    """A tier as the outbox stores it (``alerting._tier``): windows, factor and burn rates."""
    return TierBurn(
        severity=stored["severity"],
        long_window=str(stored["long_window"]),
        short_window=str(stored["short_window"]),
        factor=float(stored["factor"]),
        long_burn_rate=_rate(stored.get("long_burn_rate")),
        short_burn_rate=_rate(stored.get("short_burn_rate")),
    )


def _rate(value: Any) -> float | None:
    return None if value is None else float(value)
