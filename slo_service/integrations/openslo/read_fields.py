"""The small readers of OpenSLO fields: each returns a value of one type or refuses it.

``Here`` is where a value sits (its document and the path inside it); ``fail`` raises the
InvalidInput that names it, e.g. ``document 2 (SLO churn), spec.objectives[0].target: ...``.
``check_keys`` refuses every key slo-service does not map: nothing is dropped on the way in.
``collect`` runs one reader and keeps its problems, so that every problem of a document is
reported at once rather than the first alone.
"""

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NoReturn, ParamSpec, TypeVar

from slo_service.errors import InvalidInput
from slo_service.integrations.where import Here

_LABEL_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]{0,62}")
T = TypeVar("T")
P = ParamSpec("P")
Problem = tuple[Sequence[str | int], str]

HINTS = {
    "raw": "not supported: slo-service counts good (or bad) and total events; a precomputed "
    "ratio cannot be budgeted by occurrences",
    "rawType": "not supported: slo-service counts good (or bad) and total events",
    "notificationTargets": "not supported: slo-service sends alerts by its notification "
    "routes (/api/v1/notification-routes); leave notificationTargets out or empty",
}


def fail(here: Here, reason: str) -> NoReturn:
    """Refuse the value at ``here``: an InvalidInput naming its document and path."""
    raise InvalidInput.at(location(here), reason)


def location(here: Here) -> tuple[str | int, ...]:
    """``here`` as an InvalidInput location (``Here.location``)."""
    return here.location()


def collect(
    problems: list[Problem], read: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T | None:
    """``read(*args, **kwargs)``, or None with its problems added to ``problems`` if it
    refuses something."""
    try:
        return read(*args, **kwargs)
    except InvalidInput as exc:
        problems += exc.problems
        return None


def as_mapping(here: Here, value: Any) -> Mapping[str, Any]:
    """The value, if it is a mapping."""
    if not isinstance(value, dict):
        fail(here, "expected a mapping")
    return value


def check_keys(
    here: Here,
    value: Mapping[str, Any],
    allowed: Iterable[str],
    *,
    required: Iterable[str] = (),
) -> None:
    """Refuse every key not in ``allowed`` (with a hint for some), and require ``required``."""
    allowed = set(allowed)
    problems: list[Problem] = []
    for key in value:
        if key not in allowed:
            problems.append((location(here.at(str(key))), HINTS.get(str(key), "not supported")))
    problems += [(location(here.at(key)), "required") for key in required if key not in value]
    if problems:
        raise InvalidInput(problems)


def as_string(here: Here, value: Any) -> str:
    """The value, if it is a string with more than white space."""
    if not isinstance(value, str) or not value.strip():
        fail(here, "give a non-empty string")
    return value


def as_text(here: Here, value: Any) -> str:
    """An optional text (``displayName``, ``description``), stripped; "" when absent."""
    if value is None:
        return ""
    if not isinstance(value, str):
        fail(here, "give a string")
    return value.strip()


def as_number(here: Here, value: Any) -> float:
    """The value as a float, if it is an int or a float (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        fail(here, f"{value!r} is not a number")
    return float(value)


def as_slug(here: Here, value: Any, what: str = "a name") -> str:
    """The value, if it is a slug as slo-service's names (``what``) are."""
    text = as_string(here, value)
    if not re.fullmatch(r"[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?", text):
        fail(
            here,
            f"{text!r} is not a slug, as {what} in slo-service is: use 1-63 lowercase letters, "
            "digits, '-' or '_', starting and ending with a letter or digit",
        )
    return text


def as_json_object(here: Here, text: str) -> dict[str, Any]:
    """An annotation's text read as a JSON object."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        fail(here, f"not valid JSON: {exc}")
    if not isinstance(value, dict):
        fail(here, "give a JSON object")
    return value


def as_labels(here: Here, value: Any, *, what: str = "label") -> dict[str, str]:
    """``metadata.labels`` (or annotations kept as labels, ``what``) as slo-service's labels:
    a list value joined with commas. Every bad key or value is reported at once."""
    if value is None:
        return {}
    labels: dict[str, str] = {}
    problems: list[Problem] = []
    for key, item in as_mapping(here, value).items():
        at = location(here.at(str(key)))
        if not _LABEL_KEY.fullmatch(str(key)):
            problems.append(
                (
                    at,
                    f"slo-service keeps each {what} as a label, whose key starts with a letter "
                    "or '_', then letters, digits, '_./-', at most 63 characters",
                )
            )
        elif isinstance(item, list) and item and all(isinstance(v, str) for v in item):
            labels[str(key)] = ",".join(item)
        elif isinstance(item, str):
            labels[str(key)] = item
        else:
            problems.append((at, "give a string or a list of strings (joined with commas)"))
        if len(labels.get(str(key), "")) > 256:
            problems.append((at, "slo-service keeps label values of at most 256 characters"))
    if problems:
        raise InvalidInput(problems)
    return labels
