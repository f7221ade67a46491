"""The project's exceptions.

Every error a client can cause or see is a ``SloServiceError`` subclass that carries its HTTP
status; ``api.errors`` renders all of them as ``{"error": <class name>, "detail": <message>}``.
Services and repositories raise these, never ``HTTPException``, so the CLI can show the same
messages.

    SloServiceError
    ├── BadRequest            400
    ├── Unauthorized          401
    ├── Forbidden             403
    ├── NotFound              404
    ├── Conflict              409
    ├── InvalidInput          422  (carries the field path that is wrong)
    └── Unavailable           503
"""

from collections.abc import Collection, Iterator, Sequence
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from slo_service import unknown_fields


class SloServiceError(Exception):
    """Base of every error the service reports to a client."""

    status_code = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BadRequest(SloServiceError):
    status_code = 400


class Unauthorized(SloServiceError):
    status_code = 401


class Forbidden(SloServiceError):
    status_code = 403


class NotFound(SloServiceError):
    status_code = 404


class Conflict(SloServiceError):
    status_code = 409


class InvalidInput(SloServiceError):
    """Values that parse but are not acceptable; each problem names its field path."""

    status_code = 422

    def __init__(self, problems: Sequence[tuple[Sequence[str | int], str]]) -> None:
        self.problems = [(tuple(loc), reason) for loc, reason in problems]
        super().__init__(
            "; ".join(
                f"{format_loc(loc)}: {reason}" if loc else reason for loc, reason in self.problems
            )
        )

    @classmethod
    def at(cls, loc: Sequence[str | int], reason: str) -> "InvalidInput":
        """One problem at one field."""
        return cls([(loc, reason)])

    def under(self, prefix: Sequence[str | int]) -> "InvalidInput":
        """The same problems, with their field paths inside ``prefix``."""
        return InvalidInput([((*prefix, *loc), reason) for loc, reason in self.problems])

    @classmethod
    def from_pydantic(
        cls,
        exc: ValidationError,
        prefix: Sequence[str | int] = (),
        hidden: Collection[str] = (),
        model: Any = None,
    ) -> "InvalidInput":
        """Re-home pydantic's errors under ``prefix``, leaving out union tags in ``hidden``.
        ``model`` is what was validated (found from the error's title when left out), so that
        an unknown field's message can name the field meant."""
        errors = exc.errors()
        root = model
        if root is None and any(e["type"] == unknown_fields.EXTRA_FORBIDDEN for e in errors):
            root = unknown_fields.model_named(exc.title)
        return cls(
            [
                (
                    (*prefix, *(part for part in err["loc"] if part not in hidden)),
                    pydantic_message(err, root),
                )
                for err in errors
            ]
        )


class Unavailable(SloServiceError):
    status_code = 503


def format_loc(loc: Sequence[str | int]) -> str:
    """``("body", "sli", "good")`` → ``body.sli.good``; list indexes as ``[2]``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def clean_message(message: str) -> str:
    """pydantic prefixes messages of validators' ValueErrors with "Value error, "; drop it."""
    return message.removeprefix("Value error, ")


def pydantic_message(error: ErrorDetails, root: Any) -> str:
    """The message of one pydantic error of input validated as ``root`` (a model, an
    annotation, or ``None`` when unknown): an unknown field says which field was meant."""
    if error["type"] == unknown_fields.EXTRA_FORBIDDEN:
        return unknown_fields.message(root, error["loc"])
    return clean_message(error["msg"])


def causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it was raised from or while handling, innermost last (cycle-safe):
    httpx raises its errors from httpcore's, raised while handling the socket's."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        yield cause
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
