"""The ``alertPolicies`` of an OpenSLO SLO, read as slo-service's burn-rate tiers.

Policies (by name, ``alertPolicyRef`` or inline) and their conditions (inline or
``conditionRef``) of kind ``burnrate``: each condition is one tier, ``severity`` page (``page``
or ``critical``) or ticket, ``lookbackWindow`` its long window, ``alertAfter`` its short
window, ``threshold`` its factor. A tier slo-service would refuse when storing the SLO is
refused here, at the condition's field.
"""

import math
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from slo_service.domain.burn import Tier, tier_problem
from slo_service.domain.windows import format_duration, parse_duration
from slo_service.errors import clean_message
from slo_service.integrations.openslo.common import (
    ALERTING_ANNOTATION,
    API_VERSION,
    DURATION_UNITS,
)
from slo_service.integrations.openslo.read_documents import Index
from slo_service.integrations.openslo.read_fields import (
    HINTS,
    Here,
    as_mapping,
    as_number,
    as_string,
    check_keys,
    fail,
)
from slo_service.schemas.policy import AlertTier

# The severities of a condition that make a page; any other makes a ticket.
PAGE_SEVERITIES = ("page", "critical")


def read_alert_policies(
    here: Here, value: Any, index: Index, period: timedelta, notes: Mapping[str, str]
) -> dict[str, Any] | None:
    """The SLO's ``alerting``: its tiers; ``enabled: false`` without alert policies; None
    (the built-in tiers) with the annotation ``slo-service.io/alerting``."""
    if ALERTING_ANNOTATION in notes:
        if value:
            fail(here, f"give alertPolicies or the annotation {ALERTING_ANNOTATION}, not both")
        return None
    if value is None or value == []:
        return {"enabled": False}
    if not isinstance(value, list):
        fail(here, "give a list of alert policies")
    tiers: list[dict[str, Any]] = []
    for number, entry in enumerate(value):
        policy_here, policy = _policy(here.at(number), entry, index)
        tiers += _policy_tiers(policy_here, policy, index, period)
    if len(tiers) > 8:
        fail(here, f"{len(tiers)} burn-rate conditions: slo-service takes at most 8 per SLO")
    return {"enabled": True, "tiers": tiers}


def _policy(here: Here, entry: Any, index: Index) -> tuple[Here, Mapping[str, Any]]:
    """The AlertPolicy's spec (inline, or the document a name refers to), and where it is."""
    ref: Any = entry
    if isinstance(entry, dict) and "alertPolicyRef" in entry:
        check_keys(here, entry, {"alertPolicyRef"})
        here = here.at("alertPolicyRef")
        ref = as_string(here, entry["alertPolicyRef"])
    if isinstance(ref, str):
        found = index.find("AlertPolicy", ref)
        if found is None:
            fail(here, f"no AlertPolicy document is named {ref!r}")
        check_keys(found.here.at("metadata"), found.body["metadata"], {"name"}, "an alert policy")
        return found.here.at("spec"), as_mapping(found.here.at("spec"), found.body["spec"])
    inline = as_mapping(here, entry)
    _inline_object(here, inline, "AlertPolicy", "an alert policy")
    return here.at("spec"), as_mapping(here.at("spec"), inline["spec"])


def _inline_object(here: Here, inline: Mapping[str, Any], kind: str, what: str) -> None:
    """Check the envelope of an inline AlertPolicy or AlertCondition."""
    check_keys(here, inline, {"apiVersion", "kind", "metadata", "spec"}, required=("kind", "spec"))
    if inline["kind"] != kind:
        fail(here.at("kind"), f"{inline['kind']!r}: give {kind}, or a reference")
    if "apiVersion" in inline and inline["apiVersion"] != API_VERSION:
        fail(here.at("apiVersion"), f"give {API_VERSION}")
    if "metadata" in inline:
        check_keys(
            here.at("metadata"),
            as_mapping(here.at("metadata"), inline["metadata"]),
            {"name"},
            text=what,
        )


def _policy_tiers(
    here: Here, policy: Mapping[str, Any], index: Index, period: timedelta
) -> list[dict[str, Any]]:
    check_keys(
        here,
        policy,
        {
            "severity",
            "alertWhenNoData",
            "alertWhenBreaching",
            "alertWhenResolved",
            "conditions",
            "notificationTargets",
        },
        required=("conditions",),
        text="an alert policy",
    )
    for key, wanted, why in (
        ("alertWhenBreaching", True, "slo-service alerts when a tier breaches"),
        ("alertWhenResolved", True, "slo-service always tells when an alert resolves"),
        ("alertWhenNoData", False, "slo-service does not alert on missing data"),
    ):
        if key in policy and policy[key] is not wanted:
            fail(here.at(key), f"only {str(wanted).lower()} is supported: {why}")
    if policy.get("notificationTargets"):
        fail(here.at("notificationTargets"), HINTS["notificationTargets"])
    default = policy.get("severity")
    if default is not None:
        as_string(here.at("severity"), default)
    conditions = policy["conditions"]
    if not isinstance(conditions, list) or not conditions:
        fail(here.at("conditions"), "give a list of one or more conditions")
    tiers = []
    for number, entry in enumerate(conditions):
        at, spec = _condition(here.at("conditions", number), entry, index)
        tiers.append(_tier(at, spec, default, here.at("severity"), period))
    return tiers


def _condition(here: Here, entry: Any, index: Index) -> tuple[Here, Mapping[str, Any]]:
    """The AlertCondition's spec (inline, or the document a ``conditionRef`` names)."""
    condition = as_mapping(here, entry)
    if "conditionRef" in condition:
        check_keys(here, condition, {"conditionRef"})
        ref = as_string(here.at("conditionRef"), condition["conditionRef"])
        found = index.find("AlertCondition", ref)
        if found is None:
            fail(here.at("conditionRef"), f"no AlertCondition document is named {ref!r}")
        check_keys(
            found.here.at("metadata"), found.body["metadata"], {"name"}, "an alert condition"
        )
        return found.here.at("spec"), as_mapping(found.here.at("spec"), found.body["spec"])
    _inline_object(here, condition, "AlertCondition", "an alert condition")
    return here.at("spec"), as_mapping(here.at("spec"), condition["spec"])


def _tier(
    here: Here, spec: Mapping[str, Any], default: Any, default_here: Here, period: timedelta
) -> dict[str, Any]:
    check_keys(
        here, spec, {"severity", "condition"}, required=("condition",), text="an alert condition"
    )
    if "severity" in spec:
        severity = as_string(here.at("severity"), spec["severity"])
        if default is not None and default != severity:
            fail(here.at("severity"), f"{severity!r} differs from the policy's {default!r}")
    elif default is not None:
        severity = default
    else:
        fail(here.at("severity"), "required (here or in the policy's spec.severity)")
    at = here.at("condition")
    condition = as_mapping(at, spec["condition"])
    check_keys(
        at,
        condition,
        {"kind", "op", "threshold", "lookbackWindow", "alertAfter"},
        required=("threshold", "lookbackWindow", "alertAfter"),
    )
    if condition.get("kind", "burnrate") != "burnrate":
        fail(at.at("kind"), f"{condition['kind']!r}: slo-service alerts on burnrate only")
    if condition.get("op", "gt") != "gt":
        fail(at.at("op"), "only gt: a tier fires when the burn rate is above its factor")
    threshold = as_number(at.at("threshold"), condition["threshold"])
    if not 0 < threshold < math.inf:
        fail(at.at("threshold"), f"must be a burn rate above 0, got {threshold}")
    long_window = _duration(at.at("lookbackWindow"), condition["lookbackWindow"])
    short_window = _duration(at.at("alertAfter"), condition["alertAfter"], short=True)
    if parse_duration(short_window) >= parse_duration(long_window):
        fail(
            at.at("alertAfter"),
            "slo-service reads alertAfter as the short window of a multi-window burn-rate tier: "
            "give a duration shorter than lookbackWindow",
        )
    tier = {
        "severity": "page" if severity.strip().lower() in PAGE_SEVERITIES else "ticket",
        "long_window": long_window,
        "short_window": short_window,
        "factor": threshold,
    }
    _check_tier(at, tier, period)
    return tier


def _check_tier(here: Here, tier: Mapping[str, Any], period: timedelta) -> None:
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
    long_window = parse_duration(tier["long_window"])
    problem = tier_problem(
        Tier(tier["severity"], long_window, parse_duration(tier["short_window"]), tier["factor"]),
        period,
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
    fail(here, problem)


def _duration(here: Here, value: Any, *, short: bool = False) -> str:
    """A window of a tier, as written, if ``parse_duration`` reads it."""
    text = as_string(here, value)
    try:
        parse_duration(text)
    except ValueError as exc:
        hint = " (the short window of the tier: not 0)" if short else ""
        fail(here, f"{exc}{hint}")
    return text
