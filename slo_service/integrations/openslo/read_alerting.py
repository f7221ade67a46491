"""The ``alertPolicies`` of an OpenSLO SLO, read as slo-service's burn-rate tiers.

Policies (by name, ``alertPolicyRef`` or inline) and their conditions (inline or
``conditionRef``) of kind ``burnrate``: each condition is one tier.

- ``severity`` (the condition's, or the policy's ``spec.severity``): ``page`` or ``critical``
  make a page, anything else a ticket.
- ``lookbackWindow`` → the tier's ``long_window``; ``threshold`` (a burn rate) → its ``factor``,
  as written; ``op`` is ``gt`` (``gte`` reads the same: a burn rate exactly at the threshold is
  immaterial); ``lt``/``lte`` are refused, since such a tier would fire while the SLO is met.
- The tier's ``short_window`` (the second window slo-service also checks, so that a burn that
  has stopped no longer fires) is slo-service's own: ``lookbackWindow / 12``, the SRE
  workbook's ratio (1h → 5m, 6h → 30m, 1d → 2h, 3d → 6h), rounded to whole minutes, at least
  1m; the condition's annotation ``slo-service.io/short-window`` sets another.
- ``alertAfter`` is what the spec says: how long the condition must hold before the alert
  fires, 0m when left out. It is the tier's ``hold``: the tier fires once both its windows
  have stayed over the factor that long (checked at each bucket boundary); a hold longer than
  ``lookbackWindow`` is refused.

A tier slo-service would refuse when storing the SLO is refused here, at the condition's field.
Every problem of every policy and condition is reported at once. The metadata and description
of each policy and condition are kept on the SLO (``read_metadata``).
"""

import math
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from slo_service.domain.alert_settings import NEVER
from slo_service.domain.burn import Tier, tier_problem
from slo_service.domain.windows import format_duration, parse_duration
from slo_service.errors import InvalidInput, clean_message
from slo_service.integrations.openslo.common import (
    ALERTING_ANNOTATION,
    API_VERSION,
    DURATION_UNITS,
    SHORT_WINDOW_ANNOTATION,
)
from slo_service.integrations.openslo.read_documents import Doc, Index
from slo_service.integrations.openslo.read_fields import (
    HINTS,
    Problem,
    as_mapping,
    as_number,
    as_string,
    check_keys,
    collect,
    fail,
    location,
)
from slo_service.integrations.openslo.read_metadata import Kept, read_metadata, refuse_notes
from slo_service.integrations.openslo.read_no_data import no_data_problems
from slo_service.integrations.where import Here
from slo_service.schemas.policy import AlertTier

# The severities of a condition that make a page; any other makes a ticket.
PAGE_SEVERITIES = ("page", "critical")
# The short window is the long one over this, as in the SRE workbook's tiers.
SHORT_WINDOW_RATIO = 12
# alertAfter of no time: 0, 0m, 00h, ... (any unit of the spec's duration shorthand).
_NO_TIME = re.compile(r"0+[smhdwMQY]?")


def read_alert_policies(
    here: Here,
    value: Any,
    index: Index,
    period: timedelta | None,
    notes: Mapping[str, str],
    kept: Kept,
) -> dict[str, Any] | None:
    """The SLO's ``alerting``: its tiers; ``enabled: false`` without alert policies; None
    (the built-in tiers) with the annotation ``slo-service.io/alerting``. ``period`` is the
    SLO's window (None when it was refused: the tiers are then not checked against it)."""
    if ALERTING_ANNOTATION in notes:
        if value:
            fail(here, f"give alertPolicies or the annotation {ALERTING_ANNOTATION}, not both")
        return None
    if value is None or value == []:
        return {"enabled": False}
    if not isinstance(value, list):
        fail(here, "give a list of alert policies")
    problems: list[Problem] = []
    tiers: list[dict[str, Any]] = []
    no_data: dict[bool, Here] = {}
    for number, entry in enumerate(value):
        found = collect(problems, _policy, here.at(number), entry, index, kept)
        if found is not None:
            tiers += _policy_tiers(found[0], found[1], index, period, kept, problems)
            wanted = found[1].get("alertWhenNoData")
            if isinstance(wanted, bool):
                no_data.setdefault(wanted, found[0].at("alertWhenNoData"))
            elif wanted is not None:
                problems.append((location(found[0].at("alertWhenNoData")), "give true or false"))
    problems += no_data_problems(no_data, notes)
    if len(tiers) > 8:
        problems.append(
            (
                location(here),
                f"{len(tiers)} burn-rate conditions: slo-service takes at most 8 per SLO",
            )
        )
    if problems:
        raise InvalidInput(problems)
    silent = {"no_data_for": NEVER} if False in no_data and True not in no_data else {}
    return {"enabled": True, "tiers": tiers, **silent}


def _policy(here: Here, entry: Any, index: Index, kept: Kept) -> tuple[Here, Mapping[str, Any]]:
    """The AlertPolicy's spec (inline, or the document a name refers to), and where it is;
    its metadata and description go to ``kept``."""
    ref: Any = entry
    if isinstance(entry, dict) and "alertPolicyRef" in entry:
        check_keys(here, entry, {"alertPolicyRef"})
        here = here.at("alertPolicyRef")
        ref = as_string(here, entry["alertPolicyRef"])
    if isinstance(ref, str):
        found = index.find("AlertPolicy", ref)
        if found is None:
            fail(here, f"no AlertPolicy document is named {ref!r}")
        spec = as_mapping(found.here.at("spec"), found.body["spec"])
        _keep(found.here, found.body["metadata"], spec, f"AlertPolicy {ref}", kept)
        return found.here.at("spec"), spec
    inline = as_mapping(here, entry)
    title = _inline_object(here, inline, "AlertPolicy")
    spec = as_mapping(here.at("spec"), inline["spec"])
    _keep(here, inline.get("metadata") or {}, spec, title, kept)
    return here.at("spec"), spec


def _inline_object(here: Here, inline: Mapping[str, Any], kind: str) -> str:
    """Check the envelope of an inline AlertPolicy or AlertCondition; its title."""
    check_keys(here, inline, {"apiVersion", "kind", "metadata", "spec"}, required=("kind", "spec"))
    if inline["kind"] != kind:
        fail(here.at("kind"), f"{inline['kind']!r}: give {kind}, or a reference")
    if "apiVersion" in inline and inline["apiVersion"] != API_VERSION:
        fail(here.at("apiVersion"), f"give {API_VERSION}")
    metadata = inline.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return f"{kind} {name}" if isinstance(name, str) else kind


def _keep(
    here: Here,
    metadata: Any,
    spec: Mapping[str, Any],
    title: str,
    kept: Kept,
    notes: frozenset[str] = frozenset(),
) -> dict[str, str]:
    """Keep a policy's or condition's metadata and description; its slo-service annotations
    (only those in ``notes`` are taken)."""
    read = read_metadata(here.at("metadata"), metadata)
    refuse_notes(here.at("metadata", "annotations"), read.notes, notes)
    kept.add_document(title, read, spec.get("description"), here.at("spec", "description"))
    return read.notes


def _policy_tiers(
    here: Here,
    policy: Mapping[str, Any],
    index: Index,
    period: timedelta | None,
    kept: Kept,
    problems: list[Problem],
) -> list[dict[str, Any]]:
    """The tiers of one policy's conditions; its problems go to ``problems``."""
    keys = {
        "description",
        "severity",
        "alertWhenNoData",
        "alertWhenBreaching",
        "alertWhenResolved",
        "conditions",
        "notificationTargets",
    }
    collect(problems, lambda: check_keys(here, policy, keys, required=("conditions",)))
    for key, wanted, why in (
        ("alertWhenBreaching", True, "slo-service alerts when a tier breaches"),
        ("alertWhenResolved", True, "slo-service always tells when an alert resolves"),
    ):
        if key in policy and policy[key] is not wanted:
            problems.append(
                (location(here.at(key)), f"only {str(wanted).lower()} is supported: {why}")
            )
    if policy.get("notificationTargets"):
        problems.append((location(here.at("notificationTargets")), HINTS["notificationTargets"]))
    default = policy.get("severity")
    if default is not None:
        collect(problems, lambda: as_string(here.at("severity"), default))
    conditions = policy.get("conditions")
    if "conditions" in policy and (not isinstance(conditions, list) or not conditions):
        problems.append((location(here.at("conditions")), "give a list of one or more conditions"))
        return []
    tiers = []
    for number, entry in enumerate(conditions or []):
        at = here.at("conditions", number)
        tier = collect(problems, _condition_tier, at, entry, index, default, period, kept)
        if tier is not None:
            tiers.append(tier)
    return tiers


def _condition_tier(
    here: Here, entry: Any, index: Index, default: Any, period: timedelta | None, kept: Kept
) -> dict[str, Any]:
    """The tier of one condition (inline, or the document a ``conditionRef`` names)."""
    condition = as_mapping(here, entry)
    allowed = frozenset({SHORT_WINDOW_ANNOTATION})
    if "conditionRef" in condition:
        check_keys(here, condition, {"conditionRef"})
        ref = as_string(here.at("conditionRef"), condition["conditionRef"])
        found = index.find("AlertCondition", ref)
        if found is None:
            fail(here.at("conditionRef"), f"no AlertCondition document is named {ref!r}")
        spec = as_mapping(found.here.at("spec"), found.body["spec"])
        title = f"AlertCondition {ref}"
        notes = _keep(found.here, found.body["metadata"], spec, title, kept, allowed)
        note_here = found.here.at("metadata", "annotations", SHORT_WINDOW_ANNOTATION)
        return _tier(found.here.at("spec"), spec, default, period, notes, note_here)
    title = _inline_object(here, condition, "AlertCondition")
    spec = as_mapping(here.at("spec"), condition["spec"])
    notes = _keep(here, condition.get("metadata") or {}, spec, title, kept, allowed)
    note_here = here.at("metadata", "annotations", SHORT_WINDOW_ANNOTATION)
    return _tier(here.at("spec"), spec, default, period, notes, note_here)


def _tier(
    here: Here,
    spec: Mapping[str, Any],
    default: Any,
    period: timedelta | None,
    notes: Mapping[str, str],
    note_here: Here,
) -> dict[str, Any]:
    check_keys(here, spec, {"description", "severity", "condition"}, required=("condition",))
    if "severity" in spec:
        severity = as_string(here.at("severity"), spec["severity"])
        if default is not None and default != severity:
            fail(here.at("severity"), f"{severity!r} differs from the policy's {default!r}")
    elif isinstance(default, str) and default.strip():
        severity = default
    else:
        fail(here.at("severity"), "required (here or in the policy's spec.severity)")
    at = here.at("condition")
    condition = as_mapping(at, spec["condition"])
    check_keys(
        at,
        condition,
        {"kind", "op", "threshold", "lookbackWindow", "alertAfter"},
        required=("threshold", "lookbackWindow"),
    )
    if condition.get("kind", "burnrate") != "burnrate":
        fail(at.at("kind"), f"{condition['kind']!r}: slo-service alerts on burnrate only")
    op = condition.get("op", "gt")
    if op not in ("gt", "gte"):
        fail(
            at.at("op"),
            f"{op!r}: a slo-service tier fires while the burn rate is above its threshold; a "
            "condition on a burn rate at or under it would fire while the SLO is met: give gt",
        )
    threshold = as_number(at.at("threshold"), condition["threshold"])
    if not 0 < threshold < math.inf:
        fail(at.at("threshold"), f"must be a burn rate above 0, got {threshold}")
    long_window = _duration(at.at("lookbackWindow"), condition["lookbackWindow"])
    short_window = _short_window(at, parse_duration(long_window), notes, note_here)
    hold = _alert_after(at.at("alertAfter"), condition.get("alertAfter"))
    tier = {
        "severity": "page" if severity.strip().lower() in PAGE_SEVERITIES else "ticket",
        "long_window": long_window,
        "short_window": short_window,
        "factor": threshold,
        **({"hold": hold} if hold else {}),
    }
    _check_tier(at, tier, period)
    return tier


def _short_window(
    here: Here, long_window: timedelta, notes: Mapping[str, str], note_here: Here
) -> str:
    """The tier's short window: the annotation's, or ``lookbackWindow / 12`` in whole minutes
    (halves up), at least 1m; shorter than ``long_window`` either way."""
    if SHORT_WINDOW_ANNOTATION in notes:
        short = _duration(note_here, notes[SHORT_WINDOW_ANNOTATION])
        if parse_duration(short) >= long_window:
            fail(note_here, "the short window must be shorter than lookbackWindow")
        return short
    minutes = int(long_window.total_seconds()) // 60
    derived = timedelta(minutes=max(1, (minutes + SHORT_WINDOW_RATIO // 2) // SHORT_WINDOW_RATIO))
    if derived >= long_window:
        fail(
            here.at("lookbackWindow"),
            "too short for a tier: its short window (lookbackWindow / 12, at least 1m) must be "
            "shorter than it; give at least 2m",
        )
    return format_duration(derived, "dhm")


def _alert_after(here: Here, value: Any) -> str | None:
    """The tier's hold from ``alertAfter``: None for none (left out, or 0 in any unit)."""
    if value is None:
        return None
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    text = as_string(here, text).strip()
    if _NO_TIME.fullmatch(text):
        return None
    return _duration(here, text)


def _check_tier(here: Here, tier: Mapping[str, Any], period: timedelta | None) -> None:
    """Refuse, at the condition's field, a tier slo-service would refuse when storing the SLO:
    the schema's bounds, and ``burn.tier_problem`` (a factor under 1, a long window longer
    than the SLO's window)."""
    fields = {"factor": "threshold", "long_window": "lookbackWindow"}
    try:
        AlertTier.model_validate(tier)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = fields.get(str(error["loc"][0])) if error["loc"] else None
        fail(here.at(field) if field else here, clean_message(error["msg"]))
    if period is None:
        return
    long_window = parse_duration(tier["long_window"])
    hold = parse_duration(tier["hold"]) if tier.get("hold") else timedelta(0)
    short_window = parse_duration(tier["short_window"])
    problem = tier_problem(
        Tier(tier["severity"], long_window, short_window, tier["factor"], hold), period
    )
    if problem is None:
        return
    if tier["factor"] < 1:
        fail(
            here.at("threshold"),
            f"a burn rate of {tier['factor']} is under 1: the tier would fire while the SLO is "
            "met (a burn rate of 1 spends exactly the budget over the window); give at least 1",
        )
    if long_window > period:
        fail(
            here.at("lookbackWindow"),
            f"{tier['long_window']} is longer than the SLO's window "
            f"({format_duration(period, DURATION_UNITS)}): "
            "slo-service's tiers look back no further than the SLO's window",
        )
    if hold > long_window:
        fail(here.at("alertAfter"), problem)
    fail(here, problem)


def _duration(here: Here, value: Any) -> str:
    """A window of a tier, as written, if ``parse_duration`` reads it."""
    text = as_string(here, value)
    try:
        parse_duration(text)
    except ValueError as exc:
        fail(here, str(exc))
    return text


def check_unused(doc: Doc, index: Index) -> None:
    """The problems of an AlertPolicy or AlertCondition no SLO uses (it is refused for that,
    and its own problems are named with it): checked as an SLO would, without its window."""
    problems: list[Problem] = []
    kept = Kept()
    allowed = frozenset({SHORT_WINDOW_ANNOTATION} if doc.kind == "AlertCondition" else ())
    spec = collect(problems, as_mapping, doc.here.at("spec"), doc.body["spec"])
    if spec is not None:
        notes = collect(
            problems, _keep, doc.here, doc.body["metadata"], spec, doc.kind, kept, allowed
        )
        note_here = doc.here.at("metadata", "annotations", SHORT_WINDOW_ANNOTATION)
        if doc.kind == "AlertPolicy":
            _policy_tiers(doc.here.at("spec"), spec, index, None, kept, problems)
        elif notes is not None:
            collect(problems, _tier, doc.here.at("spec"), spec, None, None, notes, note_here)
    if problems:
        raise InvalidInput(problems)
