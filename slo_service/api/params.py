"""Query and path parameters that several routers share, with the bounds and patterns that
the OpenAPI document shows and validation enforces."""

from typing import Annotated

from fastapi import Query

from slo_service.domain.ids import MAX_ID
from slo_service.schemas.common import SLUG_PATTERN

Offset = Annotated[
    int,
    Query(
        ge=0,
        le=MAX_ID,
        description=f"Rows to skip, at most {MAX_ID:,} (no table holds more rows).",
    ),
]
ServiceFilter = Annotated[
    str | None,
    Query(pattern=SLUG_PATTERN, description="Only this service (model): a slug."),
]
