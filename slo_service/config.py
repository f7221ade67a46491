"""Settings of the service, read from the environment (prefix ``SLO_``) and nowhere else."""

from functools import lru_cache
from pathlib import Path

from pydantic import AnyHttpUrl, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from slo_service.domain.blocks import Layout


class Settings(BaseSettings):
    """Every setting of slo-service; each one is ``SLO_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="SLO_", env_file=None, extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{Path('slo-service.db').resolve()}",
        description="SQLAlchemy URL; SQLite file in the working directory by default, "
        "postgresql+psycopg://user:pass@host/db in production.",
    )
    migrate_on_start: bool = Field(
        default=True, description="Run Alembic migrations to head when `serve` starts."
    )
    prometheus_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("http://127.0.0.1:9090"),
        description="Prometheus HTTP API base URL (Thanos, Mimir, VictoriaMetrics work too).",
    )
    prometheus_timeout_seconds: float = Field(
        default=2.0, gt=0, le=60, description="Timeout of one Prometheus request."
    )
    bucket_seconds: int = Field(
        default=60, ge=10, le=3600, description="Width of one SLI bucket, aligned to the epoch."
    )
    evaluation_interval_seconds: int = Field(
        default=60, ge=5, le=3600, description="How often the scheduler evaluates every SLO."
    )
    scheduler: bool = Field(
        default=True,
        description="Evaluate SLOs every interval inside `serve` (off when a separate "
        "`slo-service worker` does it).",
    )
    public_read: bool = Field(
        default=False, description="Allow reads without a token (writes always need one)."
    )
    gate_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        le=60,
        description="How long the gate answers from its copy of a token and a service's gate "
        "state; changes made through another replica reach it within this time (0: none).",
    )
    pages_cache_seconds: float = Field(
        default=10.0,
        ge=0,
        le=300,
        description="How long a process answers the SLA overview from the copy it rendered "
        "last (per period); it refreshes itself every 60 s anyway (0: render every time).",
    )
    public_base_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("http://127.0.0.1:8000"),
        description="Base URL of this service, used in links in alerts and gate reasons.",
    )

    notify_interval_seconds: float = Field(
        default=5.0, gt=0, le=300, description="How often pending notifications are sent."
    )
    notify_max_attempts: int = Field(
        default=8,
        ge=1,
        le=100,
        description="Tries of one notification before it is dead (GET /api/v1/notifications).",
    )
    notify_backoff_seconds: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        description="Wait after a notification's first failed try; doubled after each (at most "
        "an hour), with jitter, and never under the receiver's Retry-After.",
    )
    notify_timeout_seconds: float = Field(
        default=5.0, gt=0, le=60, description="Timeout of one delivery to a channel."
    )
    pagerduty_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("https://events.pagerduty.com"),
        description="Base URL of PagerDuty's Events API v2 (events are posted to /v2/enqueue).",
    )

    @field_validator("bucket_seconds")
    @classmethod
    def _divides_an_hour(cls, value: int) -> int:
        if 3600 % value:
            raise ValueError("must divide an hour evenly, e.g. 60, 300 or 600")
        return value

    @property
    def layout(self) -> Layout:
        """Where buckets are stored (``domain.blocks``)."""
        return Layout(self.bucket_seconds)

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        for plain in ("postgres://", "postgresql://"):
            if value.startswith(plain):
                return "postgresql+psycopg://" + value.removeprefix(plain)
        if not value.startswith(("sqlite://", "postgresql+psycopg://")):
            raise ValueError("must be an sqlite:/// or postgresql+psycopg:// URL")
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
