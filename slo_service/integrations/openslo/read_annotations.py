"""The ``slo-service.io/...`` annotations of an OpenSLO SLO: what OpenSLO has no field for.

``kind`` and ``params`` (JSON) restore an SLO kind, the indicator's difference from the kind's
SLI becoming ``sli`` overrides; ``sli-type: latency`` reads the ratio as a latency SLI;
``no-data`` and ``gate`` (JSON) carry ``no_data`` and ``gate``; ``alerting-min-events`` and
``alerting-no-data-for`` carry ``alerting.min_events`` and ``alerting.no_data_for``.
"""

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from slo_service.domain.kinds import Kind, build_sli
from slo_service.domain.sli import SLI_ADAPTER
from slo_service.errors import InvalidInput, clean_message
from slo_service.integrations.openslo.common import (
    ALERTING_ANNOTATION,
    ANNOTATIONS,
    GATE_ANNOTATION,
    KIND_ANNOTATION,
    MIN_EVENTS_ANNOTATION,
    NO_DATA_ANNOTATION,
    NO_DATA_FOR_ANNOTATION,
    PARAMS_ANNOTATION,
    SLI_TYPE_ANNOTATION,
)
from slo_service.integrations.openslo.read_fields import (
    as_json_object,
    fail,
    location,
)
from slo_service.integrations.openslo.read_sli import latency_sli
from slo_service.integrations.where import Here
from slo_service.schemas.policy import AlertingPolicy, GatePolicy


def read_notes(here: Here, notes: Mapping[str, str]) -> dict[str, str]:
    """slo-service's own annotations of an SLO (other tools' are kept as labels:
    ``read_metadata``), each one slo-service knows."""
    for key in notes:
        if key not in ANNOTATIONS:
            fail(
                here.at(key),
                f"not one of slo-service's annotations of an SLO ({', '.join(ANNOTATIONS)})",
            )
    if PARAMS_ANNOTATION in notes and KIND_ANNOTATION not in notes:
        fail(here.at(PARAMS_ANNOTATION), f"only with {KIND_ANNOTATION}")
    return dict(notes)


def read_note_fields(here: Here, notes: Mapping[str, str]) -> dict[str, Any]:
    """``no_data`` and ``gate`` of their annotations; the alerting one checked."""
    fields: dict[str, Any] = {}
    if NO_DATA_ANNOTATION in notes:
        no_data = notes[NO_DATA_ANNOTATION]
        if no_data not in ("ignore", "good", "bad"):
            fail(here.at(NO_DATA_ANNOTATION), f"{no_data!r}: give ignore, good or bad")
        if no_data != "ignore":
            fields["no_data"] = no_data
    if GATE_ANNOTATION in notes:
        gate = as_json_object(here.at(GATE_ANNOTATION), notes[GATE_ANNOTATION])
        try:
            GatePolicy.model_validate(gate)
        except ValidationError as exc:
            raise InvalidInput.from_pydantic(exc, location(here.at(GATE_ANNOTATION))) from None
        if gate:
            fields["gate"] = gate
    if ALERTING_ANNOTATION in notes and notes[ALERTING_ANNOTATION] != "default":
        fail(here.at(ALERTING_ANNOTATION), "give default (the built-in burn-rate tiers)")
    return fields


def read_alerting_notes(here: Here, notes: Mapping[str, str]) -> dict[str, Any]:
    """``alerting.min_events`` and ``alerting.no_data_for`` of their annotations."""
    settings: dict[str, Any] = {}
    if MIN_EVENTS_ANNOTATION in notes:
        text = notes[MIN_EVENTS_ANNOTATION]
        try:
            settings["min_events"] = float(text)
        except ValueError:
            fail(here.at(MIN_EVENTS_ANNOTATION), f"{text!r}: give a number of events, e.g. 10")
    if NO_DATA_FOR_ANNOTATION in notes:
        settings["no_data_for"] = notes[NO_DATA_FOR_ANNOTATION]
    try:
        AlertingPolicy.model_validate(settings)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = (
            MIN_EVENTS_ANNOTATION if error["loc"][:1] == ("min_events",) else NO_DATA_FOR_ANNOTATION
        )
        fail(here.at(key), clean_message(error["msg"]))
    return settings


def read_kind_and_sli(
    here: Here, notes: Mapping[str, str], service: str, sli: dict[str, Any], sli_here: Here
) -> dict[str, Any]:
    """The kind, params and ``sli`` overrides that make the SLO measure ``sli``."""
    if notes.get(SLI_TYPE_ANNOTATION, "latency") != "latency":
        fail(here.at(SLI_TYPE_ANNOTATION), "give latency (or leave it out)")
    if SLI_TYPE_ANNOTATION in notes:
        if sli["type"] != "ratio":
            fail(here.at(SLI_TYPE_ANNOTATION), "latency needs a ratioMetric")
        sli = latency_sli(here.at(SLI_TYPE_ANNOTATION), sli)
    try:
        SLI_ADAPTER.validate_python(sli)
    except ValidationError as exc:
        reasons = "; ".join(clean_message(e["msg"]) for e in exc.errors())
        fail(here.at(SLI_TYPE_ANNOTATION) if SLI_TYPE_ANNOTATION in notes else sli_here, reasons)
    kind_text = notes.get(KIND_ANNOTATION, Kind.CUSTOM.value)
    try:
        kind = Kind(kind_text)
    except ValueError:
        fail(here.at(KIND_ANNOTATION), f"{kind_text!r}: give one of {', '.join(Kind)}")
    if kind is Kind.CUSTOM:
        if PARAMS_ANNOTATION in notes:
            fail(here.at(PARAMS_ANNOTATION), "a custom SLO takes no params")
        return {"kind": kind.value, "sli": sli}
    params = as_json_object(here.at(PARAMS_ANNOTATION), notes.get(PARAMS_ANNOTATION, "{}"))
    try:
        _, template = build_sli(kind, params, None, service=service)
    except InvalidInput as exc:
        reasons = "; ".join(f"{'.'.join(map(str, loc))}: {r}" for loc, r in exc.problems)
        fail(here.at(PARAMS_ANNOTATION), reasons)
    fields: dict[str, Any] = {"kind": kind.value}
    if params:
        fields["params"] = params
    overrides = _overrides(template.model_dump(exclude_none=True), sli)
    if overrides:
        fields["sli"] = overrides
    return fields


def _overrides(template: Mapping[str, Any], sli: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of ``sli`` that differ from the kind's ``template`` (all of it if its source
    or type differ), as ``kinds._merge`` applies them."""
    if (sli["source"], sli.get("type")) != (template["source"], template.get("type")):
        return dict(sli)
    return {key: value for key, value in sli.items() if template.get(key) != value}
