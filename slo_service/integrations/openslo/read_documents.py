"""The documents of an OpenSLO file: each one's envelope checked, indexed by kind and name.

SLO documents are converted; SLI, AlertPolicy and AlertCondition documents are found by the
references in them (and refused if no SLO uses them); a Service declares only its name.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from slo_service.errors import InvalidInput
from slo_service.integrations.openslo.common import API_VERSION
from slo_service.integrations.openslo.read_fields import (
    HINTS,
    Here,
    as_mapping,
    as_slug,
    as_string,
    check_keys,
    fail,
)

_UNSUPPORTED_KINDS = {
    "DataSource": "not supported: slo-service queries the Prometheus of SLO_PROMETHEUS_URL; "
    "give metricSource.type: Prometheus in the SLI instead",
    "AlertNotificationTarget": HINTS["notificationTargets"].replace(
        "; leave notificationTargets out or empty", ""
    ),
}
KINDS = ("SLO", "SLI", "AlertPolicy", "AlertCondition", "Service")


@dataclass
class Doc:
    """One OpenSLO document: where it is in the file, its kind, name and body, and
    whether an SLO refers to it (an SLI or alert policy no SLO uses is refused)."""

    where: str
    kind: str
    name: str
    body: Mapping[str, Any]
    used: bool = False

    @property
    def here(self) -> Here:
        return Here(f"{self.where} ({self.kind} {self.name})")


@dataclass
class Index:
    """A file's SLO documents, and the others by kind and name for references."""

    slos: list[Doc] = field(default_factory=list)
    named: dict[str, dict[str, Doc]] = field(default_factory=dict)

    def find(self, kind: str, name: str) -> Doc | None:
        """The document of ``kind`` named ``name``, marked as used; None if there is none."""
        found = self.named.get(kind, {}).get(name)
        if found is not None:
            found.used = True
        return found


def index_documents(
    documents: Sequence[Any], problems: list[tuple[Sequence[str | int], str]]
) -> Index:
    """Check each document's envelope and index it; its problems are added to ``problems``
    (a list document's items are documents too: ``document 1[2]``)."""
    index = Index()
    for number, document in enumerate(documents, start=1):
        items = (
            [(f"document {number}[{i}]", item) for i, item in enumerate(document)]
            if isinstance(document, list)
            else [(f"document {number}", document)]
        )
        for where, item in items:
            try:
                doc = _document(where, item)
                if doc.kind == "Service":
                    _service(doc)
            except InvalidInput as exc:
                problems += exc.problems
                continue
            if doc.kind == "SLO":
                index.slos.append(doc)
                continue
            if doc.kind == "Service":
                continue
            same = index.named.setdefault(doc.kind, {})
            if doc.name in same:
                problems.append(
                    ((doc.here.label,), f"another {doc.kind} is named {doc.name!r} already")
                )
                continue
            same[doc.name] = doc
    return index


def _document(where: str, item: Any) -> Doc:
    """The document's apiVersion, kind and name, checked."""
    body = as_mapping(Here(where), item)
    kind, metadata = body.get("kind"), body.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    named = isinstance(kind, str) and isinstance(name, str)
    here = Here(f"{where} ({kind} {name})" if named else where)
    check_keys(
        here, body, {"apiVersion", "kind", "metadata", "spec"}, required=("kind", "metadata")
    )
    if body.get("apiVersion") != API_VERSION:
        fail(
            here.at("apiVersion"),
            f"{body.get('apiVersion')!r}: a file holds native SLOs or OpenSLO documents of "
            f"apiVersion {API_VERSION}, not both nor other versions",
        )
    kind = body["kind"]
    if not isinstance(kind, str):
        fail(here.at("kind"), f"{kind!r}: must be a text, one of {', '.join(KINDS)}")
    if kind in _UNSUPPORTED_KINDS:
        fail(here.at("kind"), f"{kind}: {_UNSUPPORTED_KINDS[kind]}")
    if kind not in KINDS:
        fail(here.at("kind"), f"{kind!r}: not supported; give one of {', '.join(KINDS)}")
    metadata = as_mapping(here.at("metadata"), body["metadata"])
    name = as_string(here.at("metadata", "name"), metadata.get("name"))
    if "spec" not in body and kind != "Service":
        fail(here.at("spec"), "required")
    return Doc(where, kind, name, body)


def _service(doc: Doc) -> None:
    """A Service document only declares its name: slo-service keeps nothing else of it."""
    here = doc.here
    check_keys(here.at("metadata"), doc.body["metadata"], {"name"}, text="a service")
    as_slug(here.at("metadata", "name"), doc.name)
    if "spec" in doc.body:
        check_keys(
            here.at("spec"), as_mapping(here.at("spec"), doc.body["spec"]), set(), "a service"
        )
