"""The small readers of OpenSLO fields: each returns a value of one type or refuses it.

``Here`` is where a value sits (its document and the path inside it); ``fail`` raises the
InvalidInput that names it, e.g. ``document 2 (SLO churn), spec.objectives[0].target: ...``.
``check_keys`` refuses every key slo-service does not map: nothing is dropped on the way in.
"""

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from slo_service.errors import InvalidInput

_LABEL_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]{0,62}")

_NO_TEXT = (
    "not supported: slo-service keeps no text of {what}; move it to the SLO's spec.description"
)
HINTS = {
    "metricSourceRef": "not supported: slo-service queries the Prometheus of "
    "SLO_PROMETHEUS_URL; give type: Prometheus and spec.query instead",
    "raw": "not supported: slo-service counts good (or bad) and total events; a precomputed "
    "ratio cannot be budgeted by occurrences",
    "rawType": "not supported: slo-service counts good (or bad) and total events",
    "notificationTargets": "not supported: slo-service sends alerts by its notification "
    "routes (/api/v1/notification-routes); leave notificationTargets out or empty",
}


@dataclass(frozen=True)
class Here:
    """Where a value sits: its document's label and the path inside the document."""

    label: str
    path: tuple[str | int, ...] = ()

    def at(self, *keys: str | int) -> "Here":
        return Here(self.label, (*self.path, *keys))


def fail(here: Here, reason: str) -> NoReturn:
    """Refuse the value at ``here``: an InvalidInput naming its document and path."""
    raise InvalidInput.at(location(here), reason)


def location(here: Here) -> tuple[str | int, ...]:
    """``here`` as an InvalidInput location: ``("document 2 (SLO x), spec", "objectives",
    0)``, the document's label and the first key joined as the head."""
    if not here.path:
        return (here.label,)
    head, *rest = here.path
    if isinstance(head, int):
        return (here.label, *here.path)
    return (f"{here.label}, {head}", *rest)


def as_mapping(here: Here, value: Any) -> Mapping[str, Any]:
    """The value, if it is a mapping."""
    if not isinstance(value, dict):
        fail(here, "expected a mapping")
    return value


def check_keys(
    here: Here,
    value: Mapping[str, Any],
    allowed: Iterable[str],
    text: str | None = None,
    *,
    required: Iterable[str] = (),
) -> None:
    """Refuse every key not in ``allowed`` (``displayName``/``description`` of ``text``, an
    object slo-service keeps no text of, with a hint), and require ``required``."""
    allowed = set(allowed)
    problems: list[tuple[Sequence[str | int], str]] = []
    for key in value:
        if key in allowed:
            continue
        if text is not None and key in ("displayName", "description"):
            reason = _NO_TEXT.format(what=text)
        else:
            reason = HINTS.get(str(key), "not supported")
        problems.append((location(here.at(str(key))), reason))
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


def as_labels(here: Here, value: Any) -> dict[str, str]:
    """``metadata.labels`` as slo-service's labels: a list value joined with commas."""
    if value is None:
        return {}
    labels: dict[str, str] = {}
    for key, item in as_mapping(here, value).items():
        if not _LABEL_KEY.fullmatch(str(key)):
            fail(
                here.at(str(key)),
                "slo-service's label keys start with a letter or '_', then letters, digits, "
                "'_./-', at most 63 characters",
            )
        if isinstance(item, list) and item and all(isinstance(v, str) for v in item):
            labels[str(key)] = ",".join(item)
        elif isinstance(item, str):
            labels[str(key)] = item
        else:
            fail(here.at(str(key)), "give a string or a list of strings (joined with commas)")
    return labels
