"""Alerts follow evaluation: after each one, the alerts an SLO should have (its page and
ticket while a tier of theirs fires, its no-data ticket while its source is silent) are
compared with those firing (``domain.alerts``); transitions are stored, and each is put in the
outbox for every channel of every route that takes it, in the same transaction, unless it is
inhibited. A freeze that starts or lifts is put in the outbox the same way, for the routes that
take freeze news.

What goes in the outbox is the message's content; links are made when it is sent, so they
follow ``SLO_PUBLIC_BASE_URL``.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from sqlmodel import Session

from slo_service.domain import alerts as domain
from slo_service.domain.alerts import AlertName
from slo_service.domain.burn import Severity
from slo_service.domain.windows import parse_duration
from slo_service.models import SLO, Alert, GateFreeze, NotificationRoute
from slo_service.repositories import alerts as alert_repo
from slo_service.schemas.status import SLOStatusPublic, TierPublic

FREEZE_SEVERITY = "ticket"  # a freeze is news for the team, not a page
PAGERDUTY = "pagerduty"  # the channel type that keeps incidents by dedup key
BURN_ALERTS: tuple[Literal["page", "ticket"], ...] = ("page", "ticket")


@dataclass(frozen=True)
class _Wanted:
    """An alert that should fire now, and what makes it fire."""

    tiers: list[TierPublic]


def wanted(slo: SLO, status: SLOStatusPublic, *, now: datetime) -> dict[AlertName, _Wanted]:
    """The alerts of ``slo`` that should fire now: ``page`` and ``ticket`` while a tier of
    their severity fires, ``nodata`` while its source has been silent for ``no_data_for``,
    ``labels_missing`` while too few of its predictions are labeled (``status.labels``)."""
    if not status.alerting.enabled:
        return {}
    found: dict[AlertName, _Wanted] = {}
    for severity in BURN_ALERTS:
        tiers = [t for t in status.alerting.tiers if t.firing and t.severity == severity]
        if tiers:
            found[severity] = _Wanted(tiers)
    since = slo.data_until or slo.created_at
    no_data_for = status.alerting.no_data_for
    if domain.silent(
        since, now=now, no_data_for=parse_duration(no_data_for) if no_data_for else None
    ):
        found["nodata"] = _Wanted([])
    if status.labels is not None and status.labels.missing:
        found["labels_missing"] = _Wanted([])
    return found


def follow(
    session: Session, slos: Sequence[SLO], statuses: Mapping[int, SLOStatusPublic], *, now: datetime
) -> None:
    """Store the transitions of ``slos``'s alerts and enqueue their notifications."""
    stored = alert_repo.firing_of(session, [s.id for s in slos if s.id])
    by_slo: dict[int, dict[AlertName, Alert]] = {}
    for row in stored:
        by_slo.setdefault(row.slo_id, {})[cast(AlertName, row.name)] = row
    routes = alert_repo.routes(session)
    sent = alert_repo.last_sent(session, [a.id for a in stored if a.id is not None])
    rows: list[dict[str, Any]] = []
    for slo in slos:
        assert slo.id is not None
        status = statuses[slo.id]
        should = wanted(slo, status, now=now)
        mine = by_slo.get(slo.id, {})
        firing = [domain.Firing(name, a.started_at) for name, a in mine.items()]
        changes = dict(domain.transitions(should, firing))
        # In name order: the page's transition is known when its ticket is looked at.
        for name in sorted({*should, *mine}):
            alert = _apply(session, slo, name, changes.get(name), should, mine, status, now=now)
            notified = any(alert_id == alert.id for alert_id, _ in sent)
            _mute(alert, should, page_resolved=changes.get("page") == "resolve",
                  notified=notified, status=status, now=now)  # fmt: skip
            send = domain.to_send(changes.get(name), inhibited=alert.inhibited, notified=notified)
            if send == "repeat":
                rows += _repeats(routes, alert, slo, status, sent, now=now)
            elif send is not None:
                rows += _outbox(routes, alert, slo, status, send, now=now)
    alert_repo.enqueue(session, rows)


def _apply(
    session: Session,
    slo: SLO,
    name: AlertName,
    change: domain.Transition | None,
    should: Mapping[AlertName, _Wanted],
    mine: Mapping[AlertName, Alert],
    status: SLOStatusPublic,
    *,
    now: datetime,
) -> Alert:
    """The alert ``name`` of ``slo`` after ``change``: triggered, resolved, or refreshed."""
    if change == "trigger":
        return _trigger(session, slo, name, should[name], status, now=now)
    alert = mine[name]
    if change == "resolve":
        _resolve(alert, status, now=now)
    else:
        _refresh(alert, should[name], status, now=now)
    session.add(alert)
    return alert


def _mute(
    alert: Alert,
    should: Mapping[AlertName, _Wanted],
    *,
    page_resolved: bool,
    notified: bool,
    status: SLOStatusPublic,
    now: datetime,
) -> None:
    """Whether ``alert`` is inhibited now; a ticket the page muted is held when it resolves."""
    name = cast(AlertName, alert.name)
    if name == "ticket" and alert.inhibited and page_resolved:
        alert.held_until = now + _hold(status)
    alert.inhibited = alert.state == "firing" and domain.inhibited(
        name, should, notified=notified, held_until=alert.held_until, now=now
    )


def _hold(status: SLOStatusPublic) -> timedelta:
    """How long a ticket muted by its page stays muted once the page resolved: until the
    page's burn has left the ticket's short windows (the longest of them)."""
    windows = [
        parse_duration(t.short_window) for t in status.alerting.tiers if t.severity == "ticket"
    ]
    return max(windows, default=timedelta(0))


def retire(session: Session, slo: SLO, *, now: datetime) -> None:
    """Resolve the firing alerts of an SLO that is deleted, so that no incident stays open."""
    assert slo.id is not None
    routes = alert_repo.routes(session)
    firing = alert_repo.firing_of(session, [slo.id])
    sent = alert_repo.last_sent(session, [a.id for a in firing if a.id is not None])
    rows: list[dict[str, Any]] = []
    for alert in firing:
        alert.state, alert.resolved_at, alert.updated_at = "resolved", now, now
        alert.inhibited = False
        session.add(alert)
        if any(alert_id == alert.id for alert_id, _ in sent):  # never sent: nothing to close
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
        [_rule(r) for r in stored],
        service=freeze.service,
        labels={},
        severity=FREEZE_SEVERITY,
        event="freeze",
    )
    routes = {r.id: r for r in stored}
    key = f"freeze:{freeze.id}:{event}"
    rows = [
        _row(routes[route_id], index, key, message, alert_id=None)
        for route_id in taken
        for index in range(len(routes[route_id].channels))
    ]
    alert_repo.enqueue(session, rows)


def _sent_to(alert: Alert, sent: Mapping[tuple[int, int], datetime]) -> dict[int, datetime]:
    return {route: at for (alert_id, route), at in sent.items() if alert_id == alert.id}


def _trigger(
    session: Session,
    slo: SLO,
    name: AlertName,
    why: _Wanted,
    status: SLOStatusPublic,
    *,
    now: datetime,
) -> Alert:
    assert slo.id is not None
    alert = Alert(
        slo_id=slo.id, name=name, dedup_key=domain.dedup_key(slo.id, name), service=slo.service,
        slo_name=slo.name, severity=domain.SEVERITY[name], state="firing", started_at=now,
        tiers=[], also_resolves=[], updated_at=now,
    )  # fmt: skip
    _refresh(alert, why, status, now=now)
    return alert_repo.add(session, alert)


def _tier(tier: TierPublic) -> dict[str, Any]:
    return tier.model_dump(include={"severity", "long_window", "short_window", "factor",
                                    "long_burn_rate", "short_burn_rate"})  # fmt: skip


def _refresh(alert: Alert, why: _Wanted, status: SLOStatusPublic, *, now: datetime) -> None:
    alert.tiers = [_tier(t) for t in why.tiers]
    alert.budget_remaining = status.error_budget.remaining
    alert.updated_at = now


def _resolve(alert: Alert, status: SLOStatusPublic, *, now: datetime) -> None:
    """Resolved, its tiers' burn rates as they are now."""
    alert.state, alert.resolved_at, alert.updated_at = "resolved", now, now
    current = {(t.long_window, t.short_window): t for t in status.alerting.tiers}
    alert.tiers = [
        _tier(current[(t["long_window"], t["short_window"])])
        if (t["long_window"], t["short_window"]) in current
        else t
        for t in alert.tiers
    ]
    alert.budget_remaining = status.error_budget.remaining


def _rule(row: NotificationRoute) -> domain.Route:
    assert row.id is not None
    return domain.Route(
        row.id, services=row.services, labels=row.labels,
        severities=cast(list[Severity], row.severities),
        continue_matching=row.continue_matching, default=row.is_default,
        events=cast(list[domain.RouteEvent], row.events),
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
    """One row per channel of each route that takes ``alert``'s ``event``; a resolve also
    closes, on PagerDuty, the per-tier incidents the alert took over (``also_resolves``)."""
    assert alert.id is not None
    taken = set(domain.route([_rule(r) for r in routes], service=slo.service,
                             labels=slo.labels, severity=alert.severity))  # fmt: skip
    message = _message(alert, slo, status, event, now=now)
    key = f"alert:{alert.id}:{event}:{int(now.timestamp())}"
    rows = [
        _row(r, index, key, message, alert_id=alert.id)
        for r in routes
        if r.id in taken
        for index in range(len(r.channels))
    ]
    if event == "resolve":
        rows += [
            _row(r, index, f"{key}:{former}", {**message, "dedup_key": former}, alert_id=alert.id)
            for former in alert.also_resolves
            for r in routes
            if r.id in taken
            for index, channel in enumerate(r.channels)
            if channel["type"] == PAGERDUTY
        ]
    return rows


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
    firing = domain.Firing(alert.name, alert.started_at, _sent_to(alert, sent))
    due = [
        r for r in routes
        if r.id is not None and domain.repeat_due(
            firing, r.id, parse_duration(r.repeat_interval) if r.repeat_interval else None,
            now=now,
        )
    ]  # fmt: skip
    return _outbox(due, alert, slo, status, "repeat", now=now) if due else []


def _burns(tiers: Sequence[Mapping[str, Any]]) -> str:
    """``98.1x over 1h and 102x over 5m (over 14.4x)`` for each tier, joined by ``; ``."""
    return "; ".join(
        f"{t['long_burn_rate'] or 0:.1f}x over {t['long_window']} and "
        f"{t['short_burn_rate'] or 0:.1f}x over {t['short_window']} (over {t['factor']:.3g}x)"
        for t in tiers
    )


def _summary(alert: Alert, slo: SLO, status: SLOStatusPublic | None, event: str) -> str:
    name = f"{slo.service}:{slo.name}"
    if event == "resolve" and status is None:
        return f"{name} was deleted: its {alert.name} alert is resolved"
    if alert.name == "nodata":
        if event == "resolve":
            return f"{name}: data is back (no-data alert resolved)"
        since = (slo.data_until or slo.created_at).strftime("%Y-%m-%d %H:%M UTC")
        error = f"; the source says: {slo.last_error}" if slo.last_error else ""
        return (f"{name}: no data from its source since {since}: its budget and burn-rate "
                f"alerts cannot see it{error}")  # fmt: skip
    if alert.name == "labels_missing":
        return _labels_summary(name, status, event)
    if event == "resolve":
        return f"{name}: {alert.name} resolved, burn rates now {_burns(alert.tiers)}"
    return f"{name} burns its error budget too fast: {_burns(alert.tiers)}"


def _labels_summary(name: str, status: SLOStatusPublic | None, event: str) -> str:
    labels = status.labels if status is not None else None
    if labels is None or labels.coverage is None:
        return f"{name}: labels missing alert {'resolved' if event == 'resolve' else 'fires'}"
    period = f"{labels.start:%Y-%m-%d %H:%M}-{labels.end:%H:%M} UTC"
    share = f"{labels.labeled} of {labels.predicted} predictions of {period} labeled " + (
        f"({labels.coverage:.0%}, {labels.expected:.0%} expected)"
    )
    if event == "resolve":
        return f"{name}: labels are arriving again: {share}"
    return f"{name}: labels not arriving: {share}; its performance cannot be judged without them"


def _message(
    alert: Alert, slo: SLO, status: SLOStatusPublic | None, event: str, *, now: datetime
) -> dict[str, Any]:
    return {
        "event": event, "dedup_key": alert.dedup_key, "service": slo.service,
        "slo": f"{slo.service}:{slo.name}", "alert": alert.name, "severity": alert.severity,
        "summary": _summary(alert, slo, status, event), "at": now.isoformat(),
        "path": f"/slos/{slo.id}", "tiers": list(alert.tiers),
        "budget_remaining": alert.budget_remaining,
        "time_to_exhaustion_seconds": status.time_to_exhaustion_seconds if status else None,
        "objective": slo.objective, "window": slo.window, "labels": dict(slo.labels),
        "details": _details(alert, slo, status),
    }  # fmt: skip


def _details(alert: Alert, slo: SLO, status: SLOStatusPublic | None) -> dict[str, Any]:
    if alert.name == "labels_missing":
        labels = status.labels if status is not None else None
        return {} if labels is None else labels.model_dump(mode="json", exclude={"missing"})
    if alert.name != "nodata":
        return {}
    since = slo.data_until or slo.created_at
    return {"no_data_since": since.isoformat(), "last_error": slo.last_error}


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
