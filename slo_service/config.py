"""Settings of the service, read from the environment (prefix ``SLO_``) and nowhere else."""

from pathlib import Path
from typing import Annotated

from pydantic import AnyHttpUrl, Field, IPvAnyNetwork, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from slo_service.db import Timeouts
from slo_service.domain.blocks import Layout


class Settings(BaseSettings):
    """Every setting of slo-service; each one is ``SLO_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="SLO_", env_file=None, extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{Path('slo-service.db').resolve()}",
        description="SQLAlchemy URL; SQLite file in the working directory by default, "
        "postgresql+psycopg://user:pass@host/db in production.",
    )
    database_connect_timeout_seconds: int = Field(
        default=5,
        ge=2,
        le=300,
        description="How long to wait for Postgres to accept a new connection (whole seconds, "
        "at least 2, as libpq counts them); a request that needs one answers 503 after it.",
    )
    database_statement_timeout_seconds: float = Field(
        default=30.0,
        ge=0,
        le=86400,
        description="Longest a Postgres statement may run (or wait on a lock) before the server "
        "cancels it; the request answers 503. Migrations run without it; evaluation runs under "
        "it, and its largest write takes about a second, so keep this at several (0: no limit).",
    )
    database_pool_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="How long a request waits for a free database connection of its process "
        "when every one is in use (Postgres 30, SQLite 40) before it answers 503.",
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
    datasources_file: Path | None = Field(
        default=None,
        description="YAML file of named Prometheus-compatible datasources (URL, bearer token "
        "or basic auth from files, TLS, headers, timeout; README: 'Metric backends'), read at "
        "start-up; without it, SLO_PROMETHEUS_URL is the datasource 'default'.",
    )
    bucket_seconds: int = Field(
        default=60, ge=10, le=3600, description="Width of one SLI bucket, aligned to the epoch."
    )
    evaluation_interval_seconds: int = Field(
        default=60, ge=5, le=3600, description="How often the scheduler evaluates every SLO."
    )
    evaluation_lease_seconds: int | None = Field(
        default=None,
        ge=5,
        le=86400,
        description="How long a replica holds the SLOs it claimed for evaluation (renewed after "
        "each slice it stores); the SLOs of a replica that dies wait this long before another "
        "takes them over. It must outlast the measurement of one slice. Unset: five "
        "evaluation intervals, and at least 5 minutes.",
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
        "last (per period and filter); it refreshes itself every 60 s anyway (0: render every "
        "time).",
    )
    team_label: str = Field(
        default="team",
        min_length=1,
        max_length=63,
        description="The SLO label that names its team: the SLA overview filters by it and "
        "counts the services it does not list per team.",
    )
    metrics_cache_seconds: float = Field(
        default=15.0,
        ge=0,
        le=300,
        description="How long a process answers /metrics with the SLO gauges it rendered last "
        "(one render of every SLO per interval, whoever scrapes); its own counters stay live "
        "(0: render every scrape).",
    )
    metrics_token_required: bool = Field(
        default=False,
        description="Ask /metrics for a bearer token with the read scope (off by default, as "
        "Prometheus scrapes without one unless told to send it).",
    )
    public_base_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("http://127.0.0.1:8000"),
        description="Base URL of this service, used in links in alerts and gate reasons; its "
        "origin may also post the pages' sign-in and sign-out forms.",
    )
    session_hours: float = Field(
        default=12.0,
        gt=0,
        le=720,
        description="How long a sign-in to the SLA pages lasts (never past its token's expiry); "
        "sign-out, or revoking the token, ends it earlier.",
    )
    max_body_bytes: int = Field(
        default=1 << 20,
        ge=1024,
        description="Largest request body of SLO definitions, routes, policies and every other "
        "route not named below; a larger one answers 413 before it is read.",
    )
    max_bulk_bytes: int = Field(
        default=16 << 20,
        ge=1024,
        description="Largest body of POST /api/v1/events, /api/v1/apply, "
        "/api/v1/drift/{service}/measurements, /api/v1/predictions/{service} and "
        "/api/v1/labels/{service} (many items in one request).",
    )
    max_upload_bytes: int = Field(
        default=64 << 20,
        ge=1024,
        description="Largest drift reference or batch upload (POST /api/v1/drift/{service}/"
        "reference and /batches, JSON or CSV).",
    )
    max_upload_values: int = Field(
        default=5_000_000,
        ge=1000,
        description="Most values (rows x features, counted by their separators before parsing) "
        "in one drift upload: what the server holds per upload grows with its values (up to "
        "about 100 bytes each), not its bytes.",
    )
    prediction_retention_days: int = Field(
        default=90,
        ge=1,
        le=3650,
        description="How long logged predictions and their labels are kept (by prediction "
        "time); the hourly performance figures made from them are kept as long.",
    )
    label_wait_days: int = Field(
        default=14,
        ge=1,
        le=365,
        description="How long a label whose prediction is not logged yet waits for it before "
        "it is dropped.",
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
        description="Base URL of PagerDuty's Events API v2 (events are posted to /v2/enqueue); "
        "set by the operator, so trusted: the allowed networks below do not apply to it.",
    )
    notify_allowed_networks: Annotated[list[IPvAnyNetwork], NoDecode] = Field(
        default_factory=list,
        description="Networks that Slack and webhook channels may send to besides public "
        "addresses, comma-separated CIDRs or single addresses (e.g. 10.20.0.0/16,192.168.1.5), "
        "for intranet receivers; anything else on a loopback, private, link-local, unspecified, "
        "multicast or reserved address is refused when a route is saved and when it is sent.",
    )

    @field_validator("notify_allowed_networks", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):  # the environment's form: "10.0.0.0/8, 192.168.1.5"
            return [part for part in value.replace(",", " ").split() if part]
        return value

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

    @property
    def database_timeouts(self) -> Timeouts:
        """The engine's timeouts (``db.Timeouts``); a statement timeout of 0 is none."""
        return Timeouts(
            connect=self.database_connect_timeout_seconds,
            statement=self.database_statement_timeout_seconds or None,
            pool=self.database_pool_timeout_seconds,
        )

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        for plain in ("postgres://", "postgresql://"):
            if value.startswith(plain):
                return "postgresql+psycopg://" + value.removeprefix(plain)
        if not value.startswith(("sqlite://", "postgresql+psycopg://")):
            raise ValueError("must be an sqlite:/// or postgresql+psycopg:// URL")
        return value
