"""Every configured datasource's Prometheus behind one object: evaluation measures through it
(as the ``prometheus`` source), SLOs are checked through it when saved, and
``GET /api/v1/datasources`` reads what it knows of each.

An SLI names its datasource (``sli.datasource``, ``default`` when left out); requests are
grouped by it, so queries are shared between the SLOs of one datasource as before, and each
datasource is asked with its own credentials, TLS, headers and timeout. Its health (the
outcome of its last query) is this process's: each replica keeps its own.
"""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from slo_service.domain.sli import SliSpec
from slo_service.sources.base import Answer, Problem, Request, SourceError
from slo_service.sources.datasources import DEFAULT, AuthKind, Datasource
from slo_service.sources.prometheus import PrometheusSource
from slo_service.sources.prometheus_checker import PrometheusChecker
from slo_service.sources.prometheus_http import Health


def datasource_of(sli: SliSpec) -> str:
    """The datasource an SLI is measured from (``default`` for every Prometheus SLI that names
    none; SLIs of other sources have none)."""
    return str(getattr(sli, "datasource", DEFAULT))


@dataclass(frozen=True)
class Status:
    """One datasource as ``GET /api/v1/datasources`` shows it: no secrets, headers by name."""

    name: str
    url: str
    auth: AuthKind
    header_names: tuple[str, ...]
    last_query_at: datetime | None
    last_error: str | None


class Datasources:
    """The ``prometheus`` SLI source, the save-time query checker and the gauge reader over
    every configured datasource; ``origin`` says where they were configured (for messages)."""

    def __init__(self, configured: Mapping[str, Datasource], *, origin: str) -> None:
        self.configured = dict(configured)
        self.origin = origin
        self._health = {name: Health() for name in self.configured}
        self._sources = {
            name: PrometheusSource(
                found.url, timeout=found.access.timeout, access=found.access, health=health
            )
            for (name, found), health in zip(
                self.configured.items(), self._health.values(), strict=True
            )
        }
        self._checkers = {
            name: PrometheusChecker(access=found.access, health=self._health[name])
            for name, found in self.configured.items()
        }

    def source(self, name: str) -> PrometheusSource:
        """The source of one configured datasource (KeyError for another name)."""
        return self._sources[name]

    def unknown(self, name: str) -> str:
        """What to say about an SLI whose datasource is not configured."""
        listed = ", ".join(self.configured)
        return f"no datasource {name!r} is configured ({self.origin} has {listed})"

    def measure(self, requests: Sequence[Request], *, bucket: int) -> dict[int, Answer]:
        """Each datasource measures its own SLIs, sharing queries among them."""
        by_name: dict[str, list[Request]] = defaultdict(list)
        for request in requests:
            by_name[datasource_of(request.sli)].append(request)
        answers: dict[int, Answer] = {}
        for name, same in by_name.items():
            source = self._sources.get(name)
            if source is None:
                answers |= {request.key: SourceError(self.unknown(name)) for request in same}
            else:
                answers |= source.measure(same, bucket=bucket)
        return answers

    def latest(self, query: str, *, at: int) -> float | None:
        """A gauge's value from the ``default`` datasource (the first listed without one)."""
        name = DEFAULT if DEFAULT in self._sources else next(iter(self._sources))
        return self._sources[name].latest(query, at=at)

    def check(self, sli: SliSpec) -> Sequence[Problem]:
        """An unknown datasource is a problem at ``datasource``; a known one checks the
        queries."""
        if not hasattr(sli, "datasource"):
            return []  # pushed and drift SLIs: nothing to ask a datasource
        name = datasource_of(sli)
        checker = self._checkers.get(name)
        if checker is None:
            return [(("datasource",), self.unknown(name))]
        return checker.check(sli)

    def statuses(self) -> list[Status]:
        """Every datasource, in the configured order, with its last query's outcome."""
        shown = []
        for name, found in self.configured.items():
            at, error = self._health[name].last()
            shown.append(Status(name, found.url, found.auth, found.header_names, at, error))
        return shown
