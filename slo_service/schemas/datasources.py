"""API shape of ``GET /api/v1/datasources``: each datasource without its secrets."""

from datetime import datetime

from pydantic import BaseModel, Field

from slo_service.sources.datasources import AuthKind


class DatasourcePublic(BaseModel):
    name: str = Field(description="What an SLI's 'datasource' names ('default' by default).")
    url: str = Field(description="Base URL of its Prometheus HTTP API.")
    auth: AuthKind = Field(
        description="How it authenticates: none, bearer (token file), basic (username and "
        "password file) or tls-client (client certificate); the secrets are never shown."
    )
    headers: list[str] = Field(
        description="Names of the extra headers it sends (e.g. X-Scope-OrgID), not their values."
    )
    last_query_at: datetime | None = Field(
        description="When this process last queried it (null: not yet since it started; "
        "each replica answers for itself)."
    )
    last_query_ok: bool | None = Field(
        description="Whether that query succeeded (null: not queried yet)."
    )
    last_error: str | None = Field(
        description="Why that query failed, naming the datasource and the HTTP status if any."
    )


class DatasourcesPublic(BaseModel):
    data: list[DatasourcePublic]
    count: int
