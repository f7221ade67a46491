"""API shapes of the error-budget policy: the gate's answer, service policies, freezes,
overrides and deploy records (the SLO shapes are in ``schemas.slo`` and ``schemas.policy``)."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from slo_service.domain.gate import Cause, ChangeType, Decision
from slo_service.schemas.common import Input, Instant, Slug
from slo_service.schemas.policy import AlertingDefaults, GatePolicy

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=1000)]


class GateReasonPublic(BaseModel):
    """One SLO of the service, and what it says about deploying."""

    slo_id: int
    slo: str = Field(description="service:name")
    verdict: Decision
    cause: Cause = Field(
        description="budget_frozen, budget_low, paging, stale, no_data, healthy or not_gating."
    )
    detail: str = Field(description="The verdict in words, with the numbers.")
    budget_remaining: float | None = Field(
        description="Fraction of the error budget left at the last evaluation; negative when "
        "overspent."
    )
    threshold: float | None = Field(description="The freeze or warn threshold it crossed.")
    burn_rates: dict[str, float | None] = Field(
        description="Burn rate over 5m, 30m, 1h, 2h, 6h, 1d, 3d and the window."
    )
    stale: bool = Field(description="No successful evaluation within the staleness limit.")
    evaluated_at: datetime | None = Field(description="Its last successful evaluation.")
    url: str = Field(description="Its page.")
    status_url: str = Field(description="Its status in the API.")


class OverridePublic(BaseModel):
    id: int
    service: str
    reason: str
    change_type: ChangeType | None = Field(
        description="The change type it lets through; null: any."
    )
    ticket: str | None
    expires_at: datetime
    created_at: datetime
    created_by: str = Field(description="The name of the token that created it.")
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    state: Literal["active", "expired", "revoked"]


class OverridesPublic(BaseModel):
    data: list[OverridePublic]
    count: int


class FreezePublic(BaseModel):
    id: int
    service: str
    cause: Literal["manual", "budget"] = Field(
        description="manual: set by an admin; budget: a gating SLO's budget reached its freeze "
        "threshold (lifted by evaluation when none does any more)."
    )
    slo: str | None = Field(description="The SLO whose budget froze the service (budget only).")
    reason: str
    started_at: datetime
    started_by: str
    lifted_at: datetime | None
    lifted_by: str | None
    lift_reason: str | None


class FreezesPublic(BaseModel):
    data: list[FreezePublic]
    count: int


class GatePublic(BaseModel):
    """Whether the service may deploy now, and why."""

    decision: Decision = Field(
        description="allow: deploy; warn: deploy, but the budget is low, a page fires or data "
        "is stale (fail_open); deny: the service is frozen."
    )
    service: str
    change_type: ChangeType
    frozen: bool = Field(
        description="The SLOs or a manual freeze deny deploys (true even when an override or "
        "an exempt change type lets this one through)."
    )
    bypass: Literal["override", "exempt_change_type"] | None = Field(
        description="What lets this deploy through a freeze or warning, if anything."
    )
    override_id: int | None = Field(description="The override that lets it through.")
    exempt_change_types: list[ChangeType] = Field(
        description="Change types the service's policy lets through freezes."
    )
    reasons: list[GateReasonPublic] = Field(description="One per SLO of the service.")
    overrides: list[OverridePublic] = Field(description="Overrides in force.")
    freezes: list[FreezePublic] = Field(description="Freezes in force.")
    evaluated_at: datetime | None = Field(
        description="The oldest of the SLOs' last successful evaluations: how old the numbers "
        "behind the decision are at most (null if an SLO was never evaluated)."
    )
    decided_at: datetime


class ServicePolicyIn(Input):
    """A service's error-budget policy."""

    gate: GatePolicy = Field(
        default_factory=GatePolicy,
        description="Defaults for the gate settings of the service's SLOs that set none.",
    )
    alerting: AlertingDefaults = Field(
        default_factory=AlertingDefaults,
        description="Defaults for the alerting of the service's SLOs (min_events, "
        "no_data_for) that set none.",
    )
    exempt_change_types: list[ChangeType] = Field(
        default_factory=lambda: [ChangeType.ROLLBACK, ChangeType.SECURITY],
        description="Change types that pass a freeze without an override.",
    )


class ServicePolicyPublic(BaseModel):
    service: str
    gate: GatePolicy
    alerting: AlertingDefaults
    exempt_change_types: list[ChangeType]
    updated_at: datetime | None = Field(description="null: never set; the defaults apply.")
    updated_by: str | None


class OverrideCreate(Input):
    reason: Reason = Field(description="Why deploys must go through, for the audit log.")
    expires_at: Instant = Field(description="When it ends: at most 7 days from now.")
    change_type: ChangeType | None = Field(
        default=None, description="Let through only this change type; null: any."
    )
    ticket: str | None = Field(default=None, max_length=200, description="e.g. INC-1234")


class FreezeCreate(Input):
    reason: Reason


class DeploymentCreate(Input):
    service: Slug
    version: str = Field(min_length=1, max_length=200)
    commit: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{7,64}$")
    environment: str = Field(default="production", min_length=1, max_length=63)
    change_type: ChangeType = ChangeType.FEATURE
    deployed_at: Instant | None = Field(default=None, description="Default: now.")


class DeploymentPublic(BaseModel):
    id: int
    service: str
    version: str
    commit: str | None
    environment: str
    change_type: ChangeType
    deployed_at: datetime
    recorded_at: datetime
    recorded_by: str


class DeploymentsPublic(BaseModel):
    data: list[DeploymentPublic]
    count: int
