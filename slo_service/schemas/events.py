"""API shapes of pushed events: one ``EventIn``, a batch of them, and what was kept."""

from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

from slo_service.schemas.common import Input, Instant


class EventIn(Input):
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
