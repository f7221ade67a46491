"""API shape of every error answer, and the OpenAPI ``responses`` that name it."""

from typing import Any

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    error: str = Field(description="The error's type, e.g. NotFound or InvalidInput.")
    detail: str = Field(description="What went wrong and what to do about it.")
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="For 422: one entry per field, with its path and reason."
    )


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error statuses a router can answer."""
    return {code: {"model": ErrorBody} for code in codes}
