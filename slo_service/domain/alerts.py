"""Alerts: the state machine of each SLO's alerts, inhibition, routing, and delivery retries.

An SLO has at most four alerts, each with a stable dedup key: ``page`` (any page-severity
burn-rate tier fires), ``ticket`` (any ticket tier fires), ``nodata`` (its source has given no
data for ``no_data_for``; a ticket) and, for a performance SLO with ``min_coverage``,
``labels_missing`` (too few of its predictions were labeled once their labels were due; a
ticket). After every evaluation the alerts that should fire are
compared with those that are firing: one that should fire without a stored alert triggers, a
stored one that should no longer fire resolves. The dedup key is the same for every episode of
one alert, so a channel that deduplicates (PagerDuty) ties them to one incident.

While an SLO's page fires, its ticket is inhibited (as Alertmanager's inhibit rules do): it is
kept, shown as inhibited, and not sent. One burning SLO is one incident: a ticket muted by the
page stays muted after the page resolves for as long as the page's burn is still inside the
ticket's short windows (``hold``, the longest of them); if it still fires after that, the
budget burns anew and it is sent. One that resolves unsent is never heard of. A firing alert
that was sent is sent again once its route's repeat interval has passed.

Routes are tried in order: the first that matches takes the message, and the search goes on
only past a route that says ``continue``; default routes take what no route matched. A route
takes alerts, freeze news, or both (``events``).

A failed delivery is tried again after an exponential backoff with jitter, and never before a
receiver's Retry-After; after ``max_attempts`` it is dead.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from slo_service.domain.burn import Severity

Transition = Literal["trigger", "resolve", "repeat"]
AlertName = Literal["page", "ticket", "nodata", "labels_missing"]
RouteEvent = Literal["alerts", "freeze"]

SEVERITY: dict[AlertName, Severity] = {
    "page": "page",
    "ticket": "ticket",
    "nodata": "ticket",
    "labels_missing": "ticket",
}


def dedup_key(slo_id: int, name: AlertName) -> str:
    """Stable for one alert of an SLO: ``slo-7-page``, ``slo-7-ticket``, ``slo-7-nodata``."""
    return f"slo-{slo_id}-{name}"


def inhibited(
    name: AlertName,
    firing: Iterable[AlertName],
    *,
    notified: bool = False,
    held_until: datetime | None = None,
    now: datetime | None = None,
) -> bool:
    """Whether an alert is muted by another of the same SLO: the ticket while the page fires,
    and a ticket never sent until ``held_until`` (set when the page that muted it resolved)."""
    if name != "ticket":
        return False
    if "page" in set(firing):
        return True
    return not notified and held_until is not None and now is not None and now < held_until


def to_send(change: Transition | None, *, inhibited: bool, notified: bool) -> Transition | None:
    """What to tell the routes of an alert after an evaluation: its ``change`` (None: it keeps
    firing), whether it is inhibited now, and whether any route was ever sent it."""
    if change == "resolve":
        return "resolve" if notified else None
    if inhibited:
        return None
    if change == "trigger" or not notified:
        return "trigger"
    return "repeat"


@dataclass(frozen=True)
class Firing:
    """An alert that is firing, as stored: when it started and when each route last heard."""

    key: str
    started_at: datetime
    notified: Mapping[int, datetime] = field(default_factory=dict)  # route id -> last sent


def transitions(
    firing_now: Iterable[str], stored: Iterable[Firing]
) -> list[tuple[str, Transition]]:
    """Triggers for the alerts that should fire and are not stored, resolves for the stored
    ones that should no longer fire; sorted by key, so that repeated runs write in one order."""
    now_keys = set(firing_now)
    stored_keys = {alert.key for alert in stored}
    changes: list[tuple[str, Transition]] = [(key, "trigger") for key in now_keys - stored_keys]
    changes += [(key, "resolve") for key in stored_keys - now_keys]
    return sorted(changes)


def repeat_due(
    alert: Firing, route_id: int, repeat_every: timedelta | None, *, now: datetime
) -> bool:
    """Whether a still-firing alert is sent again to a route (never when ``repeat_every`` is
    None); counted from the last time the route was sent it, or from the start."""
    if repeat_every is None:
        return False
    last = alert.notified.get(route_id, alert.started_at)
    return now - last >= repeat_every


@dataclass(frozen=True)
class Route:
    id: int
    services: Sequence[str] = ()  # empty: any
    labels: Mapping[str, str] = field(default_factory=dict)  # all must match
    severities: Sequence[Severity] = ()  # empty: any
    continue_matching: bool = False
    default: bool = False
    events: Sequence[RouteEvent] = ("alerts",)

    def matches(
        self, service: str, labels: Mapping[str, str], severity: str, event: RouteEvent
    ) -> bool:
        """Freeze news is per service: a route's labels and severities do not apply to it."""
        if event not in self.events or (self.services and service not in self.services):
            return False
        return event == "freeze" or (
            (not self.severities or severity in self.severities)
            and all(labels.get(key) == value for key, value in self.labels.items())
        )


def route(
    routes: Sequence[Route],
    *,
    service: str,
    labels: Mapping[str, str],
    severity: str,
    event: RouteEvent = "alerts",
) -> list[int]:
    """The ids of the routes that take a message, in order."""
    taken: list[int] = []
    for candidate in routes:
        if candidate.default or not candidate.matches(service, labels, severity, event):
            continue
        taken.append(candidate.id)
        if not candidate.continue_matching:
            return taken
    if taken:
        return taken
    return [r.id for r in routes if r.default and r.matches(service, labels, severity, event)]


@dataclass(frozen=True)
class Backoff:
    base: timedelta = timedelta(seconds=10)
    cap: timedelta = timedelta(hours=1)
    max_attempts: int = 8

    def delay(self, attempts: int, *, jitter: float, retry_after: float | None) -> timedelta:
        """How long to wait after the ``attempts``-th failed try (1-based): base * 2^(n-1),
        capped, scaled by ``jitter`` in [0, 1) to between half and all of it (so that many
        failed rows do not come back at once), and never under the receiver's Retry-After."""
        exponential: timedelta = min(self.cap, self.base * 2 ** max(attempts - 1, 0))
        wait: timedelta = exponential * (0.5 + jitter / 2)
        if retry_after is not None:
            wait = max(wait, timedelta(seconds=retry_after))
        return wait

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts


def silent(data_until: datetime, *, now: datetime, no_data_for: timedelta | None) -> bool:
    """Whether a source that last gave data for the bucket ending ``data_until`` has been
    silent for ``no_data_for`` (never, when that is None)."""
    return no_data_for is not None and now - data_until >= no_data_for
