"""API shapes of ``apply``: many SLOs created, updated or pruned at once, and the changes."""

from typing import Any, Literal

from pydantic import BaseModel, Field, StrictBool

from slo_service.schemas.common import Input


class ApplyRequest(Input):
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
