"""Database tables. The API's shapes live in ``schemas``; these are storage only.

Long because every table is here, side by side: the schema reads as one piece, Alembic's
autogenerate sees all of it from one import, and each table is a short declaration."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from slo_service.db import UTCDateTime, utcnow

_LIVE = text("deleted_at IS NULL")


def _unique_where(name: str, *columns: str, where: Any) -> Index:
    """A unique index over the rows that match ``where`` (partial, on both backends)."""
    return Index(name, *columns, unique=True, sqlite_where=where, postgresql_where=where)


def _json(nullable: bool = False) -> Any:
    return Field(default=None, sa_column=Column(JSON, nullable=nullable))


def _json_or_null() -> Any:
    """A JSON column whose Python None is SQL NULL (not the JSON text ``null``)."""
    return Field(default=None, sa_column=Column(JSON(none_as_null=True), nullable=True))


def _when(nullable: bool = False, index: bool = False) -> Any:
    default = None if nullable else utcnow
    return Field(
        default_factory=default,
        sa_column=Column(UTCDateTime(), nullable=nullable, index=index),
    )


class SLO(SQLModel, table=True):
    """One SLO definition; deleted ones stay (``deleted_at``) until purged."""

    __tablename__ = "slo"
    __table_args__ = (_unique_where("uq_slo_service_name_live", "service", "name", where=_LIVE),)

    id: int | None = Field(default=None, primary_key=True)
    service: str = Field(max_length=63, index=True)
    name: str = Field(max_length=63)
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    labels: dict[str, str] = _json()
    kind: str = Field(max_length=32)
    objective: float
    window: str = Field(max_length=16)
    timezone: str = Field(default="UTC", max_length=64)
    budgeting: str = Field(max_length=16)
    params: dict[str, Any] = _json()
    sli: dict[str, Any] = _json()
    sli_overrides: dict[str, Any] | None = _json(nullable=True)
    no_data: str = Field(default="ignore", max_length=8)
    alerting: dict[str, Any] | None = _json(nullable=True)
    gate: dict[str, Any] = _json()
    created_at: datetime = _when()
    updated_at: datetime = _when()
    deleted_at: datetime | None = _when(nullable=True)
    evaluated_until: datetime | None = _when(nullable=True)
    last_success_at: datetime | None = _when(nullable=True)
    # End of the last bucket its source gave data for (the no-data alert watches it).
    data_until: datetime | None = _when(nullable=True)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    lease_owner: str | None = Field(default=None, max_length=100)
    lease_until: datetime | None = _when(nullable=True)
    # Budget and burn rates at the last successful evaluation (``services.summaries``): what
    # the gate and the overview read instead of recomputing from the buckets.
    summary: dict[str, Any] | None = _json(nullable=True)
    # The summary's figures the SLA pages list for every SLO, as columns: reading them from
    # the JSON above took the database longer than the rest of a page at 10,000 SLOs.
    summary_until: datetime | None = _when(nullable=True)
    summary_sli: float | None = None
    summary_remaining: float | None = None
    summary_burn_rate_1h: float | None = None
    summary_paging: bool | None = None


class SliBlock(SQLModel, table=True):
    """One hour of an SLO's buckets (see ``domain.blocks``): packed float64 arrays of good and
    total per bucket, and the SLO's running totals from before the block."""

    __tablename__ = "sli_block"

    slo_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("slo.id", ondelete="CASCADE"), primary_key=True, nullable=False
        )
    )
    start: int = Field(sa_column=Column(BigInteger, primary_key=True, nullable=False))
    good: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    total: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    good_before: float
    total_before: float


class ApiToken(SQLModel, table=True):
    """A bearer token; only its SHA-256 is kept."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    prefix: str = Field(max_length=16)
    token_hash: str = Field(max_length=64, unique=True)
    scopes: list[str] = _json()
    created_at: datetime = _when()
    expires_at: datetime | None = _when(nullable=True)
    revoked_at: datetime | None = _when(nullable=True)


class PageSession(SQLModel, table=True):
    """A browser signed in to the SLA pages: it reads, whatever its token's scopes, until it
    expires or is ended (sign-out, or its token revoked). The cookie holds a random id; only
    its SHA-256 is kept, with the token's name to say whose session it is."""

    __tablename__ = "page_session"

    id: int | None = Field(default=None, primary_key=True)
    session_hash: str = Field(max_length=64, unique=True)
    token_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("api_token.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    token_name: str = Field(max_length=100)
    created_at: datetime = _when()
    expires_at: datetime = _when(index=True)
    revoked_at: datetime | None = _when(nullable=True)


class AuditEntry(SQLModel, table=True):
    """Who changed what, when: one row per change to an SLO, token or policy."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _when(index=True)
    actor: str = Field(max_length=100)
    action: str = Field(max_length=50, index=True)
    target_type: str = Field(max_length=30)
    target_id: str = Field(max_length=100, index=True)
    target: str = Field(default="", max_length=200)
    changes: dict[str, Any] = _json()


class PushEvent(SQLModel, table=True):
    """(good, total) pushed for an SLO with the push source; unique per event_id."""

    __tablename__ = "push_event"
    __table_args__ = (
        UniqueConstraint("slo_id", "event_id"),
        Index("ix_push_event_slo_id_ts", "slo_id", "ts"),
    )

    id: int | None = Field(default=None, primary_key=True)
    slo_id: int = Field(
        sa_column=Column(Integer, ForeignKey("slo.id", ondelete="CASCADE"), nullable=False)
    )
    event_id: str = Field(max_length=200)
    ts: datetime = _when()
    good: float
    total: float
    received_at: datetime = _when()


_ACTIVE = text("lifted_at IS NULL")


class ServicePolicy(SQLModel, table=True):
    """A service's error-budget policy: defaults for its SLOs' gate settings, and the change
    types that pass a freeze."""

    __tablename__ = "service_policy"

    service: str = Field(primary_key=True, max_length=63)
    gate: dict[str, Any] = _json()
    alerting: dict[str, Any] = _json()
    exempt_change_types: list[str] = _json()
    updated_at: datetime = _when()
    updated_by: str = Field(max_length=100)


class GateFreeze(SQLModel, table=True):
    """A deploy freeze of a service, from when it started until it was lifted: set by hand
    (``manual``) or by evaluation when a gating SLO's budget ran out (``budget``)."""

    __tablename__ = "gate_freeze"
    __table_args__ = (
        _unique_where("uq_gate_freeze_service_cause_active", "service", "cause", where=_ACTIVE),
    )

    id: int | None = Field(default=None, primary_key=True)
    service: str = Field(max_length=63, index=True)
    cause: str = Field(max_length=16)
    slo_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("slo.id", ondelete="SET NULL"), nullable=True),
    )
    slo_name: str | None = Field(default=None, max_length=63)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    started_at: datetime = _when()
    started_by: str = Field(max_length=100)
    lifted_at: datetime | None = _when(nullable=True)
    lifted_by: str | None = Field(default=None, max_length=100)
    lift_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class GateOverride(SQLModel, table=True):
    """Lets a service's deploys through a freeze until it expires or is revoked."""

    __tablename__ = "gate_override"

    id: int | None = Field(default=None, primary_key=True)
    service: str = Field(max_length=63, index=True)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    change_type: str | None = Field(default=None, max_length=16)
    ticket: str | None = Field(default=None, max_length=200)
    expires_at: datetime = _when()
    created_at: datetime = _when()
    created_by: str = Field(max_length=100)
    revoked_at: datetime | None = _when(nullable=True)
    revoked_by: str | None = Field(default=None, max_length=100)


class ServiceGate(SQLModel, table=True):
    """What a service's gate decides from (``domain.gate.ServiceState`` as JSON), rewritten
    in the transaction of every change to it, so a gate request reads one row."""

    __tablename__ = "service_gate"

    service: str = Field(primary_key=True, max_length=63)
    state: dict[str, Any] = _json()
    version: int = Field(default=1)
    updated_at: datetime = _when()


class Deployment(SQLModel, table=True):
    """A deploy CI reported after it happened."""

    __tablename__ = "deployment"
    __table_args__ = (Index("ix_deployment_service_deployed_at", "service", "deployed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    service: str = Field(max_length=63)
    version: str = Field(max_length=200)
    commit: str | None = Field(default=None, max_length=64)
    environment: str = Field(max_length=63)
    change_type: str = Field(max_length=16)
    deployed_at: datetime = _when()
    recorded_at: datetime = _when()
    recorded_by: str = Field(max_length=100)


class DriftReference(SQLModel, table=True):
    """One version of a service's reference data; a new reference never overwrites an older
    one, and each measurement names the version it was measured against."""

    __tablename__ = "drift_reference"
    __table_args__ = (UniqueConstraint("service", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    service: str = Field(max_length=63, index=True)
    # What the reference is of: the model's input features, or its predictions (prediction
    # drift); each subject has its latest version.
    subject: str = Field(
        default="inputs", max_length=16, sa_column_kwargs={"server_default": "inputs"}
    )
    version: int
    rows: int
    created_at: datetime = _when()
    created_by: str = Field(max_length=100)


class DriftReferenceFeature(SQLModel, table=True):
    """What is kept of one reference feature (``domain.drift``): for a numeric one its bin
    edges, bin counts and a bounded sample as packed float64; for a categorical one the
    frequency of each category."""

    __tablename__ = "drift_reference_feature"

    reference_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("drift_reference.id", ondelete="CASCADE"),
            primary_key=True,
            nullable=False,
        )
    )
    feature: str = Field(primary_key=True, max_length=200)
    type: str = Field(max_length=16)
    count: int
    nulls: int
    edges: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    bin_counts: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    sample: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    categories: dict[str, int] | None = _json(nullable=True)


class DriftBatch(SQLModel, table=True):
    """A production batch whose features were measured against a reference."""

    __tablename__ = "drift_batch"
    __table_args__ = (UniqueConstraint("service", "batch_key"),)

    id: int | None = Field(default=None, primary_key=True)
    service: str = Field(max_length=63)
    batch_key: str | None = Field(default=None, max_length=200)
    reference_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("drift_reference.id", ondelete="CASCADE"), nullable=False
        )
    )
    observed_at: datetime = _when()
    rows: int
    received_at: datetime = _when()


class DriftMeasurement(SQLModel, table=True):
    """One feature's drift at one time: from a batch measured here, or posted by an external
    drift job (``batch_id`` null). Statistics that do not apply are null."""

    __tablename__ = "drift_measurement"
    __table_args__ = (Index("ix_drift_measurement_service_observed_at", "service", "observed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    service: str = Field(max_length=63)
    subject: str = Field(
        default="inputs", max_length=16, sa_column_kwargs={"server_default": "inputs"}
    )
    feature: str = Field(max_length=200)
    type: str | None = Field(default=None, max_length=16)
    observed_at: datetime = _when()
    batch_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("drift_batch.id", ondelete="CASCADE"), nullable=True, index=True
        ),
    )
    reference_version: int | None = None
    psi: float | None = None
    js_distance: float | None = None
    ks_statistic: float | None = None
    ks_pvalue: float | None = None
    chi2_statistic: float | None = None
    chi2_pvalue: float | None = None
    null_rate: float | None = None
    count: int | None = None
    received_at: datetime = _when()


_FIRING = text("state = 'firing'")


class Alert(SQLModel, table=True):
    """One episode of one of an SLO's alerts (``page``, ``ticket`` or ``nodata``), from trigger
    to resolve; at most one firing per SLO and name, and per dedup key."""

    __tablename__ = "alert"
    __table_args__ = (
        _unique_where("uq_alert_dedup_key_firing", "dedup_key", where=_FIRING),
        _unique_where("uq_alert_slo_id_name_firing", "slo_id", "name", where=_FIRING),
    )

    id: int | None = Field(default=None, primary_key=True)
    slo_id: int = Field(
        sa_column=Column(Integer, ForeignKey("slo.id", ondelete="CASCADE"), nullable=False)
    )
    name: str = Field(max_length=16)
    dedup_key: str = Field(max_length=200, index=True)
    service: str = Field(max_length=63, index=True)
    slo_name: str = Field(max_length=63)
    severity: str = Field(max_length=16)
    state: str = Field(max_length=16)
    inhibited: bool = Field(default=False)
    # A ticket muted by its page stays muted until then (the page's burn is still in its windows).
    held_until: datetime | None = _when(nullable=True)
    started_at: datetime = _when()
    resolved_at: datetime | None = _when(nullable=True, index=True)
    # The burn-rate tiers over their factor (as they last fired), with their burn rates.
    tiers: list[dict[str, Any]] = _json()
    budget_remaining: float | None = None
    # Dedup keys of per-tier alerts (before migration 0007) that this alert's resolve closes.
    also_resolves: list[str] = _json()
    updated_at: datetime = _when()


class NotificationRoute(SQLModel, table=True):
    """Where alerts go: matchers, and the channels (secrets included) that get what matches."""

    __tablename__ = "notification_route"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=63, unique=True)
    position: int = Field(default=0)
    services: list[str] = _json()
    labels: dict[str, str] = _json()
    severities: list[str] = _json()
    continue_matching: bool = Field(default=False)
    is_default: bool = Field(default=False)
    repeat_interval: str | None = Field(default=None, max_length=16)
    events: list[str] = _json()
    channels: list[dict[str, Any]] = _json()
    created_at: datetime = _when()
    updated_at: datetime = _when()
    updated_by: str = Field(max_length=100)


class Notification(SQLModel, table=True):
    """The outbox: one message for one channel of one route, written in the transaction of
    the transition it tells, delivered (or dead) later by whichever sender claims it."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_state_next_attempt_at", "state", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=200, unique=True)
    route_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("notification_route.id", ondelete="SET NULL"), nullable=True
        ),
    )
    route_name: str = Field(max_length=63)
    channel: int
    channel_type: str = Field(max_length=16)
    alert_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("alert.id", ondelete="SET NULL"), nullable=True, index=True
        ),
    )
    event: str = Field(max_length=16)
    dedup_key: str = Field(max_length=200)
    service: str = Field(max_length=63)
    message: dict[str, Any] = _json()
    state: str = Field(default="pending", max_length=16)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = _when()
    lease_owner: str | None = Field(default=None, max_length=100)
    lease_until: datetime | None = _when(nullable=True)
    last_status: int | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = _when(index=True)
    delivered_at: datetime | None = _when(nullable=True)


class PredictionLog(SQLModel, table=True):
    """What a service's logged predictions are: its task (``classification`` or
    ``regression``, fixed by its first batch) and, for a binary classifier, the class its
    ``score`` is the probability of."""

    __tablename__ = "prediction_log"

    service: str = Field(primary_key=True, max_length=63)
    task: str = Field(max_length=16)
    positive_class: str | None = Field(default=None, max_length=200)
    created_at: datetime = _when()
    # The end of the last hour whose predictions were measured against the prediction
    # reference (epoch seconds); None before the first.
    drift_until: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


class Prediction(SQLModel, table=True):
    """One logged prediction, and its label once it came (``labels`` counts the labels
    received: more than one means the last replaced the others). A class is kept as text, a
    number as ``*_value`` (a class given as an integer has both); instants are epoch seconds."""

    __tablename__ = "prediction"
    __table_args__ = (Index("ix_prediction_service_ts", "service", "ts"),)

    service: str = Field(primary_key=True, max_length=63)
    prediction_id: str = Field(primary_key=True, max_length=200)
    ts: float
    model_version: str = Field(max_length=100)
    predicted: str | None = Field(default=None, max_length=200)
    predicted_value: float | None = None
    score: float | None = None
    scores: dict[str, float] | None = _json_or_null()
    label: str | None = Field(default=None, max_length=200)
    label_value: float | None = None
    labeled_at: float | None = None
    labels: int = 0


class PendingLabel(SQLModel, table=True):
    """A label whose prediction is not logged yet (labels can overtake predictions): matched
    when the prediction arrives, dropped after ``SLO_LABEL_WAIT_DAYS``."""

    __tablename__ = "pending_label"

    service: str = Field(primary_key=True, max_length=63)
    prediction_id: str = Field(primary_key=True, max_length=200)
    label: str | None = Field(default=None, max_length=200)
    label_value: float | None = None
    labeled_at: float
    labels: int = 1
    received_at: datetime = _when(index=True)


class PerformanceHour(SQLModel, table=True):
    """What one hour of a service's predictions (by prediction time) adds up to, per model
    version: predictions logged and labeled, the labeled ones' tally
    (``domain.performance.Tally``) and their label delays (``domain.performance.Delays``).
    Kept as labels land, so a month's series reads some 700 rows, not millions."""

    __tablename__ = "performance_hour"

    service: str = Field(primary_key=True, max_length=63)
    model_version: str = Field(primary_key=True, max_length=100)
    hour: int = Field(sa_column=Column(BigInteger, primary_key=True, nullable=False))
    predicted: int = 0
    labeled: int = 0
    tally: dict[str, Any] | None = _json_or_null()
    delays: dict[str, Any] | None = _json_or_null()
