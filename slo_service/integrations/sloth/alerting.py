"""Sloth's ``alerting`` block as slo-service's alerting and labels.

Sloth's alerts of a 30-day SLO are the SRE workbook's multi-window tiers, as slo-service's
built-in ones are: page at 14.4x over 1h/5m and 6x over 6h/30m, ticket at 3x over 1d/2h and 1x
over 3d/6h. So with both alerts on, the SLO takes the built-in tiers (no ``alerting``); a
``disable: true`` alert leaves the other severity's tiers; both disabled is
``alerting.enabled: false``. An alert's ``for`` is the hold of its severity's tiers: they fire
once both windows have stayed over the factor that long.

Sloth's alert name, labels and annotations have no field of their own in slo-service; they are
kept in the SLO's labels, which its notifications carry and its routes match on:

- ``alerting.name`` → ``alert_name``;
- ``alerting.labels`` → the SLO's labels themselves (an alert carries them);
- ``alerting.annotations``: ``runbook``/``runbook_url`` → ``runbook_url`` (the exported
  Prometheus alerts turn it into their annotation), any other ``K`` → ``annotation.K``;
- ``page_alert``/``ticket_alert``: ``labels.K`` → ``page.K``/``ticket.K``, ``annotations.K`` →
  ``page.annotation.K``/``ticket.annotation.K``.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from slo_service.domain.burn import WORKBOOK_TIERS
from slo_service.domain.windows import format_duration, parse_duration
from slo_service.integrations.sloth.fields import (
    Problems,
    as_label_value,
    as_mapping,
    as_string_map,
    as_text,
    check_keys,
    pick,
)
from slo_service.integrations.where import Here

NAME_LABEL = "alert_name"
RUNBOOK_LABEL = "runbook_url"
RUNBOOK_ANNOTATIONS = ("runbook", "runbook_url")
# Sloth's spellings of its alerts: prometheus/v1's, then the Kubernetes resource's.
SEVERITIES = {"page": ("page_alert", "pageAlert"), "ticket": ("ticket_alert", "ticketAlert")}
_HINTS = {
    "disable": "not supported: Sloth disables each alert; give page_alert.disable and "
    "ticket_alert.disable (true)",
}


@dataclass
class Alerting:
    """What an SLO's ``alerting`` block becomes: the native ``alerting`` (None: the built-in
    tiers) and labels, each label with where it comes from."""

    policy: dict[str, Any] | None = None
    labels: list[tuple[Here, str, str]] = field(default_factory=list)


def read_alerting(problems: Problems, here: Here, value: Any) -> Alerting:
    """The native alerting and labels of an SLO's ``alerting`` (absent: Sloth's defaults)."""
    found = Alerting()
    block = as_mapping(problems, here, value)
    if block is None:
        return found
    page_names, ticket_names = SEVERITIES["page"], SEVERITIES["ticket"]
    check_keys(
        problems,
        here,
        block,
        {"name", "labels", "annotations", *page_names, *ticket_names},
        hints=_HINTS,
    )
    if "name" in block:
        name = as_label_value(problems, here.at("name"), block["name"])
        if name is not None:
            found.labels.append((here.at("name"), NAME_LABEL, name))
    for key, text in as_string_map(problems, here.at("labels"), block.get("labels")).items():
        found.labels.append((here.at("labels", key), key, text))
    found.labels += _annotations(problems, here.at("annotations"), block.get("annotations"), "")
    holds: dict[str, str | None] = {}
    for severity, names in SEVERITIES.items():
        on, hold = _alert(problems, here, block, severity, names, found)
        if on:
            holds[severity] = hold
    if not holds:
        found.policy = {"enabled": False}
    elif len(holds) == 1 or any(holds.values()):
        found.policy = {"tiers": [t for sev, hold in holds.items() for t in tiers_of(sev, hold)]}
    return found


def tiers_of(severity: str, hold: str | None = None) -> list[dict[str, Any]]:
    """The built-in tiers of a 30-day SLO of one severity, as native ``alerting.tiers``, each
    with ``hold`` (an alert's ``for``) when given."""
    return [
        {
            "severity": tier.severity,
            "long_window": format_duration(tier.long_window),
            "short_window": format_duration(tier.short_window),
            "factor": tier.factor,
            **({"hold": hold} if hold else {}),
        }
        for tier in WORKBOOK_TIERS
        if tier.severity == severity
    ]


def _alert(
    problems: Problems,
    here: Here,
    block: Mapping[str, Any],
    severity: str,
    names: tuple[str, ...],
    found: Alerting,
) -> tuple[bool, str | None]:
    """Read one of ``page_alert``/``ticket_alert`` into ``found``: whether it stays on, and its
    ``for`` (the tiers' hold: they fire once over their factor that long), if any."""
    given = pick(problems, here, block, *names)
    if given is None:
        return True, None
    at, value = given
    alert = as_mapping(problems, at, value)
    if alert is None:
        return True, None
    check_keys(problems, at, alert, {"disable", "labels", "annotations", "for"})
    hold = _hold(problems, at.at("for"), alert.get("for"))
    disable = alert.get("disable", False)
    if not isinstance(disable, bool):
        problems.add(at.at("disable"), "give true or false")
    for key, text in as_string_map(problems, at.at("labels"), alert.get("labels")).items():
        found.labels.append((at.at("labels", key), f"{severity}.{key}", text))
    found.labels += _annotations(
        problems, at.at("annotations"), alert.get("annotations"), f"{severity}."
    )
    return disable is not True, hold


def _hold(problems: Problems, here: Here, value: Any) -> str | None:
    """An alert's ``for`` as a tier's hold (None for none, or 0 in any unit)."""
    if value is None:
        return None
    text = as_text(problems, here, value)
    if text is None or re.fullmatch(r"0+[smhdwy]?", text.strip()):
        return None
    try:
        parse_duration(text)
    except ValueError as exc:
        problems.add(here, str(exc))
        return None
    return text


def _annotations(
    problems: Problems, here: Here, value: Any, prefix: str
) -> list[tuple[Here, str, str]]:
    """Annotations as labels: ``<prefix>annotation.K``; the runbook as ``runbook_url``."""
    kept: list[tuple[Here, str, str]] = []
    for key, text in as_string_map(problems, here, value).items():
        if not prefix and key in RUNBOOK_ANNOTATIONS:
            kept.append((here.at(key), RUNBOOK_LABEL, text))
        else:
            kept.append((here.at(key), f"{prefix}annotation.{key}", text))
    return kept
