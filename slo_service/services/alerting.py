"""Alerts follow evaluation: after each one, the tiers that fire are compared with the alerts
that are firing (``domain.alerts``), transitions are stored, and each is put in the outbox for
every channel of every route that takes it, in the same transaction. A freeze that starts or
lifts is put in the outbox the same way.

What goes in the outbox is the message's content; links are made when it is sent, so they
follow ``SLO_PUBLIC_BASE_URL``.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlmodel import Session

from slo_service.domain import alerts as domain
from slo_service.domain.burn import Severity
from slo_service.domain.windows import parse_duration
from slo_service.models import SLO, Alert, GateFreeze, NotificationRoute
from slo_service.repositories import alerts as alert_repo
from slo_service.schemas import FiringTierPublic, SLOStatusPublic
from slo_service.services.status import alerting_enabled

FREEZE_SEVERITY = "ticket"  # a freeze is news for the team, not a page


def follow(
    session: Session, slos: Sequence[SLO], statuses: Mapping[int, SLOStatusPublic], *, now: datetime
) -> None:
    """Store the transitions of ``slos``'s alerts and enqueue their notifications."""
    stored = {a.dedup_key: a for a in alert_repo.firing_of(session, [s.id for s in slos if s.id])}
    by_slo: dict[int, list[Alert]] = {}
    for stored_alert in stored.values():
        by_slo.setdefault(stored_alert.slo_id, []).append(stored_alert)
    routes = alert_repo.routes(session)
    sent = alert_repo.last_sent(session, [a.id for a in stored.values() if a.id is not None])
    rows: list[dict[str, Any]] = []
    for slo in slos:
        assert slo.id is not None
        status = statuses[slo.id]
        tiers = {_key(slo.id, t): t for t in status.alerts} if alerting_enabled(slo) else {}
        mine = by_slo.get(slo.id, [])
        firing = [domain.Firing(a.dedup_key, a.started_at, _sent_to(a, sent)) for a in mine]
        for key, change in domain.transitions(tiers, firing):
            if change == "trigger":
                alert = _trigger(session, slo, tiers[key], status, now=now)
            else:
                alert = stored[key]
                _resolve(alert, status, now=now)
                session.add(alert)
            rows += _outbox(routes, alert, slo, status, change, now=now)
        for alert in mine:
            if alert.dedup_key in tiers:
                _refresh(alert, tiers[alert.dedup_key], status, now=now)
                session.add(alert)
                rows += _repeats(routes, alert, slo, status, sent, now=now)
    alert_repo.enqueue(session, rows)


def retire(session: Session, slo: SLO, *, now: datetime) -> None:
    """Resolve the firing alerts of an SLO that is deleted, so that no incident stays open."""
    assert slo.id is not None
    routes = alert_repo.routes(session)
    rows: list[dict[str, Any]] = []
    for alert in alert_repo.firing_of(session, [slo.id]):
        alert.state, alert.resolved_at, alert.updated_at = "resolved", now, now
        session.add(alert)
        rows += _outbox(routes, alert, slo, None, "resolve", now=now)
    alert_repo.enqueue(session, rows)
    session.flush()


def freeze_changed(session: Session, freeze: GateFreeze, *, started: bool, now: datetime) -> None:
    """Enqueue the news that a service's freeze started or was lifted."""
    assert freeze.id is not None
    event = "freeze_start" if started else "freeze_lift"
    who = freeze.started_by if started else freeze.lifted_by
    why = freeze.reason if started else freeze.lift_reason
    verb = "frozen" if started else "unfrozen"
    by = f" because {freeze.slo_name}'s budget is spent" if freeze.cause == "budget" else ""
    message = {
        "event": event, "dedup_key": f"freeze-{freeze.service}-{freeze.cause}",
        "service": freeze.service, "slo": None, "severity": FREEZE_SEVERITY,
        "summary": f"{freeze.service}: deploys {verb} ({freeze.cause}){by}",
        "at": now.isoformat(), "path": f"/api/v1/gate?service={freeze.service}",
        "details": {"cause": freeze.cause, "slo": freeze.slo_name, "reason": why, "by": who},
    }  # fmt: skip
    stored = alert_repo.routes(session)
    taken = domain.route(
        [_rule(r) for r in stored], service=freeze.service, labels={}, severity=FREEZE_SEVERITY
    )
    routes = {r.id: r for r in stored}
    key = f"freeze:{freeze.id}:{event}"
    rows = [
        _row(routes[route_id], index, key, message, alert_id=None)
        for route_id in taken
        for index in range(len(routes[route_id].channels))
    ]
    alert_repo.enqueue(session, rows)


def _key(slo_id: int, tier: FiringTierPublic) -> str:
    return domain.dedup_key(slo_id, tier.severity, tier.long_window, tier.short_window)


def _sent_to(alert: Alert, sent: Mapping[tuple[int, int], datetime]) -> dict[int, datetime]:
    return {route: at for (alert_id, route), at in sent.items() if alert_id == alert.id}


def _trigger(
    session: Session, slo: SLO, tier: FiringTierPublic, status: SLOStatusPublic, *, now: datetime
) -> Alert:
    assert slo.id is not None
    alert = Alert(
        slo_id=slo.id, dedup_key=_key(slo.id, tier), service=slo.service, slo_name=slo.name,
        severity=tier.severity, long_window=tier.long_window, short_window=tier.short_window,
        state="firing", started_at=now, factor=tier.factor, updated_at=now,
    )  # fmt: skip
    _refresh(alert, tier, status, now=now)
    return alert_repo.add(session, alert)


def _refresh(
    alert: Alert, tier: FiringTierPublic, status: SLOStatusPublic, *, now: datetime
) -> None:
    alert.factor = tier.factor
    alert.long_burn_rate, alert.short_burn_rate = tier.long_burn_rate, tier.short_burn_rate
    alert.budget_remaining = status.error_budget.remaining
    alert.updated_at = now


def _resolve(alert: Alert, status: SLOStatusPublic, *, now: datetime) -> None:
    alert.state, alert.resolved_at, alert.updated_at = "resolved", now, now
    alert.long_burn_rate = status.burn_rates.get(alert.long_window)
    alert.short_burn_rate = status.burn_rates.get(alert.short_window)
    alert.budget_remaining = status.error_budget.remaining


def _rule(row: NotificationRoute) -> domain.Route:
    assert row.id is not None
    return domain.Route(
        row.id, services=row.services, labels=row.labels,
        severities=cast(list[Severity], row.severities),
        continue_matching=row.continue_matching, default=row.is_default,
    )  # fmt: skip


def _outbox(
    routes: Sequence[NotificationRoute],
    alert: Alert,
    slo: SLO,
    status: SLOStatusPublic | None,
    event: str,
    *,
    now: datetime,
) -> list[dict[str, Any]]:
    """One row per channel of each route that takes ``alert``'s ``event``."""
    assert alert.id is not None
    taken = set(domain.route([_rule(r) for r in routes], service=slo.service,
                             labels=slo.labels, severity=alert.severity))  # fmt: skip
    message = _message(alert, slo, status, event, now=now)
    key = f"alert:{alert.id}:{event}:{int(now.timestamp())}"
    return [
        _row(r, index, key, message, alert_id=alert.id)
        for r in routes
        if r.id in taken
        for index in range(len(r.channels))
    ]


def _repeats(
    routes: Sequence[NotificationRoute],
    alert: Alert,
    slo: SLO,
    status: SLOStatusPublic,
    sent: Mapping[tuple[int, int], datetime],
    *,
    now: datetime,
) -> list[dict[str, Any]]:
    """The repeat of a still-firing alert for each route whose repeat interval has passed."""
    firing = domain.Firing(alert.dedup_key, alert.started_at, _sent_to(alert, sent))
    due = [
        r for r in routes
        if r.id is not None and domain.repeat_due(
            firing, r.id, parse_duration(r.repeat_interval) if r.repeat_interval else None,
            now=now,
        )
    ]  # fmt: skip
    return _outbox(due, alert, slo, status, "repeat", now=now) if due else []


def _message(
    alert: Alert, slo: SLO, status: SLOStatusPublic | None, event: str, *, now: datetime
) -> dict[str, Any]:
    name = f"{slo.service}:{slo.name}"
    long, short = alert.long_window, alert.short_window
    if event == "resolve" and status is None:
        summary = f"{name} was deleted: its {alert.severity} alert ({long}/{short}) is resolved"
    elif event == "resolve":
        summary = (f"{name}: burn rate back under {alert.factor:.1f}x over {long} or {short} "
                   f"({alert.severity} resolved)")  # fmt: skip
    else:
        summary = (f"{name} burns its error budget {alert.long_burn_rate or 0:.1f}x over {long} "
                   f"and {alert.short_burn_rate or 0:.1f}x over {short} "
                   f"(fires over {alert.factor:.1f}x)")  # fmt: skip
    return {
        "event": event, "dedup_key": alert.dedup_key, "service": slo.service, "slo": name,
        "severity": alert.severity, "summary": summary, "at": now.isoformat(),
        "path": f"/slos/{slo.id}", "long_window": long, "short_window": short,
        "factor": alert.factor, "long_burn_rate": alert.long_burn_rate,
        "short_burn_rate": alert.short_burn_rate, "budget_remaining": alert.budget_remaining,
        "time_to_exhaustion_seconds": status.time_to_exhaustion_seconds if status else None,
        "objective": slo.objective, "window": slo.window, "labels": dict(slo.labels),
        "details": {},
    }  # fmt: skip


def _row(
    route: NotificationRoute,
    index: int,
    key: str,
    message: Mapping[str, Any],
    *,
    alert_id: int | None,
) -> dict[str, Any]:
    assert route.id is not None
    channel = route.channels[index]
    return {
        "idempotency_key": f"{key}:{route.id}:{index}", "route_id": route.id,
        "route_name": route.name, "channel": index, "channel_type": channel["type"],
        "alert_id": alert_id, "event": message["event"], "dedup_key": message["dedup_key"],
        "service": message["service"], "message": dict(message), "state": "pending",
        "attempts": 0, "next_attempt_at": datetime.fromisoformat(message["at"]),
        "created_at": datetime.fromisoformat(message["at"]),
    }  # fmt: skip
