"""The interfaces the services use to reach SLI sources."""

from collections.abc import Sequence
from typing import Literal, Protocol

from slo_service.domain.budget import Counts
from slo_service.domain.sli import SliSpec

Problem = tuple[tuple[str, ...], str]
Values = list[tuple[int, Counts]]
NoData = Literal["ignore", "good", "bad"]


class SourceError(Exception):
    """A source failed or answered something unusable; the message says which and why."""


class SliSource(Protocol):
    """Measures an SLI: (good, total) for each bucket in ``[start, end)`` (epoch seconds,
    bucket-aligned), keyed by bucket start. Buckets without data are left out, or filled as
    ``no_data`` says for timeslices. Raises SourceError; never counts a failure as bad."""

    def measure(
        self, sli: SliSpec, *, start: int, end: int, bucket: int, no_data: NoData
    ) -> Values: ...


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
