"""The interfaces the services use to reach SLI sources."""

from collections.abc import Sequence
from typing import Protocol

from slo_service.domain.sli import SliSpec

Problem = tuple[tuple[str, ...], str]


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
