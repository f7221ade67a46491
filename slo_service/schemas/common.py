"""Field types every API shape uses (slugs, label keys, windows, durations, instants) and
``Input``, the base class of what clients send: no unknown field and no NUL character."""

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from slo_service.domain.text import NUL_HELP, find_nul
from slo_service.domain.windows import MAX_ROLLING, parse_duration, parse_timezone, parse_window

# As JSON Schema (the OpenAPI document) and pydantic read them, "$" ends the text. Python's
# "$" also matches before a final newline, so these are matched with fullmatch: "base\n"
# must not pass for a look-alike of "base".
SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$"
LABEL_KEY_PATTERN = r"^[A-Za-z_][A-Za-z0-9_./-]{0,62}$"
DURATION_PATTERN = r"^[1-9][0-9]{0,5}[mhdw]$"
WINDOW_PATTERN = r"^(?:[1-9][0-9]{0,5}[hdw]|month|week)$"
_SLUG = re.compile(SLUG_PATTERN)
_LABEL_KEY = re.compile(LABEL_KEY_PATTERN)
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _slug(value: str) -> str:
    if not _SLUG.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a slug: use 1-63 lowercase letters, digits, '-' or '_', "
            "starting and ending with a letter or digit"
        )
    return value


def _label_key(value: str) -> str:
    if not _LABEL_KEY.fullmatch(value):
        raise ValueError(
            f"label key {value!r}: start with a letter or '_', then letters, digits, '_./-', "
            "at most 63 characters"
        )
    return value


def _window(value: str) -> str:
    return parse_window(value).spec


def _timezone(value: str) -> str:
    parse_timezone(value)
    return value


def check_duration(value: str) -> str:
    """``value`` if it is no longer than the longest window (``policy`` checks with it too)."""
    # No setting is longer than the longest window; and a time that far back (or ahead) of
    # now is no time at all past year 9999 (999999w would be 19,000 years).
    if parse_duration(value) > MAX_ROLLING:
        raise ValueError(f"{value!r} is too long: at most 366d (52w)")
    return value


def _iso_text(value: Any) -> Any:
    """pydantic reads a number, or text that is one, as seconds since the epoch; the schema
    says a date-time, so only text that is not a number passes (and datetimes from Python)."""
    if isinstance(value, datetime) or (
        isinstance(value, str) and not _NUMBER.fullmatch(value.strip())
    ):
        return value
    raise ValueError("give an ISO 8601 time with a time zone, e.g. 2026-12-01T18:00:00Z")


def _in_utc(value: datetime) -> datetime:
    """The same instant in UTC, as stored; 9999-12-31T23:00:00-02:00 has none."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{value.isoformat()} is out of range: it is no time in UTC") from None


def _pattern(pattern: str) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "pattern": pattern})


Slug = Annotated[str, AfterValidator(_slug), _pattern(SLUG_PATTERN)]
LabelKey = Annotated[str, AfterValidator(_label_key), _pattern(LABEL_KEY_PATTERN)]
WindowSpec = Annotated[str, AfterValidator(_window), _pattern(WINDOW_PATTERN)]
TimeZone = Annotated[str, AfterValidator(_timezone)]
Duration = Annotated[str, AfterValidator(check_duration), _pattern(DURATION_PATTERN)]
# A time as ISO 8601 text only (an ``AwareDatetime`` alone also takes epoch numbers), in UTC.
Instant = Annotated[AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_in_utc)]
NoDataPolicy = Literal["ignore", "good", "bad"]


def refuse_nul(data: Any) -> None:
    """A validation error at the value that holds a NUL character, if any does."""
    path = find_nul(data)
    if path is not None:
        error = PydanticCustomError("nul_character", NUL_HELP)
        raise ValidationError.from_exception_data(
            "input", [InitErrorDetails(type=error, loc=path, input=data)]
        )


class Input(BaseModel):
    """What clients send: no field beyond the model's, and no NUL in any text, keys and
    free-form maps (``params``, ``sli``, channels) included."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        refuse_nul(data)
        return data
