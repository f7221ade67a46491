"""How the SLA pages narrow thousands of services to what a reader looks at: a search on the
service's name, a team, a state, and pages of a bounded number of services.

Pure functions over plain values, shared by the overview and the monthly report: a service's
flags (breached, at risk, frozen, firing, no data) decide whether it needs attention; what
the filter leaves out is counted per team instead of listed.
"""

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import quote

# The states a reader filters by, as the query's ``state`` and the words the page shows.
STATES: dict[str, str] = {
    "attention": "need attention",
    "breached": "breached",
    "at-risk": "at risk",
    "frozen": "deploys frozen",
    "firing": "alerts firing",
    "no-data": "no data",
    "healthy": "healthy",
    "all": "all",
}
ATTENTION = frozenset({"breached", "at-risk", "frozen", "firing"})
PAGE_SIZE = 25  # services per page: 125 rows of five SLOs stay well under 300 KB of HTML
NO_TEAM = ""
MAX_SEARCH = 100  # characters of a search or a team
T = TypeVar("T")


@dataclass(frozen=True)
class Filter:
    """What the reader asked for: ``q`` within the service's name (any case), one team (its
    label's value, exactly), one of ``STATES``, and a page from 1."""

    q: str = ""
    team: str | None = None
    state: str = "attention"
    page: int = 1

    def is_default(self) -> bool:
        return self == Filter()

    def query(self, **changes: str | int | None) -> str:
        """This filter as a query string with some fields changed (defaults left out)."""
        values = {"q": self.q, "team": self.team, "state": self.state, "page": self.page}
        values.update(changes)
        defaults = {"q": "", "team": None, "state": "attention", "page": 1}
        kept = {k: v for k, v in values.items() if v != defaults[k]}
        return "&".join(f"{k}={quote(str(v), safe='')}" for k, v in kept.items())


@dataclass(frozen=True)
class Page:
    number: int
    pages: int
    total: int  # services that match
    first: int  # 1-based position of the first on this page (0 when none match)
    last: int


@dataclass(frozen=True)
class Group:
    """Services left out of the list, counted: a team's services and its SLOs by state."""

    team: str
    services: int
    states: Counter[str] = field(default_factory=Counter)


def flags(states: Iterable[str], *, frozen: bool, alerts: int) -> frozenset[str]:
    """A service's flags from its SLOs' states (ok, warning, exhausted, no_data), whether its
    deploys are frozen and how many alerts fire."""
    found = {_FLAG[state] for state in states if state in _FLAG}
    if frozen:
        found.add("frozen")
    if alerts:
        found.add("firing")
    return frozenset(found)


_FLAG = {"exhausted": "breached", "warning": "at-risk", "no_data": "no-data"}


def in_state(service_flags: frozenset[str], state: str) -> bool:
    """Whether a service with these flags is one the ``state`` filter lists."""
    if state == "all":
        return True
    if state == "attention":
        return bool(service_flags & ATTENTION)
    if state == "healthy":
        return not service_flags & ATTENTION
    return state in service_flags


def searched(service: str, teams: Iterable[str], wanted: Filter) -> bool:
    """Whether a service is within the search and the team (not the state)."""
    if wanted.q and wanted.q.casefold() not in service.casefold():
        return False
    return wanted.team is None or wanted.team in set(teams)


def page_of(items: Sequence[T], number: int, size: int = PAGE_SIZE) -> tuple[list[T], Page]:
    """The ``number``-th page of ``items`` (past the last: the last one)."""
    pages = max(1, -(-len(items) // size))
    number = min(max(1, number), pages)
    start = (number - 1) * size
    shown = list(items[start : start + size])
    first = start + 1 if shown else 0
    return shown, Page(number, pages, len(items), first, start + len(shown))


def groups(teams: Iterable[tuple[str, Iterable[str]]]) -> list[Group]:
    """(team, its SLOs' states) per service left out → per team: services and SLOs by state,
    the largest team first (no team last)."""
    services: Counter[str] = Counter()
    states: dict[str, Counter[str]] = {}
    for team, slo_states in teams:
        services[team] += 1
        states.setdefault(team, Counter()).update(slo_states)
    order = sorted(services, key=lambda team: (team == NO_TEAM, -services[team], team))
    return [Group(team, services[team], states[team]) for team in order]
