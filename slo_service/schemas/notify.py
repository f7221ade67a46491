"""API shapes of alerts, notification routes and the delivery log."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool

from slo_service.domain.ids import MAX_ID
from slo_service.schemas.common import Duration, Input, LabelKey, Slug

Severity = Literal["page", "ticket"]
CHANNEL_NAME_MAX = 200
RouteEvent = Literal["alerts", "freeze"]


def _channel_type(value: dict[str, Any]) -> dict[str, Any]:
    from slo_service.notify.registry import FIELDS  # the registry imports the notifiers

    kind = str(value.get("type"))
    if kind not in FIELDS:
        raise ValueError(f"'type' must be one of {', '.join(sorted(FIELDS))}, got {kind!r}")
    unknown = set(value) - FIELDS[kind] - {"type", "name"}
    if unknown:
        raise ValueError(
            f"a {kind} channel has no field {', '.join(sorted(unknown))} "
            f"(its fields: {', '.join(sorted(FIELDS[kind]))}, and an optional name)"
        )
    name = value.get("name")
    if name is not None and not (isinstance(name, str) and 0 < len(name) <= CHANNEL_NAME_MAX):
        raise ValueError(f"a channel's name is text of 1 to {CHANNEL_NAME_MAX} characters")
    return value


ChannelIn = Annotated[dict[str, Any], AfterValidator(_channel_type)]


class RouteIn(Input):
    """A route: what it matches, and the channels that get it."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: Slug
    position: int = Field(
        default=0,
        ge=-MAX_ID - 1,  # the column is a 32-bit integer on Postgres
        le=MAX_ID,
        description="Routes are tried in ascending position.",
    )
    services: list[Slug] = Field(default_factory=list, description="Empty: every service.")
    labels: dict[LabelKey, str] = Field(
        default_factory=dict, description="SLO labels that must all match."
    )
    severities: list[Severity] = Field(default_factory=list, description="Empty: both.")
    continue_matching: StrictBool = Field(
        default=False,
        alias="continue",
        description="Go on to the next routes after this one matched.",
    )
    default: StrictBool = Field(
        default=False, description="Take what no other route matched (and only that)."
    )
    repeat_interval: Duration | None = Field(
        default="4h", description="Send a firing alert again this often; null: never."
    )
    events: list[RouteEvent] = Field(
        default=["alerts"],
        min_length=1,
        description="What the route takes: alerts (burn-rate pages and tickets, no-data "
        "tickets), freeze (a service's deploys frozen or unfrozen: news, sent as a warning, "
        "never a page), or both. Freeze news matches on services only.",
    )
    channels: list[ChannelIn] = Field(
        min_length=1,
        max_length=10,
        description='e.g. {"type": "slack", "name": "#ml-oncall", "webhook_url": "https://..."}, '
        '{"type": "pagerduty", "routing_key": "..."}, {"type": "webhook", "url": "...", '
        '"secret": "..."}; secrets are write-only.',
    )


class ChannelPublic(BaseModel):
    type: str
    name: str | None
    configured: list[str] = Field(description="The settings stored (never shown: secrets).")


class RoutePublic(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: int
    name: str
    position: int
    services: list[str]
    labels: dict[str, str]
    severities: list[str]
    continue_matching: bool = Field(alias="continue")
    default: bool
    repeat_interval: str | None
    events: list[RouteEvent]
    channels: list[ChannelPublic]
    created_at: datetime
    updated_at: datetime
    updated_by: str


class RoutesPublic(BaseModel):
    data: list[RoutePublic]
    count: int


class AlertTierPublic(BaseModel):
    severity: Severity
    long_window: str
    short_window: str
    factor: float
    long_burn_rate: float | None
    short_burn_rate: float | None


class AlertPublic(BaseModel):
    id: int
    slo_id: int
    slo: str = Field(description="service:name")
    service: str
    name: Literal["page", "ticket", "nodata", "labels_missing"] = Field(
        description="page or ticket: any burn-rate tier of that severity fires; nodata: the "
        "SLO's source has given no data for its no_data_for (a ticket); labels_missing: too "
        "few of a performance SLO's predictions were labeled once due (a ticket)."
    )
    severity: Severity
    dedup_key: str
    state: Literal["firing", "resolved"]
    inhibited: bool = Field(
        description="A ticket muted while the same SLO's page fires, and after it while the "
        "page's burn is still inside the ticket's short windows: kept, not sent."
    )
    started_at: datetime
    resolved_at: datetime | None
    tiers: list[AlertTierPublic] = Field(
        description="The tiers over their factor, with their burn rates (as they last fired; "
        "once resolved, as they were then)."
    )
    budget_remaining: float | None
    updated_at: datetime


class AlertsPublic(BaseModel):
    data: list[AlertPublic]
    count: int


class NotificationPublic(BaseModel):
    id: int
    route: str
    channel: int
    channel_type: str
    event: str
    dedup_key: str
    service: str
    alert_id: int | None
    summary: str
    state: Literal["pending", "delivered", "dead"]
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None = Field(
        description='Why the last try failed: "Webhook answered 503", "Slack webhook refused: '
        'address 10.0.0.5 is private", "Webhook did not answer within 5 s"; never what the '
        "receiver wrote back."
    )
    created_at: datetime
    delivered_at: datetime | None


class NotificationsPublic(BaseModel):
    data: list[NotificationPublic]
    count: int


class ChannelTestResult(BaseModel):
    channel: int
    type: str
    name: str | None
    outcome: Literal["delivered", "retry", "rejected"]
    detail: str = Field(
        description='"answered 200", or why not: the status, or a short cause such as '
        '"refused: address 127.0.0.1 is loopback"; never what the receiver wrote back.'
    )
