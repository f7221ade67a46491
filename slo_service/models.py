"""Database tables. The API's shapes live in ``schemas``; these are storage only."""

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


def _json(nullable: bool = False) -> Any:
    return Field(default=None, sa_column=Column(JSON, nullable=nullable))


def _when(nullable: bool = False, index: bool = False) -> Any:
    default = None if nullable else utcnow
    return Field(
        default_factory=default,
        sa_column=Column(UTCDateTime(), nullable=nullable, index=index),
    )


class SLO(SQLModel, table=True):
    """One SLO definition; deleted ones stay (``deleted_at``) until purged."""

    __tablename__ = "slo"
    __table_args__ = (
        Index(
            "uq_slo_service_name_live",
            "service",
            "name",
            unique=True,
            sqlite_where=_LIVE,
            postgresql_where=_LIVE,
        ),
    )

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
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    lease_owner: str | None = Field(default=None, max_length=100)
    lease_until: datetime | None = _when(nullable=True)


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
