"""API shapes: what clients send (``XCreate``/``XPatch``) and what they get (``XPublic``)."""

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from slo_service.domain.alert_settings import NEVER
from slo_service.domain.gate import StalePolicy
from slo_service.domain.kinds import Budgeting, Kind
from slo_service.domain.text import NUL_HELP, find_nul
from slo_service.domain.windows import MAX_ROLLING, parse_duration, parse_timezone, parse_window

# As JSON Schema (the OpenAPI document) and pydantic read them, "$" ends the text. Python's
# "$" also matches before a final newline, so these are matched with fullmatch: "base\n"
# must not pass for a look-alike of "base".
SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$"
LABEL_KEY_PATTERN = r"^[A-Za-z_][A-Za-z0-9_./-]{0,62}$"
DURATION_PATTERN = r"^[1-9][0-9]{0,5}[mhdw]$"
WINDOW_PATTERN = r"^(?:[1-9][0-9]{0,5}[hdw]|month|week)$"
_SLUG = re.compile(SLUG_PATTERN)
_LABEL_KEY = re.compile(LABEL_KEY_PATTERN)
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _slug(value: str) -> str:
    if not _SLUG.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a slug: use 1-63 lowercase letters, digits, '-' or '_', "
            "starting and ending with a letter or digit"
        )
    return value


def _label_key(value: str) -> str:
    if not _LABEL_KEY.fullmatch(value):
        raise ValueError(
            f"label key {value!r}: start with a letter or '_', then letters, digits, '_./-', "
            "at most 63 characters"
        )
    return value


def _window(value: str) -> str:
    return parse_window(value).spec


def _timezone(value: str) -> str:
    parse_timezone(value)
    return value


def _duration(value: str) -> str:
    # No setting is longer than the longest window; and a time that far back (or ahead) of
    # now is no time at all past year 9999 (999999w would be 19,000 years).
    if parse_duration(value) > MAX_ROLLING:
        raise ValueError(f"{value!r} is too long: at most 366d (52w)")
    return value


def _iso_text(value: Any) -> Any:
    """pydantic reads a number, or text that is one, as seconds since the epoch; the schema
    says a date-time, so only text that is not a number passes (and datetimes from Python)."""
    if isinstance(value, datetime) or (
        isinstance(value, str) and not _NUMBER.fullmatch(value.strip())
    ):
        return value
    raise ValueError("give an ISO 8601 time with a time zone, e.g. 2026-12-01T18:00:00Z")


def _in_utc(value: datetime) -> datetime:
    """The same instant in UTC, as stored; 9999-12-31T23:00:00-02:00 has none."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{value.isoformat()} is out of range: it is no time in UTC") from None


def _pattern(pattern: str) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "pattern": pattern})


Slug = Annotated[str, AfterValidator(_slug), _pattern(SLUG_PATTERN)]
LabelKey = Annotated[str, AfterValidator(_label_key), _pattern(LABEL_KEY_PATTERN)]
WindowSpec = Annotated[str, AfterValidator(_window), _pattern(WINDOW_PATTERN)]
TimeZone = Annotated[str, AfterValidator(_timezone)]
Duration = Annotated[str, AfterValidator(_duration), _pattern(DURATION_PATTERN)]
# A time as ISO 8601 text only (an ``AwareDatetime`` alone also takes epoch numbers), in UTC.
Instant = Annotated[AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_in_utc)]
NoDataPolicy = Literal["ignore", "good", "bad"]


def refuse_nul(data: Any) -> None:
    """A validation error at the value that holds a NUL character, if any does."""
    path = find_nul(data)
    if path is not None:
        error = PydanticCustomError("nul_character", NUL_HELP)
        raise ValidationError.from_exception_data(
            "input", [InitErrorDetails(type=error, loc=path, input=data)]
        )


class _Input(BaseModel):
    """What clients send: no field beyond the model's, and no NUL in any text, keys and
    free-form maps (``params``, ``sli``, channels) included."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        refuse_nul(data)
        return data


class GatePolicy(_Input):
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


class AlertTier(_Input):
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

    @model_validator(mode="after")
    def _checked(self) -> Self:
        if parse_duration(self.short_window) >= parse_duration(self.long_window):
            raise ValueError("short_window must be shorter than long_window")
        if (self.factor is None) == (self.budget_spent is None):
            raise ValueError("give factor (e.g. 14.4) or budget_spent (e.g. 0.02), one of them")
        return self


def _no_data_for(value: str) -> str:
    return value if value == NEVER else _duration(value)


class AlertingDefaults(_Input):
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


class SLOCreate(_Input):
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
        "accuracy, max_age_minutes for data_freshness.",
    )
    sli: dict[str, Any] | None = Field(
        default=None,
        description="Overrides of the expanded SLI spec's fields, or a whole spec with its own "
        "source (prometheus, drift_store, push). Required for kind custom.",
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


class SLOPatch(_Input):
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


class EventIn(_Input):
    """One push: good and total events of an SLO with the push source, at a time."""

    slo: str = Field(description="The SLO's id, service:name, or unique name.")
    timestamp: Instant
    good: float = Field(ge=0, allow_inf_nan=False)
    total: float = Field(ge=0, allow_inf_nan=False)
    event_id: str = Field(
        min_length=1, max_length=200, description="Unique per SLO; a retried push is ignored."
    )

    @model_validator(mode="after")
    def _good_within_total(self) -> Self:
        if self.good > self.total:
            raise ValueError(f"good ({self.good}) must not exceed total ({self.total})")
        return self


class EventsIn(BaseModel):
    """Pushed events, each checked by itself: a bad one is listed, and the others are kept."""

    model_config = ConfigDict(extra="forbid")

    events: list[Annotated[dict[str, Any], WithJsonSchema(EventIn.model_json_schema())]] = Field(
        min_length=1, max_length=10_000
    )


class EventsResult(BaseModel):
    accepted: int = Field(description="New events stored and counted.")
    duplicates: int = Field(description="Events whose event_id was stored already: ignored.")
    rejected: list[dict[str, Any]] = Field(
        description="Each bad item: its index, event_id and errors; the others were kept."
    )


class AuditEntryPublic(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    target_type: str
    target_id: str
    target: str
    changes: dict[str, Any]


class AuditEntriesPublic(BaseModel):
    data: list[AuditEntryPublic]
    count: int


class ApplyRequest(_Input):
    """Create or update many SLOs at once, keyed by (service, name), in one transaction."""

    slos: list[dict[str, Any]] = Field(max_length=5000)
    dry_run: StrictBool = False
    prune: StrictBool = Field(
        default=False,
        description="Delete the live SLOs of the services in this request that it does not name.",
    )


class ApplyChange(BaseModel):
    action: Literal["create", "update", "delete", "unchanged"]
    service: str
    name: str
    id: int | None
    changes: dict[str, Any]


class ApplyResult(BaseModel):
    dry_run: bool
    changes: list[ApplyChange]
    summary: dict[str, int]


class ErrorBody(BaseModel):
    error: str = Field(description="The error's type, e.g. NotFound or InvalidInput.")
    detail: str = Field(description="What went wrong and what to do about it.")
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="For 422: one entry per field, with its path and reason."
    )


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error statuses a router can answer."""
    return {code: {"model": ErrorBody} for code in codes}
