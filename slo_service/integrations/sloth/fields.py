"""The small readers of Sloth fields, and the collector of every problem of a file.

Sloth files are read whole before anything is refused: each reader records its problem in
``Problems`` (with the path of the field, e.g. ``document 1 (Sloth service myservice),
slos[0].objective``) and returns None, so one ``InvalidInput`` names them all at the end.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from slo_service.errors import InvalidInput
from slo_service.integrations.where import Here

SLUG = re.compile(r"[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?")
LABEL_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]{0,62}")
LABEL_VALUE_MAX = 256


@dataclass
class Problems:
    """Every problem found so far, each at its field."""

    found: list[tuple[tuple[str | int, ...], str]] = field(default_factory=list)

    def add(self, here: Here, reason: str) -> None:
        self.found.append((here.location(), reason))

    def count(self) -> int:
        return len(self.found)

    def raise_any(self) -> None:
        if self.found:
            raise InvalidInput(self.found)


def check_keys(
    problems: Problems,
    here: Here,
    value: Mapping[str, Any],
    allowed: Iterable[str],
    *,
    hints: Mapping[str, str] | None = None,
    required: Iterable[str] = (),
) -> None:
    """Record every key not in ``allowed`` (with its hint, if any) and every missing one."""
    allowed = set(allowed)
    for key in value:
        if key not in allowed:
            problems.add(here.at(str(key)), (hints or {}).get(str(key), "not supported"))
    for key in required:
        if key not in value:
            problems.add(here.at(key), "required")


def pick(
    problems: Problems, here: Here, value: Mapping[str, Any], *names: str
) -> tuple[Here, Any] | None:
    """The field spelled one of ``names`` (Sloth's spellings of one field: ``error_query`` in
    prometheus/v1, ``errorQuery`` in the Kubernetes resource), and where it is."""
    given = [name for name in names if name in value]
    if len(given) > 1:
        problems.add(here.at(given[1]), f"the same field as {given[0]}: give one of them")
    return (here.at(given[0]), value[given[0]]) if given else None


def as_mapping(problems: Problems, here: Here, value: Any) -> Mapping[str, Any] | None:
    """The value, if it is a mapping; ``null`` (an empty YAML block) reads as empty."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.add(here, "expected a mapping")
        return None
    return value


def as_text(problems: Problems, here: Here, value: Any) -> str | None:
    """A string (stripped); None with a problem otherwise."""
    if not isinstance(value, str):
        problems.add(here, "give a string")
        return None
    return value.strip()


def as_slug(problems: Problems, here: Here, value: Any, what: str) -> str | None:
    """The value, if it is a slug as slo-service's ``what`` (a service, an SLO name) is."""
    text = as_text(problems, here, value)
    if text is None:
        return None
    if not SLUG.fullmatch(text):
        problems.add(
            here,
            f"{text!r} is not a slug, as {what} in slo-service is: use 1-63 lowercase letters, "
            "digits, '-' or '_', starting and ending with a letter or digit",
        )
        return None
    return text


def as_label_value(problems: Problems, here: Here, value: Any) -> str | None:
    """A Prometheus label value as Sloth reads one (a YAML scalar, as Go reads it into a
    string: ``true``, ``2``), at most 256 characters as slo-service's label values are."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str | int | float):
        text = str(value)
    else:
        problems.add(here, "give a string")
        return None
    if len(text) > LABEL_VALUE_MAX:
        problems.add(
            here,
            f"{len(text)} characters: slo-service keeps it as a label value, at most "
            f"{LABEL_VALUE_MAX} characters; shorten it",
        )
        return None
    return text


def as_string_map(problems: Problems, here: Here, value: Any) -> dict[str, str]:
    """A ``labels`` or ``annotations`` block: each value read by ``as_label_value``."""
    mapping = as_mapping(problems, here, value)
    found: dict[str, str] = {}
    for key, item in (mapping or {}).items():
        text = as_label_value(problems, here.at(str(key)), item)
        if text is not None:
            found[str(key)] = text
    return found
