"""OpenSLO v1 documents to native SLO bodies: pure conversion, no I/O.

``from_openslo`` reads the kinds SLO, SLI, AlertPolicy, AlertCondition and Service and returns
the bodies ``SLOCreate`` validates (``convert``: each with where it comes from); ``write``
goes the other way. The parts of a document are read by ``read_documents``, ``read_windows``,
``read_sli``, ``read_alerting``, ``read_annotations`` and ``read_metadata``; their fields by
``read_fields``.

Every field is either mapped or refused with an InvalidInput naming its path and saying what to
do instead, e.g. ``document 2 (SLO churn-availability), spec.objectives[0].foo: not
supported``: nothing is dropped on the way in. Every problem of a file is reported at once,
every problem of each document too: the parts of an SLO are read one by one, a part that needs
another (the objectives need the indicator) being skipped when that one was refused. The
mapping:

- ``metadata.name`` → ``name`` (a slug); ``spec.service`` → ``service``.
- Metadata, on every kind (``read_metadata``): ``metadata.labels`` (a list value joined with
  commas) and other tools' ``metadata.annotations`` → ``labels``, merged from the SLO and the
  Service, SLI, alert policies and conditions it is made of (one label given two values is
  refused, naming both places). The SLO's ``metadata.displayName``, ``spec.description`` and
  the objective's ``displayName`` → ``description``, joined with " — "; the displayName and
  description of each other document follow on lines of their own, as
  ``<Kind> <name>: <displayName> — <description>``.
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
  ``lookbackWindow`` → ``long_window``; ``threshold`` (the burn rate both windows must exceed,
  ``op: gt``) → ``factor``, as written, so it survives the round trip exactly; the tier's
  ``short_window`` is ``lookbackWindow / 12`` (the SRE workbook's ratio) or the condition's
  annotation ``slo-service.io/short-window``; ``alertAfter`` (how long the condition must
  hold before firing; 0m when left out) is taken when 0 and refused otherwise, since a tier
  fires as soon as both its windows burn too fast (``read_alerting``). A threshold under 1,
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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from slo_service.errors import InvalidInput
from slo_service.integrations.openslo.common import DEFAULT_BUCKET_SECONDS
from slo_service.integrations.openslo.read_alerting import check_unused as check_unused_alerting
from slo_service.integrations.openslo.read_alerting import read_alert_policies
from slo_service.integrations.openslo.read_annotations import (
    read_alerting_notes,
    read_kind_and_sli,
    read_note_fields,
    read_notes,
)
from slo_service.integrations.openslo.read_documents import Doc, Index, Service, index_documents
from slo_service.integrations.openslo.read_fields import (
    Problem,
    as_mapping,
    as_slug,
    as_text,
    check_keys,
    collect,
    fail,
)
from slo_service.integrations.openslo.read_metadata import Kept, read_metadata
from slo_service.integrations.openslo.read_sli import (
    Metric,
    MetricProblems,
    read_indicator,
    read_metric,
    read_objective,
)
from slo_service.integrations.openslo.read_sli import check_unused as check_unused_sli
from slo_service.integrations.openslo.read_windows import read_time_window
from slo_service.integrations.where import Here

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
    problems: list[Problem] = []
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
                if kind == "SLI":
                    collect(problems, check_unused_sli, doc)
                else:
                    collect(problems, check_unused_alerting, doc, index)
    if problems:
        # A document several SLOs use (an SLI, a policy) would report its problems once each.
        unique = {(tuple(loc), reason): None for loc, reason in problems}
        raise InvalidInput(list(unique))
    if not converted:
        raise InvalidInput.at(
            (),
            "the file holds no OpenSLO SLO: slo-service keeps Services, SLIs and alert policies "
            "as parts of SLOs; add the SLOs that use them",
        )
    return converted


def _slo(doc: Doc, index: Index, bucket: timedelta) -> list[tuple[str, dict[str, Any]]]:
    """The native bodies of one SLO document: one per objective, each with its label.
    Every problem of the document is reported at once: each part is read on its own, and a
    part that needs another (the objectives need the indicator) is skipped when that failed."""
    here = doc.here
    problems: list[Problem] = []
    kept = Kept()
    spec = as_mapping(here.at("spec"), doc.body["spec"])
    name = collect(problems, lambda: as_slug(here.at("metadata", "name"), doc.name))
    metadata = collect(problems, lambda: read_metadata(here.at("metadata"), doc.body["metadata"]))
    at_notes = here.at("metadata", "annotations")
    notes = collect(problems, lambda: read_notes(at_notes, metadata.notes if metadata else {}))
    if metadata is not None:
        collect(problems, lambda: kept.add_labels(metadata.labels))
    collect(problems, lambda: check_keys(here.at("spec"), spec, _SPEC_KEYS, required=_REQUIRED))
    service = None
    if "service" in spec:
        service = collect(problems, lambda: as_slug(here.at("spec", "service"), spec["service"]))
    if service is not None and service in index.services:
        found = index.services[service]
        collect(problems, lambda: _keep_service(found, kept))
    window = None
    if "timeWindow" in spec:
        window = collect(
            problems, lambda: read_time_window(here.at("spec", "timeWindow"), spec["timeWindow"])
        )
    method = collect(problems, lambda: _method(here.at("spec", "budgetingMethod"), spec))
    sli_spec = collect(problems, lambda: read_indicator(here, spec, index, kept))
    metric = None
    if sli_spec is not None:
        try:
            metric = read_metric(*sli_spec, method, here.at("spec", "budgetingMethod"))
        except MetricProblems as exc:
            problems += exc.problems
            metric = exc.metric
    objectives = collect(problems, lambda: _objectives(here, spec, metric))
    alerting = collect(
        problems,
        lambda: read_alert_policies(
            here.at("spec", "alertPolicies"),
            spec.get("alertPolicies"),
            index,
            window[2] if window else None,
            notes or {},
            kept,
        ),
    )
    fields = collect(problems, lambda: read_note_fields(at_notes, notes or {}))
    settings = collect(problems, lambda: read_alerting_notes(at_notes, notes or {}))
    description = collect(
        problems, lambda: as_text(here.at("spec", "description"), spec.get("description"))
    )
    texts = [metadata.display_name if metadata else "", description or ""]
    if metric is None or objectives is None:
        raise InvalidInput(problems)
    # The objectives are read even when other parts were refused, for their problems too.
    base: dict[str, Any] = {"service": service, "name": name or doc.name}
    labels = kept.label_values()
    if labels:
        base["labels"] = labels
    if window is not None:
        base["window"] = window[0]
        if window[1] != "UTC":
            base["timezone"] = window[1]
    base.update(fields or {})
    if settings:
        alerting = {**(alerting or {}), **settings}
    if alerting is not None:
        base["alerting"] = alerting
    bodies: list[tuple[str, dict[str, Any]]] = []
    names: dict[str, int] = {}
    shared = _Shared(base, len(objectives) > 1, texts, kept)
    for number, objective in enumerate(objectives):
        at = here.at("spec", "objectives", number)
        body = collect(problems, _objective_body, at, objective, metric, bucket, shared, names)
        if body is None:
            continue
        sli = body.pop("_sli")
        kind = collect(
            problems, read_kind_and_sli, at_notes, notes or {}, str(service), sli, metric.here
        )
        body.update(kind or {})
        where = here.label if len(objectives) == 1 else f"{here.label}, spec.objectives[{number}]"
        bodies.append((where, _ordered(body)))
    if problems:
        raise InvalidInput(problems)
    return bodies


_SPEC_KEYS = {
    "description",
    "service",
    "indicator",
    "indicatorRef",
    "timeWindow",
    "budgetingMethod",
    "objectives",
    "alertPolicies",
}
_REQUIRED = ("service", "timeWindow", "budgetingMethod", "objectives")


def _method(here: Here, spec: Mapping[str, Any]) -> str | None:
    """The ``budgetingMethod``, if slo-service budgets by it; None when it is left out."""
    if "budgetingMethod" not in spec:
        return None
    method = spec["budgetingMethod"]
    if method == "RatioTimeslices":
        fail(
            here,
            "RatioTimeslices: not supported: slo-service does not judge time slices by the "
            "ratio of their events; use Occurrences for a ratioMetric (every event counts), "
            "or Timeslices with a thresholdMetric",
        )
    if method not in ("Occurrences", "Timeslices"):
        fail(here, f"{method!r}: give Occurrences or Timeslices")
    return str(method)


def _keep_service(service: Service, kept: Kept) -> None:
    """Keep the SLO's Service document's labels and texts on it."""
    here = service.doc.here
    kept.add_document(
        f"Service {service.doc.name}",
        service.metadata,
        service.description,
        here.at("spec", "description"),
    )


def _objectives(here: Here, spec: Mapping[str, Any], metric: Metric | None) -> list[Any]:
    """The list of objectives, checked against the metric (one with a thresholdMetric)."""
    objectives = spec.get("objectives")
    if "objectives" not in spec:
        return []
    if not isinstance(objectives, list) or not objectives:
        fail(here.at("spec", "objectives"), "give a list of one or more objectives")
    if len(objectives) > 1 and metric is not None and metric.threshold:
        fail(
            here.at("spec", "objectives"),
            "a thresholdMetric has one objective (the OpenSLO spec); give one",
        )
    return objectives


@dataclass(frozen=True)
class _Shared:
    """What every objective's SLO of one document shares: the body so far, whether there are
    several objectives (then each SLO is named after its objective), the SLO's own texts and
    what it keeps of its other documents."""

    base: dict[str, Any]
    several: bool
    texts: list[str]
    kept: Kept


def _objective_body(
    at: Here,
    objective: Any,
    metric: Metric,
    bucket: timedelta,
    shared: _Shared,
    names: dict[str, int],
) -> dict[str, Any]:
    """The body of one objective's SLO, its SLI under ``_sli`` for the kind to complete."""
    target, shown, sli = read_objective(at, objective, metric, bucket)
    body = dict(shared.base)
    number = at.path[-1]
    assert isinstance(number, int)
    if shared.several:
        body["name"] = _split_name(at, shared.base["name"], shown, number)
        if body["name"] in names:
            fail(at.at("displayName"), f"objectives[{names[body['name']]}] has this name")
        names[body["name"]] = number
    own = _TEXT_JOIN.join(dict.fromkeys(t for t in (*shared.texts, shown) if t))
    description = "\n".join(dict.fromkeys(t for t in (own, *shared.kept.texts) if t))
    if len(description) > 2000:
        fail(
            at,
            f"the description made of the texts of the SLO and its documents is "
            f"{len(description)} characters, over slo-service's 2000: shorten them",
        )
    if description:
        body["description"] = description
    body.update(target)
    body["_sli"] = sli
    return body


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
