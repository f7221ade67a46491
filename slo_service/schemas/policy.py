"""API shapes of an SLO's policies as clients write them: how it gates deploys
(``GatePolicy``) and how it alerts (``AlertingPolicy``, its tiers, a service's defaults)."""

from typing import Annotated, Literal, Self

from pydantic import AfterValidator, Field, StrictBool, model_validator

from slo_service.domain.alert_settings import NEVER
from slo_service.domain.gate import StalePolicy
from slo_service.domain.windows import parse_duration
from slo_service.schemas.common import Duration, Input, check_duration


class GatePolicy(Input):
    """How an SLO's budget gates deploys of its service. A field left out (or null) takes the
    service's policy (``PUT /services/{service}/policy``), then the built-in default."""

    gating: StrictBool | None = Field(
        default=None, description="Whether this SLO can freeze deploys (default true)."
    )
    freeze_threshold: float | None = Field(
        default=None,
        ge=-1,
        lt=1,
        description="Deploys are denied when the remaining budget fraction is at or below this "
        "(default 0: the budget is spent).",
    )
    warn_threshold: float | None = Field(
        default=None,
        ge=-1,
        le=1,
        description="The gate warns at or below this remaining budget (default 0.25).",
    )
    stale_policy: StalePolicy | None = Field(
        default=None,
        description="Decision when data is stale: fail_open warns, fail_closed denies "
        "(default fail_open).",
    )
    staleness_limit: Duration | None = Field(
        default=None,
        description="No successful evaluation for this long means stale data (default 15m).",
    )

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        freeze, warn = self.freeze_threshold, self.warn_threshold
        if freeze is not None and warn is not None and freeze > warn:
            raise ValueError("freeze_threshold must not be above warn_threshold")
        return self


class AlertTier(Input):
    """A multi-window burn-rate tier: fires when both windows burn faster than its factor.
    Give the factor (the burn rate, e.g. 14.4), or the share of the budget the tier spends in
    its long window (``budget_spent``, e.g. 0.02 of a 30-day budget in 1h is 14.4)."""

    severity: Literal["page", "ticket"]
    long_window: Duration
    short_window: Duration
    factor: float | None = Field(
        default=None,
        gt=0,
        le=1_000_000,
        description="The burn rate both windows must exceed, at least 1 (a burn rate of 1 "
        "spends exactly the budget over the window).",
    )
    budget_spent: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Instead of factor: the share of the budget spent in the long window.",
    )
    hold: Duration | None = Field(
        default=None,
        description="Fire only once both windows have stayed over the factor this long "
        "(checked at each bucket; OpenSLO's alertAfter, Prometheus's for); none by default.",
    )

    @model_validator(mode="after")
    def _checked(self) -> Self:
        if parse_duration(self.short_window) >= parse_duration(self.long_window):
            raise ValueError("short_window must be shorter than long_window")
        if (self.factor is None) == (self.budget_spent is None):
            raise ValueError("give factor (e.g. 14.4) or budget_spent (e.g. 0.02), one of them")
        return self


def _no_data_for(value: str) -> str:
    return value if value == NEVER else check_duration(value)


class AlertingDefaults(Input):
    """A service's defaults for the alerting of its SLOs that set none."""

    min_events: float | None = Field(
        default=None,
        ge=0,
        le=1e12,
        description="A tier does not fire while its short window holds fewer events than this "
        "(default 10); timeslice SLOs are not affected.",
    )
    no_data_for: Annotated[str, AfterValidator(_no_data_for)] | None = Field(
        default=None,
        description="Raise the no-data ticket after this long without data from the source "
        "(default 30m; 1d for drift-store SLIs, which come in batches); never: no such alert.",
    )


class AlertingPolicy(AlertingDefaults):
    """How an SLO alerts. ``min_events`` and ``no_data_for`` left out (or null) take its
    service's policy, then the built-in default."""

    enabled: StrictBool = True
    tiers: list[AlertTier] | None = Field(
        default=None,
        max_length=8,
        description="Burn-rate tiers, each keeping its windows. Left out: the SRE workbook's "
        "four (14.4x over 1h/5m and 6x over 6h/30m page, 3x over 1d/2h and 1x over 3d/6h "
        "ticket at 30 days), their windows scaled to the SLO's window.",
    )
