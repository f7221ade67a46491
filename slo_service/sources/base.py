"""The interfaces the services use to reach SLI sources."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from slo_service.domain.series import Buckets
from slo_service.domain.sli import SliSpec

Problem = tuple[tuple[str, ...], str]
NoData = Literal["ignore", "good", "bad"]


class SourceError(Exception):
    """A source failed or answered something unusable; the message says which and why."""


@dataclass(frozen=True)
class Request:
    """Measure ``sli`` over the buckets in ``[start, end)`` (epoch seconds, bucket-aligned)."""

    key: int
    sli: SliSpec
    start: int
    end: int
    no_data: NoData = "ignore"


Answer = Buckets | SourceError


class SliSource(Protocol):
    """Measures SLIs: (good, total) per bucket of each request's range, or the SourceError
    that kept it from measuring (never counted as bad). Buckets without data have a NaN
    total, or are filled as ``no_data`` says for timeslices. Requests are measured together
    so that a source can share queries between them."""

    def measure(self, requests: Sequence[Request], *, bucket: int) -> dict[int, Answer]: ...


class GaugeReader(Protocol):
    """Reads what a gauge expression is worth at one instant (the on-call view's numbers)."""

    def latest(self, query: str, *, at: int) -> float | None:
        """The value of ``query`` (one series) at ``at`` (epoch seconds); None without data.
        Raises SourceError when the source fails or answers several series."""
        ...


class QueryChecker(Protocol):
    """Asks a source whether it accepts an SLI's queries, before the SLO is stored."""

    def check(self, sli: SliSpec) -> Sequence[Problem]:
        """The problems found, each as (field path inside ``sli``, reason); empty when fine or
        when the source cannot be reached (the local checks have run already)."""
        ...


class NoQueryChecker:
    """For SLIs known to have no queries to check (pushed ones, e.g. the demo's)."""

    def check(self, sli: SliSpec) -> Sequence[Problem]:
        return []
