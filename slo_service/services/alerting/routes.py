"""Notification routes: stored with their channels' secrets, shown without them, every change
audited (without the secrets); and a test message sent straight to a route's channels."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from slo_service.domain.ids import parse_id
from slo_service.errors import Conflict, InvalidInput, NotFound
from slo_service.models import Alert, Notification, NotificationRoute
from slo_service.notify.base import Delivered, Message, Notifier, RetryLater
from slo_service.notify.registry import SECRETS
from slo_service.repositories import alerts as alert_repo
from slo_service.schemas.notify import (
    AlertPublic,
    ChannelPublic,
    ChannelTestResult,
    NotificationPublic,
    RouteIn,
    RoutePublic,
)
from slo_service.services import audit


def checked(body: RouteIn, notifiers: Mapping[str, Notifier]) -> RouteIn:
    """Each channel's settings checked by its notifier, then where each channel sends (its
    URL's host looked up and judged by the egress policy); a 422 names each problem."""
    problems: list[tuple[tuple[str | int, ...], str]] = [
        (("channels", index, *path), reason)
        for index, channel in enumerate(body.channels)
        for path, reason in notifiers[channel["type"]].check(channel)
    ]
    if not problems:  # only well-formed URLs are worth a DNS lookup
        problems = [
            (("channels", index, *path), reason)
            for index, channel in enumerate(body.channels)
            for path, reason in notifiers[channel["type"]].check_destination(channel)
        ]
    if problems:
        raise InvalidInput(problems)
    return body


def resolve(session: Session, ref: str) -> NotificationRoute:
    """A route by its id or its name (a route may be named with digits)."""
    route_id = parse_id(ref)
    row = alert_repo.route(session, route_id) if route_id is not None else None
    row = row or alert_repo.route_by_name(session, ref)
    if row is None:
        raise NotFound(f"no notification route {ref!r}")
    return row


def create(session: Session, body: RouteIn, *, actor: str, now: datetime) -> NotificationRoute:
    row = NotificationRoute(updated_by=actor, created_at=now, updated_at=now, **_columns(body))
    return _store(session, row, "route.create", actor)


def replace(
    session: Session, row: NotificationRoute, body: RouteIn, *, actor: str, now: datetime
) -> NotificationRoute:
    for key, value in _columns(body).items():
        setattr(row, key, value)
    row.updated_by, row.updated_at = actor, now
    return _store(session, row, "route.update", actor)


def delete(session: Session, row: NotificationRoute, *, actor: str) -> None:
    """Remove a route; what it queued and did not deliver yet is dead when its turn comes."""
    audit.record(session, actor=actor, action="route.delete", target_type="route",
                 target_id=row.id or 0, target=row.name, changes=_shown(row))  # fmt: skip
    alert_repo.delete_route(session, row)


def public(row: NotificationRoute) -> RoutePublic:
    assert row.id is not None
    return RoutePublic.model_validate(
        {**row.model_dump(exclude={"channels", "is_default", "continue_matching"}),
         "default": row.is_default, "continue": row.continue_matching,
         "channels": [_channel(c) for c in row.channels]}
    )  # fmt: skip


def alert_public(row: Alert) -> AlertPublic:
    return AlertPublic.model_validate({**row.model_dump(), "slo": f"{row.service}:{row.slo_name}"})


def notification_public(row: Notification) -> NotificationPublic:
    return NotificationPublic.model_validate(
        {**row.model_dump(), "route": row.route_name, "summary": row.message.get("summary", "")}
    )


def send_test(
    row: NotificationRoute, notifiers: Mapping[str, Notifier], *, base_url: str, now: datetime
) -> list[ChannelTestResult]:
    """Send a test message to every channel of ``row`` now, outside the outbox."""
    message = Message(
        event="test", dedup_key=f"slo-service-test-{row.name}", service="slo-service",
        slo=None, severity="ticket", at=now, url=base_url,
        summary=f"Test message from slo-service for route {row.name!r}: this channel works.",
    )  # fmt: skip
    results = []
    for index, channel in enumerate(row.channels):
        key = f"test:{row.id}:{index}:{int(now.timestamp())}"
        outcome = notifiers[channel["type"]].send(message, channel, idempotency_key=key)
        if isinstance(outcome, Delivered):
            kind, detail = "delivered", f"answered {outcome.status}"
        else:
            kind = "retry" if isinstance(outcome, RetryLater) else "rejected"
            detail = outcome.reason
        results.append(
            ChannelTestResult(
                channel=index, type=channel["type"], name=channel.get("name"), outcome=kind,
                detail=detail,
            )
        )  # fmt: skip
    return results


def _columns(body: RouteIn) -> dict[str, Any]:
    return {
        "name": body.name, "position": body.position, "services": body.services,
        "labels": body.labels, "severities": body.severities,
        "continue_matching": body.continue_matching, "is_default": body.default,
        "repeat_interval": body.repeat_interval, "events": list(body.events),
        "channels": [dict(c) for c in body.channels],
    }  # fmt: skip


def _channel(config: Mapping[str, Any]) -> ChannelPublic:
    kind = str(config["type"])
    return ChannelPublic(type=kind, name=config.get("name"),
                         configured=sorted(set(config) - {"type", "name"}))  # fmt: skip


def _shown(row: NotificationRoute) -> dict[str, Any]:
    """What the audit log keeps of a route: everything but its channels' secrets."""
    channels: Sequence[Mapping[str, Any]] = row.channels
    return {
        "services": row.services, "labels": row.labels, "severities": row.severities,
        "continue": row.continue_matching, "default": row.is_default,
        "repeat_interval": row.repeat_interval, "events": row.events,
        "channels": [{k: v for k, v in c.items() if k not in SECRETS.get(c["type"], ())}
                     for c in channels],
    }  # fmt: skip


def _store(session: Session, row: NotificationRoute, action: str, actor: str) -> NotificationRoute:
    try:
        with session.begin_nested():
            alert_repo.save_route(session, row)
    except IntegrityError:
        raise Conflict(f"a notification route named {row.name!r} exists already") from None
    audit.record(session, actor=actor, action=action, target_type="route",
                 target_id=row.id or 0, target=row.name, changes=_shown(row))  # fmt: skip
    return row
