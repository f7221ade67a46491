"""Burn-rate alerts: the state machine of each (SLO, tier), routing, and delivery retries.

Each (SLO, tier) is inactive, firing, or resolved (inactive again, with history). After every
evaluation the tiers that fire are compared with the alerts that are firing: a tier that fires
without an alert triggers one, a firing alert whose tier no longer fires resolves, and one that
keeps firing is sent again once its route's repeat interval has passed. The dedup key is the
same for every episode of one (SLO, tier), so a channel that deduplicates (PagerDuty) ties
them to one incident.

Routes are tried in order: the first that matches takes the alert, and the search goes on only
past a route that says ``continue``; default routes take what no route matched.

A failed delivery is tried again after an exponential backoff with jitter, and never before a
receiver's Retry-After; after ``max_attempts`` it is dead.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from slo_service.domain.burn import Severity

Transition = Literal["trigger", "resolve", "repeat"]


def dedup_key(slo_id: int, severity: str, long_window: str, short_window: str) -> str:
    """Stable for one (SLO, tier): ``slo-7-page-1h-5m``."""
    return f"slo-{slo_id}-{severity}-{long_window}-{short_window}"


@dataclass(frozen=True)
class Firing:
    """An alert that is firing, as stored: when it started and when each route last heard."""

    key: str
    started_at: datetime
    notified: Mapping[int, datetime] = field(default_factory=dict)  # route id -> last sent


def transitions(
    firing_now: Iterable[str], stored: Iterable[Firing]
) -> list[tuple[str, Transition]]:
    """Triggers for the tiers firing without an alert, resolves for the alerts whose tier
    stopped; sorted by key, so that repeated runs write in one order."""
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

    def matches(self, service: str, labels: Mapping[str, str], severity: str) -> bool:
        return (
            (not self.services or service in self.services)
            and (not self.severities or severity in self.severities)
            and all(labels.get(key) == value for key, value in self.labels.items())
        )


def route(
    routes: Sequence[Route], *, service: str, labels: Mapping[str, str], severity: str
) -> list[int]:
    """The ids of the routes that take a message, in order."""
    taken: list[int] = []
    for candidate in routes:
        if candidate.default or not candidate.matches(service, labels, severity):
            continue
        taken.append(candidate.id)
        if not candidate.continue_matching:
            return taken
    if taken:
        return taken
    return [r.id for r in routes if r.default and r.matches(service, labels, severity)]


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
