"""SLO definitions: create, read, replace, patch, delete; each change checked and audited."""

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from slo_service.db import utcnow
from slo_service.domain.alert_settings import tier_of
from slo_service.domain.burn import nominal_length, tier_problem
from slo_service.domain.ids import parse_id
from slo_service.domain.kinds import budgeting_of, build_sli
from slo_service.domain.windows import parse_window
from slo_service.errors import Conflict, InvalidInput, NotFound
from slo_service.models import SLO
from slo_service.repositories import slos as slo_repo
from slo_service.schemas.slo import SLOCreate, SLOPatch, SLOPublic
from slo_service.services import audit
from slo_service.services.alerting import follow as alerting
from slo_service.services.gate import state as gate
from slo_service.sources.base import QueryChecker

# Fields of an SLO that a client writes, in the order they are shown.
SPEC_FIELDS = (
    "service",
    "name",
    "description",
    "labels",
    "kind",
    "objective",
    "window",
    "timezone",
    "params",
    "sli",
    "no_data",
    "alerting",
    "gate",
)


def resolve(session: Session, ref: str, *, include_deleted: bool = False) -> SLO:
    """Find a live SLO by numeric id, by ``service:name``, or by a name unique across services.

    ``include_deleted`` also finds soft-deleted SLOs by id (to purge them).
    """
    slo: SLO | None
    slo_id = parse_id(ref)
    if slo_id is not None:
        slo = slo_repo.get(session, slo_id, include_deleted=include_deleted)
    elif ":" in ref:
        service, _, name = ref.partition(":")
        slo = slo_repo.get_by_name(session, service=service, name=name)
    else:
        found = slo_repo.find_by_name(session, ref)
        if len(found) > 1:
            services = ", ".join(f"{s.service}:{s.name}" for s in found)
            raise Conflict(
                f"several SLOs are named {ref!r} ({services}); use service:name or the id"
            )
        slo = found[0] if found else None
    if slo is None:
        raise NotFound(f"no SLO {ref!r}: give its numeric id, service:name, or a unique name")
    return slo


Columns = dict[str, Any]


def spec_of(values: Columns | SLO) -> dict[str, Any]:
    """An SLO (or its prepared columns) as a client would write it: ``sli`` = their overrides."""
    if isinstance(values, SLO):
        values = values.model_dump()
    return {field: values["sli_overrides" if field == "sli" else field] for field in SPEC_FIELDS}


def to_public(slo: SLO) -> SLOPublic:
    return SLOPublic.model_validate(
        {**slo.model_dump(), "objective_percent": round(slo.objective * 100, 10)}
    )


def prepare(data: SLOCreate, checker: QueryChecker) -> Columns:
    """Column values for ``data``: kind expanded, queries checked; InvalidInput names the field."""
    params, sli = build_sli(data.kind, data.params, data.sli, service=data.service)
    problems = checker.check(sli)
    if problems:
        raise InvalidInput([(("sli", *loc), reason) for loc, reason in problems])
    _check_tiers(data)
    values = data.model_dump(exclude={"objective_percent", "sli"}, mode="json")
    values.update(
        params=params,
        sli=sli.model_dump(exclude_none=True),
        sli_overrides=data.sli,
        budgeting=str(budgeting_of(data.kind, sli)),
        gate=data.gate.model_dump(exclude_none=True, mode="json"),
        alerting=data.alerting.model_dump(exclude_none=True, mode="json")
        if data.alerting
        else None,
    )
    return values


def _check_tiers(data: SLOCreate) -> None:
    """Each tier the user gives must alert only on a real burn (factor at least 1) and look
    back no further than the SLO's window."""
    if data.alerting is None or not data.alerting.tiers:
        return
    period = nominal_length(parse_window(data.window))
    problems = []
    for index, spec in enumerate(data.alerting.tiers):
        problem = tier_problem(tier_of(spec.model_dump(), period), period)
        if problem is not None:
            problems.append((("alerting", "tiers", index), problem))
    if problems:
        raise InvalidInput(problems)


def _audit_view(values: Columns | SLO) -> dict[str, Any]:
    effective = values.sli if isinstance(values, SLO) else values["sli"]
    return {**spec_of(values), "effective_sli": effective}


def _ensure_free(session: Session, service: str, name: str, *, other_than: int | None) -> None:
    existing = slo_repo.get_by_name(session, service=service, name=name)
    if existing is not None and existing.id != other_than:
        raise Conflict(
            f"service {service!r} has an SLO named {name!r} already (id {existing.id}); "
            "pick another name, or PUT/PATCH that one"
        )


def _store(session: Session, slo: SLO, *, action: str, actor: str, changes: Columns) -> SLO:
    """Write ``slo`` and its audit entry; a name taken meanwhile is a conflict, not a 500."""
    try:
        slo_repo.add(session, slo)
    except IntegrityError:
        raise Conflict(f"service {slo.service!r} has an SLO named {slo.name!r} already") from None
    _audit(session, slo, action=action, actor=actor, changes=changes)
    return slo


def _audit(session: Session, slo: SLO, *, action: str, actor: str, changes: Columns) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        target_type="slo",
        target_id=slo.id or 0,
        target=f"{slo.service}:{slo.name}",
        changes=changes,
    )


def create(session: Session, values: Columns, *, actor: str) -> SLO:
    """Store a new SLO from ``prepare``d values."""
    _ensure_free(session, values["service"], values["name"], other_than=None)
    slo = SLO(**values)
    slo.updated_at = slo.created_at
    _store(session, slo, action="slo.create", actor=actor, changes=_audit_view(values))
    gate.refresh(session, [slo.service], now=slo.created_at, actor=actor)
    return slo


def changes_of(slo: SLO, values: Columns) -> dict[str, Any]:
    """What storing ``values`` would change in ``slo``, field by field."""
    return audit.diff(_audit_view(slo), _audit_view(values))


def replace(session: Session, slo: SLO, values: Columns, *, actor: str) -> SLO:
    """Set every field of ``slo`` from ``prepare``d values; audit what changed."""
    _ensure_free(session, values["service"], values["name"], other_than=slo.id)
    changes = changes_of(slo, values)
    if not changes:
        return slo
    before = slo.service
    for field, value in values.items():
        setattr(slo, field, value)
    slo.updated_at = utcnow()
    _store(session, slo, action="slo.update", actor=actor, changes=changes)
    gate.refresh(session, {before, slo.service}, now=slo.updated_at, actor=actor)
    return slo


def merge_patch(target: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """RFC 7396 JSON merge patch: objects merge, ``null`` removes, anything else replaces."""
    merged = dict(target)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_patch(merged[key], value)
        else:
            merged[key] = value
    return merged


def patched(slo: SLO, patch: SLOPatch) -> SLOCreate:
    """The SLO with ``patch`` applied, validated as a whole."""
    changes = patch.model_dump(exclude_unset=True)
    spec = spec_of(slo)
    if "objective_percent" in changes:
        spec.pop("objective")
    try:
        return SLOCreate.model_validate(merge_patch(spec, changes))
    except ValidationError as exc:
        raise InvalidInput.from_pydantic(exc) from None


def delete(session: Session, slo: SLO, *, actor: str, purge: bool = False) -> None:
    """Soft delete (history kept), or purge the SLO and everything stored for it."""
    _audit(session, slo, action="slo.purge" if purge else "slo.delete", actor=actor, changes={})
    alerting.retire(session, slo, now=utcnow())
    if purge:
        slo_repo.purge(session, slo)
    else:
        slo_repo.soft_delete(session, slo, at=utcnow())
    gate.refresh(session, [slo.service], now=utcnow(), actor=actor)


def list_page(
    session: Session,
    *,
    service: str | None,
    kind: str | None,
    labels: Sequence[str],
    limit: int,
    offset: int,
) -> tuple[Sequence[SLO], int]:
    """Live SLOs matching every filter; ``labels`` as ``key=value`` strings."""
    wanted: dict[str, str] = {}
    for index, item in enumerate(labels):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInput.at(("query", "label", index), f"{item!r}: write key=value")
        wanted[key] = value
    return slo_repo.list_page(
        session, service=service, kind=kind, labels=wanted, limit=limit, offset=offset
    )
