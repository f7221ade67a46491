"""API shapes of where an SLO stands: its status (window, budget, burn rates, tiers) and its
history of points."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class WindowPublic(BaseModel):
    spec: str
    start: datetime = Field(description="Start of the measured span (period start if calendar).")
    end: datetime = Field(description="End of the measured span: the last evaluated bucket's end.")


class BudgetPublic(BaseModel):
    total: float = Field(description="The error budget as a fraction: 1 - objective.")
    consumed: float | None = Field(description="Fraction of the budget spent; above 1 overspent.")
    remaining: float | None = Field(description="1 - consumed; negative when overspent.")
    remaining_minutes: float | None = Field(
        description="For timeslice SLOs: bad minutes still allowed in the period."
    )


class FiringTierPublic(BaseModel):
    severity: Literal["page", "ticket"]
    long_window: str
    short_window: str
    factor: float = Field(description="Burn rate both windows exceed.")
    long_burn_rate: float
    short_burn_rate: float


class TierPublic(BaseModel):
    """One of the SLO's effective burn-rate tiers, and how it stands."""

    severity: Literal["page", "ticket"]
    long_window: str = Field(description="e.g. 1h for a 30-day SLO, 14m for a 7-day one.")
    short_window: str
    factor: float = Field(description="It fires when both windows burn faster than this.")
    hold: str | None = Field(
        default=None, description="It fires once both windows stayed over the factor this long."
    )
    long_burn_rate: float | None
    short_burn_rate: float | None
    short_window_events: float = Field(description="Events (or minutes) in the short window.")
    firing: bool
    held_back: bool = Field(
        description="Over its factor, but the short window holds fewer than min_events events."
    )


class AlertingStatusPublic(BaseModel):
    enabled: bool
    min_events: float
    no_data_for: str | None = Field(description="null: no no-data alert.")
    tiers: list[TierPublic] = Field(
        description="Every effective tier: the user's, or the defaults scaled to the window."
    )


class LabelCoveragePublic(BaseModel):
    """How many of a performance SLO's predictions were labeled in the last period judged."""

    start: datetime
    end: datetime
    predicted: int
    labeled: int
    coverage: float | None = Field(description="labeled / predicted; null without predictions.")
    expected: float = Field(description="The SLO's min_coverage.")
    missing: bool = Field(description="Coverage under expected: labels are not arriving.")


class SLOStatusPublic(BaseModel):
    """Where an SLO stands as of its last evaluated bucket."""

    id: int
    service: str
    name: str
    objective: float
    window: WindowPublic
    sli: float | None
    good: float
    total: float
    error_budget: BudgetPublic
    burn_rates: dict[str, float | None] = Field(
        description="Burn rate over 5m, 30m, 1h, 2h, 6h, 1d, 3d and the whole window; "
        "null without data."
    )
    time_to_exhaustion_seconds: float | None = Field(
        description="Seconds until the budget is spent at the last hour's burn rate; 0 when "
        "spent, null when not burning."
    )
    state: Literal["ok", "warning", "exhausted", "no_data"]
    alerts: list[FiringTierPublic] = Field(description="Burn-rate tiers firing now.")
    alerting: AlertingStatusPublic
    data_until: datetime | None = Field(
        description="End of the last bucket the source gave data for."
    )
    evaluated_until: datetime | None
    last_error: str | None
    labels: LabelCoveragePublic | None = Field(
        default=None,
        description="Performance SLOs with min_coverage: the label coverage of the last period "
        "judged.",
    )


class HistoryPointPublic(BaseModel):
    at: datetime = Field(description="End of the window this point measures.")
    good: float
    total: float
    sli: float | None
    budget_remaining: float | None


class HistoryPublic(BaseModel):
    id: int
    window: str
    step_seconds: int
    points: list[HistoryPointPublic]
