"""What evaluation keeps on each SLO after a successful run (``SLO.summary``): its budget,
burn rates, firing tiers and state at that moment. The gate, the overview and ``/metrics``
read it instead of computing a status; this model is the one shape both sides use, so a
renamed field fails loudly instead of reading as ``None``."""

from collections.abc import Mapping
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict


class _Kept(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SummaryTier(_Kept):
    severity: str
    long_window: str
    short_window: str
    factor: float
    firing: bool


class Summary(_Kept):
    evaluated_at: AwareDatetime
    evaluated_until: AwareDatetime | None
    sli: float | None
    remaining: float | None
    consumed: float | None
    burn_rates: dict[str, float | None]
    paging: bool  # a page alert fires
    # Summaries kept before migration 0007 have no tiers (their "alerts" are ignored): the
    # next evaluation writes them.
    tiers: tuple[SummaryTier, ...] = ()
    state: str
    time_to_exhaustion_seconds: float | None

    @classmethod
    def of(cls, kept: Mapping[str, Any] | None) -> "Summary | None":
        """The summary stored on an SLO, or None before its first successful evaluation."""
        if kept is None:
            return None
        return cls.model_validate({k: v for k, v in kept.items() if k != "alerts"})

    def stored(self) -> dict[str, Any]:
        """As the JSON column keeps it."""
        return self.model_dump(mode="json")
