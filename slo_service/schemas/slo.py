"""API shapes of SLO definitions: what clients send (``SLOCreate``, ``SLOPatch``) and get
(``SLOPublic``, a page of them in ``SLOsPublic``)."""

from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator

from slo_service.domain.kinds import Budgeting, Kind
from slo_service.domain.windows import parse_window
from slo_service.schemas.common import Input, LabelKey, NoDataPolicy, Slug, TimeZone, WindowSpec
from slo_service.schemas.policy import AlertingPolicy, GatePolicy


class SLOCreate(Input):
    """An SLO as a client writes it: a kind with params, or any kind with an explicit ``sli``."""

    service: Slug = Field(description="The model (service) the SLO belongs to.")
    name: Slug = Field(description="Unique within the service.")
    description: str = Field(default="", max_length=2000)
    labels: dict[LabelKey, Annotated[str, Field(max_length=256)]] = Field(
        default_factory=dict, max_length=32
    )
    kind: Kind
    # The bounds are checked below with a message that says what to write instead; the
    # document states them all the same.
    objective: float | None = Field(
        default=None,
        description="Target in (0, 1), e.g. 0.999; or give objective_percent.",
        json_schema_extra={"exclusiveMinimum": 0, "exclusiveMaximum": 1},
    )
    objective_percent: float | None = Field(
        default=None,
        description="Target in %, e.g. 99.9.",
        json_schema_extra={"exclusiveMinimum": 0, "exclusiveMaximum": 100},
    )
    window: WindowSpec = Field(
        default="30d", description="Rolling Nd/Nh/Nw (e.g. 30d), or calendar: month or week."
    )
    timezone: TimeZone = Field(default="UTC", description="Time zone of a calendar window.")
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="Kind template parameters, e.g. threshold_ms for latency, baseline for "
        "accuracy, max_age_minutes for data_freshness, metric and threshold for "
        "model_performance.",
    )
    sli: dict[str, Any] | None = Field(
        default=None,
        description="Overrides of the expanded SLI spec's fields, or a whole spec with its own "
        "source (prometheus, drift_store, prediction_log, push). Required for kind custom.",
    )
    no_data: NoDataPolicy = Field(
        default="ignore", description="How a bucket without data counts: ignore, good or bad."
    )
    alerting: AlertingPolicy | None = None
    gate: GatePolicy = Field(default_factory=GatePolicy)

    @field_validator("objective")
    @classmethod
    def _objective_range(cls, value: float | None) -> float | None:
        if value is not None and not 0 < value < 1:
            raise ValueError(
                f"must be between 0 and 1 exclusive, got {value} "
                "(0.999 means 99.9%; or give objective_percent: 99.9)"
            )
        return value

    @field_validator("objective_percent")
    @classmethod
    def _percent_range(cls, value: float | None) -> float | None:
        if value is not None and not 0 < value < 100:
            raise ValueError(f"must be between 0 and 100 exclusive (e.g. 99.9), got {value}")
        return value

    @field_validator("timezone")
    @classmethod
    def _calendar_only(cls, value: str, info: ValidationInfo) -> str:
        window = info.data.get("window")
        if value != "UTC" and window is not None and parse_window(window).is_rolling:
            raise ValueError(
                f"a time zone applies to calendar windows only (month, week), not {window!r}"
            )
        return value

    @model_validator(mode="after")
    def _one_objective(self) -> Self:
        if self.objective_percent is not None:
            if self.objective is not None:
                raise ValueError("give objective or objective_percent, not both")
            self.objective = self.objective_percent / 100
            self.objective_percent = None
        if self.objective is None:
            raise ValueError(
                "objective is required: a fraction such as 0.999, or objective_percent: 99.9"
            )
        return self


class SLOPatch(Input):
    """JSON merge patch of an SLO: fields left out stay; ``null`` in a map removes the key."""

    service: str | None = None
    name: str | None = None
    description: str | None = None
    labels: dict[str, str | None] | None = None
    kind: str | None = None
    objective: float | None = None
    objective_percent: float | None = None
    window: str | None = None
    timezone: str | None = None
    params: dict[str, Any] | None = None
    sli: dict[str, Any] | None = None
    no_data: str | None = None
    alerting: dict[str, Any] | None = None
    gate: dict[str, Any] | None = None


class SLOPublic(BaseModel):
    """An SLO as stored, with its kind expanded into the effective ``sli``."""

    id: int
    service: str
    name: str
    description: str
    labels: dict[str, str]
    kind: Kind
    objective: float
    objective_percent: float
    window: str
    timezone: str
    budgeting: Budgeting
    params: dict[str, Any]
    sli: dict[str, Any] = Field(description="The effective SLI spec the engine measures.")
    sli_overrides: dict[str, Any] | None = Field(description="The 'sli' the client gave, if any.")
    no_data: NoDataPolicy
    alerting: AlertingPolicy | None
    gate: GatePolicy
    created_at: datetime
    updated_at: datetime


class SLOsPublic(BaseModel):
    data: list[SLOPublic]
    count: int = Field(description="How many SLOs match the filters in all pages.")
