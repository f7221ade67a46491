"""Apply many SLOs at once, keyed by (service, name): create, update, optionally prune.

All items are validated before anything is written, every problem is reported at once, and the
whole apply is one transaction: a file either lands completely or not at all.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError
from sqlmodel import Session

from slo_service.config import Settings
from slo_service.errors import InvalidInput
from slo_service.integrations.openslo import common as openslo_common
from slo_service.integrations.openslo import read as openslo_read
from slo_service.integrations.sloth import read as sloth_read
from slo_service.repositories import slos as slo_repo
from slo_service.schemas.apply import ApplyChange, ApplyResult
from slo_service.schemas.slo import SLOCreate
from slo_service.services import slos
from slo_service.sources.base import QueryChecker


@dataclass(frozen=True)
class Item:
    """One SLO to apply, with ``where`` naming it in messages (e.g. ``slos[3]``)."""

    where: str
    spec: Mapping[str, Any]


def parse_yaml(text: str, *, bucket_seconds: int | None = None) -> list[Item]:
    """Read a native YAML file: documents that are one SLO each, or ``{service?, slos: [...]}``;
    or OpenSLO v1 documents (``apiVersion: openslo/v1``), or Sloth's (``version: prometheus/v1``,
    ``apiVersion: sloth.slok.dev/v1``), converted to native SLOs. A document of another format
    (an ``apiVersion`` or ``version`` no reader knows) is refused, naming the formats read.

    An OpenSLO time slice must be one bucket: ``bucket_seconds``, by default SLO_BUCKET_SECONDS.
    """
    try:
        documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as exc:
        raise InvalidInput.at((), f"not valid YAML: {exc}") from None
    _refuse_unknown_formats(documents)
    sloth = [sloth_read.is_sloth(document) for document in documents]
    if any(sloth):
        if not all(sloth):
            raise InvalidInput.at(
                (f"document {sloth.index(False) + 1}",),
                f"not Sloth: a file holds native SLOs, OpenSLO documents or Sloth documents "
                f"({_SLOTH_FORMAT}), one format",
            )
        return [Item(where, spec) for where, spec in sloth_read.convert(documents)]
    flags = [openslo_read.is_openslo(document) for document in documents]
    if any(flags):
        if not all(flags):
            number = flags.index(False) + 1
            raise InvalidInput.at(
                (f"document {number}",),
                "not OpenSLO: a file holds native SLOs or OpenSLO documents "
                f"(apiVersion: {openslo_common.API_VERSION}), not both",
            )
        bucket = bucket_seconds if bucket_seconds is not None else _bucket_seconds()
        converted = openslo_read.convert(documents, bucket_seconds=bucket)
        return [Item(where, spec) for where, spec in converted]
    items: list[Item] = []
    for number, document in enumerate(documents, start=1):
        where = f"document {number}"
        if not isinstance(document, dict):
            raise InvalidInput.at((where,), "expected a mapping (one SLO, or 'slos:' with a list)")
        if "slos" not in document:
            items.append(Item(where, document))
            continue
        extra = set(document) - {"service", "slos"}
        entries = document["slos"]
        if extra or not isinstance(entries, list):
            raise InvalidInput.at(
                (where,), "a list document has only 'service' (optional) and 'slos' (a list)"
            )
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise InvalidInput.at((f"{where}, slos[{index}]",), "expected a mapping")
            defaults = {"service": document["service"]} if "service" in document else {}
            items.append(Item(f"{where}, slos[{index}]", {**defaults, **entry}))
    if not items:
        raise InvalidInput.at((), "the file holds no SLO")
    return items


_SLOTH_FORMAT = (
    f"version: {sloth_read.VERSION}, or apiVersion: {sloth_read.API_VERSION} with kind "
    f"{sloth_read.KIND}"
)
FORMATS = (
    f"native SLOs (no apiVersion), OpenSLO v1 (apiVersion: {openslo_common.API_VERSION}) and "
    f"Sloth ({_SLOTH_FORMAT})"
)


def _refuse_unknown_formats(documents: Sequence[Any]) -> None:
    """Refuse, all at once, the documents whose ``apiVersion`` or ``version`` no reader knows,
    naming the formats that are read (OpenSLO's other versions are the OpenSLO reader's)."""
    problems: list[tuple[Sequence[str | int], str]] = []
    for number, document in enumerate(documents, start=1):
        if not isinstance(document, dict) or sloth_read.is_sloth(document):
            continue
        if openslo_read.is_openslo(document):
            continue  # the OpenSLO reader says what of another OpenSLO version to change
        for key in ("apiVersion", "version"):
            if key in document:
                problems.append(
                    (
                        (f"document {number}", key),
                        f"{document[key]!r} is not a format slo-service reads; it reads {FORMATS}",
                    )
                )
                break
    if problems:
        raise InvalidInput(problems)


def _bucket_seconds() -> int:
    """The configured bucket width, or its default when the settings do not load (the apply
    then fails on them, or goes to a server)."""
    try:
        return Settings().bucket_seconds
    except ValidationError:
        return openslo_common.DEFAULT_BUCKET_SECONDS


def _prepare(items: Sequence[Item], checker: QueryChecker) -> list[slos.Columns]:
    problems: list[tuple[Sequence[str | int], str]] = []
    prepared: list[slos.Columns] = []
    seen: dict[tuple[str, str], str] = {}
    for item in items:
        try:
            values = slos.prepare(SLOCreate.model_validate(dict(item.spec)), checker)
        except ValidationError as exc:
            problems += InvalidInput.from_pydantic(exc, (item.where,)).problems
            continue
        except InvalidInput as exc:
            problems += exc.under((item.where,)).problems
            continue
        key = (values["service"], values["name"])
        if key in seen:
            problems.append(((item.where,), f"{key[0]}:{key[1]} is given twice (also {seen[key]})"))
        seen[key] = item.where
        prepared.append(values)
    if problems:
        raise InvalidInput(problems)
    return prepared


def apply(
    session: Session,
    items: Sequence[Item],
    *,
    dry_run: bool,
    prune: bool,
    actor: str,
    checker: QueryChecker,
) -> ApplyResult:
    """Plan (and unless ``dry_run``, make) the changes that bring the store to ``items``."""
    changes: list[ApplyChange] = []
    for values in _prepare(items, checker):
        service, name = values["service"], values["name"]
        existing = slo_repo.get_by_name(session, service=service, name=name)
        if existing is None:
            slo_id = None if dry_run else slos.create(session, values, actor=actor).id
            changes.append(_change("create", service, name, slo_id, slos.spec_of(values)))
            continue
        diff = slos.changes_of(existing, values)
        if diff and not dry_run:
            slos.replace(session, existing, values, actor=actor)
        changes.append(_change("update" if diff else "unchanged", service, name, existing.id, diff))
    if prune:
        named = {(c.service, c.name) for c in changes}
        for slo in slo_repo.live_in_services(session, sorted({c.service for c in changes})):
            if (slo.service, slo.name) not in named:
                if not dry_run:
                    slos.delete(session, slo, actor=actor)
                changes.append(_change("delete", slo.service, slo.name, slo.id, {}))
    summary = dict.fromkeys(("create", "update", "delete", "unchanged"), 0)
    for change in changes:
        summary[change.action] += 1
    return ApplyResult(dry_run=dry_run, changes=changes, summary=summary)


def _change(
    action: str, service: str, name: str, slo_id: int | None, changes: Mapping[str, Any]
) -> ApplyChange:
    return ApplyChange.model_validate(
        {"action": action, "service": service, "name": name, "id": slo_id, "changes": changes}
    )
