"""The metadata of OpenSLO documents, kept on the SLOs made of them.

The spec allows ``metadata.displayName``, ``metadata.labels``, ``metadata.annotations`` and
``spec.description`` on every kind. slo-service keeps all of them on each SLO a document is
part of (its own SLO document, its SLI, its Service, its alert policies and their conditions):

- ``labels`` → the SLO's ``labels``; a list value (the spec allows one) is joined with commas.
- annotations of other tools (any key outside ``slo-service.io/``) → labels as well, since
  slo-service's labels already carry such metadata (``runbook_url``, a dashboard's address).
  slo-service's own annotations are read where they mean something: on an SLO
  (``read_annotations``) and ``slo-service.io/short-window`` on an AlertCondition
  (``read_alerting``); anywhere else they are refused.
- Two documents of one SLO giving one label different values are refused, naming both places:
  which one should win is the user's call, not the importer's.
- Texts: the SLO's ``displayName``, ``spec.description`` and its objective's ``displayName``
  make its ``description``, joined with " — " (``read``); those of every other document it is
  made of follow, each as ``<Kind> <name>: <displayName> — <description>``.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from slo_service.errors import InvalidInput, format_loc
from slo_service.integrations.openslo.common import PREFIX
from slo_service.integrations.openslo.read_fields import (
    Problem,
    as_labels,
    as_mapping,
    as_text,
    check_keys,
    collect,
    location,
)
from slo_service.integrations.where import Here

METADATA_KEYS = {"name", "displayName", "labels", "annotations"}


@dataclass(frozen=True)
class Metadata:
    """A document's metadata as slo-service keeps it: its display name, its labels and other
    tools' annotations (each with where it was given), and slo-service's own annotations."""

    display_name: str
    labels: dict[str, tuple[str, Here]]
    notes: dict[str, str]


def read_metadata(here: Here, value: Any) -> Metadata:
    """The metadata at ``here`` (its ``name`` is read with the document), every problem of it
    reported at once."""
    metadata = as_mapping(here, value)
    problems: list[Problem] = []
    collect(problems, lambda: check_keys(here, metadata, METADATA_KEYS))
    shown = collect(problems, lambda: as_text(here.at("displayName"), metadata.get("displayName")))
    given = collect(problems, lambda: as_labels(here.at("labels"), metadata.get("labels")))
    labels = {key: (text, here.at("labels", key)) for key, text in (given or {}).items()}
    notes: dict[str, str] = {}
    at = here.at("annotations")
    annotations = collect(problems, lambda: as_mapping(at, metadata.get("annotations") or {}))
    foreign: dict[str, Any] = {}
    for key, text in (annotations or {}).items():
        if not str(key).startswith(PREFIX):
            foreign[str(key)] = text
        elif isinstance(text, str) and text.strip():
            notes[str(key)] = text
        else:
            problems.append((location(at.at(str(key))), "give a non-empty string"))
    kept = collect(problems, lambda: as_labels(at, foreign, what="annotation")) or {}
    for key, text in kept.items():
        if key in labels and labels[key][0] != text:
            problems.append(
                (
                    location(at.at(key)),
                    f"{text!r} differs from the label {key}: {labels[key][0]!r}: slo-service "
                    "keeps other tools' annotations as labels, one value per key; make them agree",
                )
            )
        labels.setdefault(key, (text, at.at(key)))
    if problems:
        raise InvalidInput(problems)
    return Metadata(shown or "", labels, notes)


def refuse_notes(
    here: Here, notes: Mapping[str, str], allowed: frozenset[str] = frozenset()
) -> None:
    """Refuse slo-service's annotations a document of this kind has no use for."""
    problems: list[Problem] = [
        (
            location(here.at(key)),
            "slo-service reads its own annotations on SLO documents (and "
            f"{PREFIX}short-window on an AlertCondition); move it to the SLO's metadata",
        )
        for key in notes
        if key not in allowed
    ]
    if problems:
        raise InvalidInput(problems)


@dataclass
class Kept:
    """What one SLO keeps of the documents it is made of: labels (each with where it was
    given, to name both places of a conflict) and the texts that follow its own in its
    description."""

    labels: dict[str, tuple[str, Here]] = field(default_factory=dict)
    texts: list[str] = field(default_factory=list)

    def add_labels(self, labels: Mapping[str, tuple[str, Here]]) -> None:
        """Merge ``labels``; InvalidInput for each key given another value elsewhere."""
        problems: list[Problem] = []
        for key, (text, here) in labels.items():
            first = self.labels.setdefault(key, (text, here))
            if first[0] != text:
                problems.append(
                    (
                        location(here),
                        f"{text!r} differs from {first[0]!r} given at "
                        f"{format_loc(location(first[1]))}: an SLO has one value per label; "
                        "make them agree",
                    )
                )
        if problems:
            raise InvalidInput(problems)

    def add_document(self, title: str, metadata: Metadata, description: Any, at: Here) -> None:
        """Keep another document's labels and its texts (``description`` is its
        ``spec.description``, found at ``at``) under ``title``, e.g. ``SLI good-ratio``."""
        problems: list[Problem] = []
        collect(problems, lambda: self.add_labels(metadata.labels))
        text = collect(problems, lambda: as_text(at, description))
        parts = [part for part in (metadata.display_name, text) if part]
        if parts:
            self.texts.append(f"{title}: {' — '.join(dict.fromkeys(parts))}")
        if problems:
            raise InvalidInput(problems)

    def label_values(self) -> dict[str, str]:
        """The labels, as the SLO's ``labels``."""
        return {key: text for key, (text, _) in self.labels.items()}
