"""OpenSLO v1 documents to native SLO bodies: pure conversion, no I/O.

``from_openslo`` reads the kinds SLO, SLI, AlertPolicy, AlertCondition and Service and returns
the bodies ``SLOCreate`` validates (``convert``: each with where it comes from); ``write``
goes the other way. The parts of a document are read by ``read_documents``, ``read_windows``,
``read_sli``, ``read_alerting`` and ``read_annotations``; their fields by ``read_fields``.

Every field is either mapped or refused with an InvalidInput naming its path, e.g.
``document 2 (SLO churn-availability), spec.objectives[0].foo: not supported``: nothing is
dropped on the way in. The mapping:

- ``metadata.name`` → ``name`` (a slug); ``spec.service`` → ``service``; ``metadata.labels`` →
  ``labels`` (a list value is joined with commas); ``metadata.displayName``, ``spec.description``
  and the objective's ``displayName`` → ``description``, joined with " — ".
- ``timeWindow``: rolling ``28d``/``4w``/``24h`` → that window; calendar ``1M`` → ``month``,
  ``1w`` → ``week``, ``calendar.timeZone`` → ``timezone``; ``calendar.startTime`` must be the
  start of a period (the 1st of a month, a Monday, at 00:00), as slo-service's periods are.
- ``budgetingMethod: Occurrences`` with a ``ratioMetric`` of Prometheus counters → a ratio SLI
  (a query is a series selector; ``sum(...)``, ``rate(x[5m])`` and ``increase(x[1h])`` around
  one are read as the selector, since the engine sums each counter's increase itself).
  ``Timeslices`` with a ``thresholdMetric`` → a threshold SLI: the objective's ``op``/``value``
  are its ``op``/``threshold``; ``target`` is the share of good slices. A slice is one bucket
  (``SLO_BUCKET_SECONDS``, 1m by default), so ``timeSliceWindow`` must equal it; one value is
  read per slice, so any ``timeSliceTarget`` in (0, 1] means the same. ``RatioTimeslices``
  and ratio metrics budgeted by timeslices are refused.
- ``target`` → ``objective``, ``targetPercent`` → ``objective_percent``.
- Several objectives (ratio metrics only, as the spec says): one native SLO per objective,
  named ``<metadata.name>-<slug of its displayName>`` (``<metadata.name>-<index>`` without
  one), each with its own budget: what the objectives mean, kept apart.
- ``alertPolicies`` (by name, ``alertPolicyRef`` or inline) and their ``conditions`` (inline
  or ``conditionRef``) of kind ``burnrate`` → alerting tiers: ``severity`` (the condition's,
  or the policy's ``spec.severity``): ``page`` or ``critical`` → page, anything else → ticket;
  ``lookbackWindow`` → ``long_window``; ``alertAfter`` → ``short_window`` (the second window a
  multi-window tier also checks, not a delay); ``threshold`` (the burn rate both windows must
  exceed) → ``factor``, as written, so it survives the round trip exactly. A threshold under 1,
  or a lookbackWindow longer than the SLO's window (a month counted as 30d, a week as 7d), is
  refused at its field, as storing the SLO would refuse it (``burn.tier_problem``). No
  ``alertPolicies`` means no alerts (``alerting.enabled: false``); the annotation
  ``slo-service.io/alerting: default`` means the built-in tiers (the SRE workbook's, their
  windows scaled to the SLO's window when it is stored: ``domain.burn``).
- Annotations ``slo-service.io/kind`` and ``slo-service.io/params`` (JSON) restore an SLO
  kind (the indicator's difference from the kind's SLI becomes ``sli`` overrides);
  ``slo-service.io/sli-type: latency`` reads a ``X_bucket{le=...}`` over ``X_count`` ratio as
  a latency SLI; ``slo-service.io/no-data`` and ``slo-service.io/gate`` (JSON) carry ``no_data``
  and ``gate``; ``slo-service.io/alerting-min-events`` (a number, e.g. ``"5"``) and
  ``slo-service.io/alerting-no-data-for`` (a duration, or ``never``) carry ``alerting.min_events``
  and ``alerting.no_data_for``, written only when the SLO sets them (left out, they take the
  service's policy, then the built-in defaults), with or without tiers and whether alerting is
  enabled or not.
"""

import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from slo_service.errors import InvalidInput
from slo_service.integrations.openslo.common import DEFAULT_BUCKET_SECONDS
from slo_service.integrations.openslo.read_alerting import read_alert_policies
from slo_service.integrations.openslo.read_annotations import (
    read_alerting_notes,
    read_kind_and_sli,
    read_note_fields,
    read_notes,
)
from slo_service.integrations.openslo.read_documents import Doc, Index, index_documents
from slo_service.integrations.openslo.read_fields import (
    Here,
    as_labels,
    as_mapping,
    as_slug,
    as_text,
    check_keys,
    fail,
)
from slo_service.integrations.openslo.read_sli import read_indicator, read_metric, read_objective
from slo_service.integrations.openslo.read_windows import read_time_window

# Joins the SLO's texts (displayName, description, the objective's) into its description.
_TEXT_JOIN = " — "


def is_openslo(document: Any) -> bool:
    """Whether a YAML document is OpenSLO: a mapping (or a list of them) with an
    ``apiVersion`` starting ``openslo/``."""
    if isinstance(document, list):
        return any(is_openslo(item) for item in document)
    version = document.get("apiVersion") if isinstance(document, dict) else None
    return isinstance(version, str) and version.startswith("openslo/")


def from_openslo(
    documents: Sequence[Any], *, bucket_seconds: int = DEFAULT_BUCKET_SECONDS
) -> list[dict[str, Any]]:
    """Native SLO bodies of the SLOs in ``documents``; InvalidInput names every bad field."""
    return [body for _, body in convert(documents, bucket_seconds=bucket_seconds)]


def convert(
    documents: Sequence[Any], *, bucket_seconds: int = DEFAULT_BUCKET_SECONDS
) -> list[tuple[str, dict[str, Any]]]:
    """Like ``from_openslo``, each body with where it comes from, e.g.
    ``document 3 (SLO churn-latency)`` (and ``, spec.objectives[1]`` when split)."""
    problems: list[tuple[Sequence[str | int], str]] = []
    index = index_documents(documents, problems)
    converted: list[tuple[str, dict[str, Any]]] = []
    failed = bool(problems)
    for doc in index.slos:
        try:
            converted += _slo(doc, index, timedelta(seconds=bucket_seconds))
        except InvalidInput as exc:
            problems += exc.problems
            failed = True
    # An SLO that failed may not have reached its references: "unused" would be noise then.
    for kind in ("SLI", "AlertPolicy", "AlertCondition") if not failed else ():
        for doc in index.named.get(kind, {}).values():
            if not doc.used:
                problems.append(
                    (
                        (doc.here.label,),
                        "no SLO uses it: slo-service keeps SLIs and alert policies only as "
                        "parts of SLOs",
                    )
                )
    if problems:
        raise InvalidInput(problems)
    if not converted:
        raise InvalidInput.at((), "the file holds no OpenSLO SLO")
    return converted


def _slo(doc: Doc, index: Index, bucket: timedelta) -> list[tuple[str, dict[str, Any]]]:
    """The native bodies of one SLO document: one per objective, each with its label."""
    here = doc.here
    metadata = doc.body["metadata"]
    check_keys(here.at("metadata"), metadata, {"name", "displayName", "labels", "annotations"})
    name = as_slug(here.at("metadata", "name"), doc.name)
    notes = read_notes(here.at("metadata", "annotations"), metadata.get("annotations"))
    spec = as_mapping(here.at("spec"), doc.body["spec"])
    check_keys(
        here.at("spec"),
        spec,
        {
            "description",
            "service",
            "indicator",
            "indicatorRef",
            "timeWindow",
            "budgetingMethod",
            "objectives",
            "alertPolicies",
        },
        required=("service", "timeWindow", "budgetingMethod", "objectives"),
    )
    service = as_slug(here.at("spec", "service"), spec["service"])
    window, timezone, period = read_time_window(here.at("spec", "timeWindow"), spec["timeWindow"])
    method = spec["budgetingMethod"]
    if method == "RatioTimeslices":
        fail(here.at("spec", "budgetingMethod"), "RatioTimeslices: not supported")
    if method not in ("Occurrences", "Timeslices"):
        fail(here.at("spec", "budgetingMethod"), f"{method!r}: give Occurrences or Timeslices")
    sli_here, sli_spec = read_indicator(here, spec, index)
    metric = read_metric(sli_here, sli_spec, method, here.at("spec", "budgetingMethod"))
    objectives = spec["objectives"]
    if not isinstance(objectives, list) or not objectives:
        fail(here.at("spec", "objectives"), "give a list of one or more objectives")
    if len(objectives) > 1 and metric.threshold:
        fail(
            here.at("spec", "objectives"),
            "a thresholdMetric has one objective (the OpenSLO spec); give one",
        )
    base: dict[str, Any] = {"service": service, "name": name}
    labels = as_labels(here.at("metadata", "labels"), metadata.get("labels"))
    if labels:
        base["labels"] = labels
    base["window"] = window
    if timezone != "UTC":
        base["timezone"] = timezone
    base.update(read_note_fields(here.at("metadata", "annotations"), notes))
    alerting = read_alert_policies(
        here.at("spec", "alertPolicies"), spec.get("alertPolicies"), index, period, notes
    )
    settings = read_alerting_notes(here.at("metadata", "annotations"), notes)
    if settings:
        alerting = {**(alerting or {}), **settings}
    if alerting is not None:
        base["alerting"] = alerting
    texts = [
        as_text(here.at("metadata", "displayName"), metadata.get("displayName")),
        as_text(here.at("spec", "description"), spec.get("description")),
    ]
    bodies: list[tuple[str, dict[str, Any]]] = []
    names: dict[str, int] = {}
    for number, objective in enumerate(objectives):
        at = here.at("spec", "objectives", number)
        target, shown, sli = read_objective(at, objective, metric, bucket)
        body = dict(base)
        if len(objectives) > 1:
            body["name"] = _split_name(at, name, shown, number)
            if body["name"] in names:
                fail(at.at("displayName"), f"objectives[{names[body['name']]}] has this name")
            names[body["name"]] = number
        description = _TEXT_JOIN.join(dict.fromkeys(t for t in (*texts, shown) if t))
        if len(description) > 2000:
            fail(here.at("spec", "description"), "the description is over 2000 characters")
        if description:
            body["description"] = description
        body.update(target)
        body.update(
            read_kind_and_sli(here.at("metadata", "annotations"), notes, service, sli, metric.here)
        )
        where = here.label if len(objectives) == 1 else f"{here.label}, spec.objectives[{number}]"
        bodies.append((where, _ordered(body)))
    return bodies


_ORDER = (
    "service",
    "name",
    "description",
    "labels",
    "kind",
    "objective",
    "objective_percent",
    "window",
    "timezone",
    "params",
    "sli",
    "no_data",
    "alerting",
    "gate",
)


def _ordered(body: dict[str, Any]) -> dict[str, Any]:
    """The body's keys in the order a native SLO is written."""
    return {key: body[key] for key in _ORDER if key in body}


def _split_name(here: Here, name: str, shown: str, number: int) -> str:
    """The name of one of several objectives' SLOs: ``<name>-<slug of its displayName>``."""
    suffix = re.sub(r"[^a-z0-9]+", "-", shown.lower()).strip("-") or str(number)
    return as_slug(here.at("displayName"), f"{name}-{suffix}", what="the SLO's name")
