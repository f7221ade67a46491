"""The documents of an OpenSLO file: each one's envelope checked, indexed by kind and name.

SLO documents are converted; SLI, AlertPolicy and AlertCondition documents are found by the
references in them (and refused if no SLO uses them); a Service's metadata and description
are kept on the SLOs of that service (``read_metadata``). Kinds slo-service has no use for
(DataSource, AlertNotificationTarget) and other apiVersions are refused, each saying why and
what to do instead.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from slo_service.errors import InvalidInput
from slo_service.integrations.openslo.common import API_VERSION
from slo_service.integrations.openslo.read_fields import (
    HINTS,
    Problem,
    as_mapping,
    as_slug,
    as_string,
    as_text,
    check_keys,
    collect,
    fail,
)
from slo_service.integrations.openslo.read_metadata import Metadata, read_metadata, refuse_notes
from slo_service.integrations.where import Here

_UNSUPPORTED_KINDS = {
    "DataSource": "not supported: slo-service reads metrics from the Prometheus-compatible "
    "datasources of its own configuration (SLO_DATASOURCES_FILE, or SLO_PROMETHEUS_URL as "
    "'default') and keeps no connection details in SLO files; leave the DataSource out and "
    "name one of those datasources in the SLI's metricSourceRef (or leave it out: default)",
    "AlertNotificationTarget": HINTS["notificationTargets"].replace(
        "; leave notificationTargets out or empty", ""
    ),
}
KINDS = ("SLO", "SLI", "AlertPolicy", "AlertCondition", "Service")
# What the earlier drafts of the spec changed, for the message that refuses them.
_OLDER_VERSIONS = {
    "openslo/v1alpha": "the spec's earlier draft (timeWindow as unit and count, objectives "
    "with ratioMetrics of their own); slo-service reads openslo/v1: rewrite the file in v1",
}


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


@dataclass(frozen=True)
class Service:
    """A Service document: what its SLOs keep of it (read once, kept on each of them)."""

    doc: Doc
    metadata: Metadata
    description: str


@dataclass
class Index:
    """A file's SLO documents, and the others by kind and name for references."""

    slos: list[Doc] = field(default_factory=list)
    named: dict[str, dict[str, Doc]] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)

    def find(self, kind: str, name: str) -> Doc | None:
        """The document of ``kind`` named ``name``, marked as used; None if there is none."""
        found = self.named.get(kind, {}).get(name)
        if found is not None:
            found.used = True
        return found


def index_documents(documents: Sequence[Any], problems: list[Problem]) -> Index:
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
            except InvalidInput as exc:
                problems += exc.problems
                continue
            if doc.kind == "SLO":
                index.slos.append(doc)
                continue
            if doc.kind == "Service":
                service = collect(problems, _service, doc)
                if service is not None and doc.name in index.services:
                    problems.append(
                        ((doc.here.label,), f"another Service is named {doc.name!r} already")
                    )
                elif service is not None:
                    index.services[doc.name] = service
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
    version = body.get("apiVersion")
    if version in _OLDER_VERSIONS:
        fail(here.at("apiVersion"), f"{version!r}: {_OLDER_VERSIONS[version]}")
    if version != API_VERSION:
        fail(
            here.at("apiVersion"),
            f"{version!r}: a file holds native SLOs or OpenSLO documents of "
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


def _service(doc: Doc) -> Service:
    """A Service document: its name (a slug, as services are), its metadata and description,
    which the SLOs of the service keep."""
    here = doc.here
    problems: list[Problem] = []
    collect(problems, lambda: as_slug(here.at("metadata", "name"), doc.name))
    metadata = collect(problems, lambda: read_metadata(here.at("metadata"), doc.body["metadata"]))
    if metadata is not None:
        collect(problems, lambda: refuse_notes(here.at("metadata", "annotations"), metadata.notes))
    spec = collect(problems, lambda: as_mapping(here.at("spec"), doc.body.get("spec") or {}))
    if spec is not None:
        collect(problems, lambda: check_keys(here.at("spec"), spec, {"description"}))
    at = here.at("spec", "description")
    description = collect(problems, lambda: as_text(at, (spec or {}).get("description")))
    if problems or metadata is None:
        raise InvalidInput(problems)
    return Service(doc, metadata, description or "")
