"""OpenSLO v1 documents to native SLO bodies and back: pure conversion, no I/O.

``from_openslo`` reads the kinds SLO, SLI, AlertPolicy, AlertCondition and Service and returns
the bodies ``SLOCreate`` validates; ``to_openslo`` writes one SLO (as the API answers it) as an
SLO document with an inline indicator and an AlertPolicy per severity of its burn-rate tiers.

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
- On the way out, a tier's ``factor`` is its ``threshold``; a tier of an older SLO, stored as
  ``budget_spent`` (the share of the budget spent in its long window), writes its factor,
  ``burn.factor_of_share(budget_spent, long_window, period)`` to 15 significant digits (0.02
  over 1h of 30d is 14.4), and comes back as that ``factor``. An SLO without tiers of its own
  writes no AlertPolicy but the annotation ``slo-service.io/alerting: default``, whatever its
  window: the default tiers are scaled again on the way back in, so they stay the defaults.
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

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, NoReturn

import yaml
from pydantic import ValidationError

from slo_service.domain.burn import Tier, factor_of_share, nominal_length, tier_problem
from slo_service.domain.kinds import Kind, build_sli
from slo_service.domain.promql import Selector, check_expression, parse_selector
from slo_service.domain.sli import SLI_ADAPTER
from slo_service.domain.windows import parse_duration, parse_timezone, parse_window
from slo_service.errors import InvalidInput, clean_message
from slo_service.schemas.slo import AlertingPolicy, AlertTier, GatePolicy

API_VERSION = "openslo/v1"
PREFIX = "slo-service.io/"
KIND_ANNOTATION = PREFIX + "kind"
PARAMS_ANNOTATION = PREFIX + "params"
SLI_TYPE_ANNOTATION = PREFIX + "sli-type"
NO_DATA_ANNOTATION = PREFIX + "no-data"
GATE_ANNOTATION = PREFIX + "gate"
ALERTING_ANNOTATION = PREFIX + "alerting"
MIN_EVENTS_ANNOTATION = PREFIX + "alerting-min-events"
NO_DATA_FOR_ANNOTATION = PREFIX + "alerting-no-data-for"
ANNOTATIONS = (
    KIND_ANNOTATION,
    PARAMS_ANNOTATION,
    SLI_TYPE_ANNOTATION,
    NO_DATA_ANNOTATION,
    GATE_ANNOTATION,
    ALERTING_ANNOTATION,
    MIN_EVENTS_ANNOTATION,
    NO_DATA_FOR_ANNOTATION,
)

DEFAULT_BUCKET_SECONDS = 60
CALENDAR_DURATIONS = {"1M": "month", "1w": "week"}
# Any first of a month that is also a Monday: the start of a month and of a week.
CALENDAR_START = "2024-01-01 00:00:00"
OPS = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
OPENSLO_OPS = {native: name for name, native in OPS.items()}
PAGE_SEVERITIES = ("page", "critical")
_TEXT_JOIN = " — "
_LABEL_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]{0,62}")

_NO_TEXT = (
    "not supported: slo-service keeps no text of {what}; move it to the SLO's spec.description"
)
_HINTS = {
    "metricSourceRef": "not supported: slo-service queries the Prometheus of "
    "SLO_PROMETHEUS_URL; give type: Prometheus and spec.query instead",
    "raw": "not supported: slo-service counts good (or bad) and total events; a precomputed "
    "ratio cannot be budgeted by occurrences",
    "rawType": "not supported: slo-service counts good (or bad) and total events",
    "notificationTargets": "not supported: slo-service sends alerts by its notification "
    "routes (/api/v1/notification-routes); leave notificationTargets out or empty",
}
_UNSUPPORTED_KINDS = {
    "DataSource": "not supported: slo-service queries the Prometheus of SLO_PROMETHEUS_URL; "
    "give metricSource.type: Prometheus in the SLI instead",
    "AlertNotificationTarget": _HINTS["notificationTargets"].replace(
        "; leave notificationTargets out or empty", ""
    ),
}
KINDS = ("SLO", "SLI", "AlertPolicy", "AlertCondition", "Service")


@dataclass(frozen=True)
class Here:
    """Where a value sits: its document's label and the path inside the document."""

    label: str
    path: tuple[str | int, ...] = ()

    def at(self, *keys: str | int) -> "Here":
        return Here(self.label, (*self.path, *keys))


def _fail(here: Here, reason: str) -> NoReturn:
    raise InvalidInput.at(_loc(here), reason)


def _loc(here: Here) -> tuple[str | int, ...]:
    if not here.path:
        return (here.label,)
    head, *rest = here.path
    if isinstance(head, int):
        return (here.label, *here.path)
    return (f"{here.label}, {head}", *rest)


@dataclass
class _Doc:
    where: str
    kind: str
    name: str
    body: Mapping[str, Any]
    used: bool = False

    @property
    def here(self) -> Here:
        return Here(f"{self.where} ({self.kind} {self.name})")


@dataclass
class _Index:
    slos: list[_Doc] = field(default_factory=list)
    named: dict[str, dict[str, _Doc]] = field(default_factory=dict)

    def find(self, kind: str, name: str) -> _Doc | None:
        found = self.named.get(kind, {}).get(name)
        if found is not None:
            found.used = True
        return found


# --- reading ---------------------------------------------------------------------------------


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
    index = _index(documents, problems)
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


def _index(documents: Sequence[Any], problems: list[tuple[Sequence[str | int], str]]) -> _Index:
    index = _Index()
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


def _document(where: str, item: Any) -> _Doc:
    body = _mapping(Here(where), item)
    kind, metadata = body.get("kind"), body.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    named = isinstance(kind, str) and isinstance(name, str)
    here = Here(f"{where} ({kind} {name})" if named else where)
    _keys(here, body, {"apiVersion", "kind", "metadata", "spec"}, required=("kind", "metadata"))
    if body.get("apiVersion") != API_VERSION:
        _fail(
            here.at("apiVersion"),
            f"{body.get('apiVersion')!r}: a file holds native SLOs or OpenSLO documents of "
            f"apiVersion {API_VERSION}, not both nor other versions",
        )
    kind = body["kind"]
    if kind in _UNSUPPORTED_KINDS:
        _fail(here.at("kind"), f"{kind}: {_UNSUPPORTED_KINDS[kind]}")
    if kind not in KINDS:
        _fail(here.at("kind"), f"{kind!r}: not supported; give one of {', '.join(KINDS)}")
    metadata = _mapping(here.at("metadata"), body["metadata"])
    name = _string(here.at("metadata", "name"), metadata.get("name"))
    if "spec" not in body and kind != "Service":
        _fail(here.at("spec"), "required")
    return _Doc(where, kind, name, body)


def _service(doc: _Doc) -> None:
    """A Service document only declares its name: slo-service keeps nothing else of it."""
    here = doc.here
    _keys(here.at("metadata"), doc.body["metadata"], {"name"}, text="a service")
    _slug(here.at("metadata", "name"), doc.name)
    if "spec" in doc.body:
        _keys(here.at("spec"), _mapping(here.at("spec"), doc.body["spec"]), set(), "a service")


def _slo(doc: _Doc, index: _Index, bucket: timedelta) -> list[tuple[str, dict[str, Any]]]:
    here = doc.here
    metadata = doc.body["metadata"]
    _keys(here.at("metadata"), metadata, {"name", "displayName", "labels", "annotations"})
    name = _slug(here.at("metadata", "name"), doc.name)
    notes = _annotations(here.at("metadata", "annotations"), metadata.get("annotations"))
    spec = _mapping(here.at("spec"), doc.body["spec"])
    _keys(
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
    service = _slug(here.at("spec", "service"), spec["service"])
    window, timezone, period = _time_window(here.at("spec", "timeWindow"), spec["timeWindow"])
    method = spec["budgetingMethod"]
    if method == "RatioTimeslices":
        _fail(here.at("spec", "budgetingMethod"), "RatioTimeslices: not supported")
    if method not in ("Occurrences", "Timeslices"):
        _fail(here.at("spec", "budgetingMethod"), f"{method!r}: give Occurrences or Timeslices")
    sli_here, sli_spec = _indicator(here, spec, index)
    metric = _metric(sli_here, sli_spec, method, here.at("spec", "budgetingMethod"))
    objectives = spec["objectives"]
    if not isinstance(objectives, list) or not objectives:
        _fail(here.at("spec", "objectives"), "give a list of one or more objectives")
    if len(objectives) > 1 and metric.threshold:
        _fail(
            here.at("spec", "objectives"),
            "a thresholdMetric has one objective (the OpenSLO spec); give one",
        )
    base: dict[str, Any] = {"service": service, "name": name}
    labels = _labels(here.at("metadata", "labels"), metadata.get("labels"))
    if labels:
        base["labels"] = labels
    base["window"] = window
    if timezone != "UTC":
        base["timezone"] = timezone
    base.update(_notes_fields(here.at("metadata", "annotations"), notes))
    alerting = _alerting(
        here.at("spec", "alertPolicies"), spec.get("alertPolicies"), index, period, notes
    )
    settings = _alerting_notes(here.at("metadata", "annotations"), notes)
    if settings:
        alerting = {**(alerting or {}), **settings}
    if alerting is not None:
        base["alerting"] = alerting
    texts = [
        _text(here.at("metadata", "displayName"), metadata.get("displayName")),
        _text(here.at("spec", "description"), spec.get("description")),
    ]
    bodies: list[tuple[str, dict[str, Any]]] = []
    names: dict[str, int] = {}
    for number, objective in enumerate(objectives):
        at = here.at("spec", "objectives", number)
        target, shown, sli = _objective(at, objective, metric, bucket)
        body = dict(base)
        if len(objectives) > 1:
            body["name"] = _split_name(at, name, shown, number)
            if body["name"] in names:
                _fail(at.at("displayName"), f"objectives[{names[body['name']]}] has this name")
            names[body["name"]] = number
        description = _TEXT_JOIN.join(dict.fromkeys(t for t in (*texts, shown) if t))
        if len(description) > 2000:
            _fail(here.at("spec", "description"), "the description is over 2000 characters")
        if description:
            body["description"] = description
        body.update(target)
        body.update(
            _kind_and_sli(here.at("metadata", "annotations"), notes, service, sli, metric.here)
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
    return {key: body[key] for key in _ORDER if key in body}


def _split_name(here: Here, name: str, shown: str, number: int) -> str:
    suffix = re.sub(r"[^a-z0-9]+", "-", shown.lower()).strip("-") or str(number)
    return _slug(here.at("displayName"), f"{name}-{suffix}", what="the SLO's name")


# --- the indicator ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Metric:
    """The SLI as far as the indicator says: a ratio, or a threshold query awaiting its op."""

    sli: dict[str, Any]
    threshold: bool
    here: Here


def _indicator(here: Here, spec: Mapping[str, Any], index: _Index) -> tuple[Here, Any]:
    if ("indicator" in spec) == ("indicatorRef" in spec):
        _fail(here.at("spec", "indicator"), "give indicator or indicatorRef (one of them)")
    if "indicatorRef" in spec:
        ref = _string(here.at("spec", "indicatorRef"), spec["indicatorRef"])
        found = index.find("SLI", ref)
        if found is None:
            _fail(here.at("spec", "indicatorRef"), f"no SLI document is named {ref!r}")
        _keys(found.here.at("metadata"), found.body["metadata"], {"name"}, text="an SLI")
        return found.here.at("spec"), found.body["spec"]
    at = here.at("spec", "indicator")
    inline = _mapping(at, spec["indicator"])
    _keys(at, inline, {"apiVersion", "kind", "metadata", "spec"}, required=("spec",))
    if inline.get("kind", "SLI") != "SLI":
        _fail(at.at("kind"), "an inline indicator is of kind SLI")
    if "apiVersion" in inline and inline["apiVersion"] != API_VERSION:
        _fail(at.at("apiVersion"), f"give {API_VERSION}")
    if "metadata" in inline:
        _keys(
            at.at("metadata"),
            _mapping(at.at("metadata"), inline["metadata"]),
            {"name"},
            text="an SLI",
        )
    return at.at("spec"), inline["spec"]


def _metric(here: Here, value: Any, method: str, method_here: Here) -> _Metric:
    spec = _mapping(here, value)
    _keys(here, spec, {"ratioMetric", "thresholdMetric"}, text="an SLI")
    if ("ratioMetric" in spec) == ("thresholdMetric" in spec):
        _fail(here, "give ratioMetric or thresholdMetric (one of them)")
    if "thresholdMetric" in spec:
        if method != "Timeslices":
            _fail(method_here, f"{method}: slo-service budgets a thresholdMetric by Timeslices")
        at = here.at("thresholdMetric")
        threshold = _mapping(at, spec["thresholdMetric"])
        _keys(at, threshold, {"metricSource"}, required=("metricSource",))
        query_at, query = _query(at.at("metricSource"), threshold["metricSource"])
        try:
            check_expression(query)
        except ValueError as exc:
            _fail(query_at, str(exc))
        return _Metric(
            {"source": "prometheus", "type": "threshold", "query": query.strip()},
            threshold=True,
            here=query_at,
        )
    if method != "Occurrences":
        _fail(
            method_here,
            f"{method} with a ratioMetric (slices judged by their event ratio): not supported; "
            "use Occurrences",
        )
    at = here.at("ratioMetric")
    ratio = _mapping(at, spec["ratioMetric"])
    _keys(at, ratio, {"counter", "good", "bad", "total"}, required=("total",))
    if ratio.get("counter") is not True:
        _fail(at.at("counter"), "slo-service counts events of counters: set counter: true")
    if ("good" in ratio) == ("bad" in ratio):
        _fail(at, "give good or bad (one of them) beside total")
    counted = "good" if "good" in ratio else "bad"
    sli: dict[str, Any] = {"source": "prometheus", "type": "ratio"}
    for part in (counted, "total"):
        part_at = at.at(part)
        source = _mapping(part_at, ratio[part])
        _keys(part_at, source, {"metricSource"}, required=("metricSource",))
        query_at, query = _query(part_at.at("metricSource"), source["metricSource"])
        sli[part] = _counter_selector(query_at, query)
    return _Metric(sli, threshold=False, here=at)


def _query(here: Here, value: Any) -> tuple[Here, str]:
    source = _mapping(here, value)
    _keys(here, source, {"type", "spec"}, required=("type", "spec"))
    kind = source["type"]
    if not isinstance(kind, str) or kind.lower() != "prometheus":
        _fail(here.at("type"), f"{kind!r}: slo-service reads Prometheus only; give Prometheus")
    spec = _mapping(here.at("spec"), source["spec"])
    _keys(here.at("spec"), spec, {"query"}, required=("query",))
    return here.at("spec", "query"), _string(here.at("spec", "query"), spec["query"])


_WRAPPERS = (
    re.compile(r"sum\s*\((?P<inner>.*)\)", re.S),
    re.compile(r"(?:rate|increase)\s*\((?P<inner>.*)\[[^\[\]]+\]\s*\)", re.S),
)


def _counter_selector(here: Here, query: str) -> str:
    """The series selector of a counter query: ``x{...}``, also inside ``sum(...)``,
    ``rate(...[5m])`` or ``increase(...[1h])``."""
    text = query.strip()
    for wrapper in _WRAPPERS:
        match = wrapper.fullmatch(text)
        if match is None:
            continue
        try:
            check_expression(match["inner"])
        except ValueError:
            continue  # e.g. sum(a) / sum(b): the parentheses are not one pair
        text = match["inner"].strip()
    try:
        parse_selector(text)
    except ValueError as exc:
        _fail(
            here,
            f"{query!r} is not a counter slo-service can count ({exc}): give the counter's "
            'series selector, e.g. requests_total{code!~"5.."}; sum(rate(x[5m])) and '
            "increase(x[1h]) are read as x",
        )
    return text


def _latency(here: Here, sli: Mapping[str, Any]) -> dict[str, Any]:
    """The latency SLI of a ``X_bucket{..., le="v"}`` over ``X_count{...}`` ratio."""
    good, total = parse_selector(sli.get("good") or ""), parse_selector(sli["total"])
    bounds = [m for m in good.matchers if m.label == "le" and m.op == "="]
    others = tuple(m for m in good.matchers if m.label != "le")
    name = good.name.removesuffix("_bucket")
    if (
        not good.name.endswith("_bucket")
        or len(bounds) != 1
        or total.name != f"{name}_count"
        or set(total.matchers) != set(others)
    ):
        _fail(
            here,
            'latency: give good X_bucket{...,le="0.5"} and total X_count{...}, with the same '
            "other matchers",
        )
    try:
        seconds = float(bounds[0].value)
    except ValueError:
        _fail(here, f"latency: le={bounds[0].literal} is not a number")
    return {
        "source": "prometheus",
        "type": "latency",
        "histogram": Selector(name, others).render(),
        "threshold_seconds": seconds,
    }


# --- objectives ------------------------------------------------------------------------------


def _objective(
    here: Here, value: Any, metric: _Metric, bucket: timedelta
) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """The objective's target field, its display name, and the SLI it completes."""
    objective = _mapping(here, value)
    _keys(
        here,
        objective,
        {
            "displayName",
            "target",
            "targetPercent",
            "op",
            "value",
            "timeSliceTarget",
            "timeSliceWindow",
        },
    )
    shown = _text(here.at("displayName"), objective.get("displayName"))
    if ("target" in objective) == ("targetPercent" in objective):
        _fail(here.at("target"), "give target (e.g. 0.999) or targetPercent (99.9), one of them")
    if "target" in objective:
        target = _number(here.at("target"), objective["target"])
        if not 0 < target < 1:
            _fail(here.at("target"), f"must be between 0 and 1 exclusive, got {target}")
        fields: dict[str, Any] = {"objective": target}
    else:
        percent = _number(here.at("targetPercent"), objective["targetPercent"])
        if not 0 < percent < 100:
            _fail(here.at("targetPercent"), f"must be between 0 and 100 exclusive, got {percent}")
        fields = {"objective_percent": percent}
    sli = dict(metric.sli)
    if not metric.threshold:
        for key in ("op", "value", "timeSliceTarget", "timeSliceWindow"):
            if key in objective:
                _fail(here.at(key), "only with a thresholdMetric budgeted by Timeslices")
        return fields, shown, sli
    for key in ("op", "value"):
        if key not in objective:
            _fail(here.at(key), "required with a thresholdMetric")
    op = objective["op"]
    if op not in OPS:
        _fail(here.at("op"), f"{op!r}: give one of {', '.join(OPS)}")
    threshold = _number(here.at("value"), objective["value"])
    if not math.isfinite(threshold):
        _fail(here.at("value"), "must be a finite number")
    if "timeSliceTarget" in objective:
        share = _number(here.at("timeSliceTarget"), objective["timeSliceTarget"])
        if not 0 < share <= 1:
            _fail(here.at("timeSliceTarget"), f"must be in (0, 1], got {share}")
    if "timeSliceWindow" in objective:
        _slice_window(here.at("timeSliceWindow"), objective["timeSliceWindow"], bucket)
    sli.update(op=OPS[op], threshold=threshold)
    return fields, shown, sli


def _slice_window(here: Here, value: Any, bucket: timedelta) -> None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        length = timedelta(minutes=value)
    else:
        text = _string(here, value)
        try:
            length = parse_duration(text) if not text.endswith("s") else _seconds(text)
        except ValueError as exc:
            _fail(here, str(exc))
    if length != bucket:
        _fail(
            here,
            f"slo-service's time slice is one bucket of {_format(bucket)} (SLO_BUCKET_SECONDS); "
            f"give {_format(bucket)}",
        )


def _seconds(text: str) -> timedelta:
    if not text[:-1].isdigit():
        raise ValueError(f"{text!r} is not a duration")
    return timedelta(seconds=int(text[:-1]))


def _format(length: timedelta) -> str:
    seconds = int(length.total_seconds())
    if seconds % 60:
        return f"{seconds}s"
    minutes = seconds // 60
    for unit, size in (("d", 1440), ("h", 60)):
        if minutes % size == 0:
            return f"{minutes // size}{unit}"
    return f"{minutes}m"


# --- windows ---------------------------------------------------------------------------------


def _time_window(here: Here, value: Any) -> tuple[str, str, timedelta]:
    """The native window, its time zone, and its length (a calendar window's nominal one),
    which a tier's long window must not exceed."""
    if not isinstance(value, list) or len(value) != 1:
        _fail(here, "give a list of exactly one window")
    at = here.at(0)
    item = _mapping(at, value[0])
    _keys(at, item, {"duration", "isRolling", "calendar"}, required=("duration",))
    duration = _string(at.at("duration"), item["duration"])
    rolling = item.get("isRolling", "calendar" not in item)
    if not isinstance(rolling, bool):
        _fail(at.at("isRolling"), "give true or false")
    if rolling:
        if "calendar" in item:
            _fail(at.at("calendar"), "a rolling window has no calendar: set isRolling: false")
        try:
            window = parse_window(duration)
        except ValueError as exc:
            _fail(at.at("duration"), str(exc))
        if window.length is None or duration != duration.lower():
            _fail(at.at("duration"), f"{duration!r}: a rolling window is given in h, d or w")
        return window.spec, "UTC", window.length
    if duration not in CALENDAR_DURATIONS:
        _fail(
            at.at("duration"),
            f"{duration!r}: slo-service's calendar windows are 1M (a month) and 1w (a week)",
        )
    period = CALENDAR_DURATIONS[duration]
    if "calendar" not in item:
        _fail(at.at("calendar"), "a calendar window needs calendar: {startTime, timeZone}")
    calendar = _mapping(at.at("calendar"), item["calendar"])
    _keys(at.at("calendar"), calendar, {"startTime", "timeZone"})
    timezone = _string(at.at("calendar", "timeZone"), calendar.get("timeZone", "UTC"))
    try:
        parse_timezone(timezone)
    except ValueError as exc:
        _fail(at.at("calendar", "timeZone"), str(exc))
    if "startTime" in calendar:
        _start_time(at.at("calendar", "startTime"), calendar["startTime"], period)
    return period, timezone, nominal_length(parse_window(period))


def _start_time(here: Here, value: Any, period: str) -> None:
    if isinstance(value, datetime):
        start = value
    elif isinstance(value, date):
        start = datetime.combine(value, time())
    else:
        text = _string(here, value)
        try:
            start = datetime.fromisoformat(text)
        except ValueError:
            _fail(here, f"{text!r} is not a date and time such as 2024-01-01 00:00:00")
    if start.tzinfo is not None:
        _fail(here, "give the start without a UTC offset: calendar.timeZone is its time zone")
    first = start.day == 1 if period == "month" else start.weekday() == 0
    if not first or start.time() != time():
        what = "the 1st of a month" if period == "month" else "a Monday"
        _fail(
            here,
            f"{start:%Y-%m-%d %H:%M:%S} is not the start of a {period}: slo-service's {period}s "
            f"start on {what} at 00:00 in the time zone; give e.g. {CALENDAR_START}",
        )


# --- alerting --------------------------------------------------------------------------------


def _alerting(
    here: Here, value: Any, index: _Index, period: timedelta, notes: Mapping[str, str]
) -> dict[str, Any] | None:
    if ALERTING_ANNOTATION in notes:
        if value:
            _fail(here, f"give alertPolicies or the annotation {ALERTING_ANNOTATION}, not both")
        return None
    if value is None or value == []:
        return {"enabled": False}
    if not isinstance(value, list):
        _fail(here, "give a list of alert policies")
    tiers: list[dict[str, Any]] = []
    for number, entry in enumerate(value):
        policy_here, policy = _policy(here.at(number), entry, index)
        tiers += _policy_tiers(policy_here, policy, index, period)
    if len(tiers) > 8:
        _fail(here, f"{len(tiers)} burn-rate conditions: slo-service takes at most 8 per SLO")
    return {"enabled": True, "tiers": tiers}


def _policy(here: Here, entry: Any, index: _Index) -> tuple[Here, Mapping[str, Any]]:
    """The AlertPolicy's spec (inline, or the document a name refers to), and where it is."""
    ref: Any = entry
    if isinstance(entry, dict) and "alertPolicyRef" in entry:
        _keys(here, entry, {"alertPolicyRef"})
        here = here.at("alertPolicyRef")
        ref = _string(here, entry["alertPolicyRef"])
    if isinstance(ref, str):
        found = index.find("AlertPolicy", ref)
        if found is None:
            _fail(here, f"no AlertPolicy document is named {ref!r}")
        _keys(found.here.at("metadata"), found.body["metadata"], {"name"}, "an alert policy")
        return found.here.at("spec"), _mapping(found.here.at("spec"), found.body["spec"])
    inline = _mapping(here, entry)
    _inline_object(here, inline, "AlertPolicy", "an alert policy")
    return here.at("spec"), _mapping(here.at("spec"), inline["spec"])


def _inline_object(here: Here, inline: Mapping[str, Any], kind: str, what: str) -> None:
    _keys(here, inline, {"apiVersion", "kind", "metadata", "spec"}, required=("kind", "spec"))
    if inline["kind"] != kind:
        _fail(here.at("kind"), f"{inline['kind']!r}: give {kind}, or a reference")
    if "apiVersion" in inline and inline["apiVersion"] != API_VERSION:
        _fail(here.at("apiVersion"), f"give {API_VERSION}")
    if "metadata" in inline:
        _keys(
            here.at("metadata"),
            _mapping(here.at("metadata"), inline["metadata"]),
            {"name"},
            text=what,
        )


def _policy_tiers(
    here: Here, policy: Mapping[str, Any], index: _Index, period: timedelta
) -> list[dict[str, Any]]:
    _keys(
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
            _fail(here.at(key), f"only {str(wanted).lower()} is supported: {why}")
    if policy.get("notificationTargets"):
        _fail(here.at("notificationTargets"), _HINTS["notificationTargets"])
    default = policy.get("severity")
    if default is not None:
        _string(here.at("severity"), default)
    conditions = policy["conditions"]
    if not isinstance(conditions, list) or not conditions:
        _fail(here.at("conditions"), "give a list of one or more conditions")
    tiers = []
    for number, entry in enumerate(conditions):
        at, spec = _condition(here.at("conditions", number), entry, index)
        tiers.append(_tier(at, spec, default, here.at("severity"), period))
    return tiers


def _condition(here: Here, entry: Any, index: _Index) -> tuple[Here, Mapping[str, Any]]:
    condition = _mapping(here, entry)
    if "conditionRef" in condition:
        _keys(here, condition, {"conditionRef"})
        ref = _string(here.at("conditionRef"), condition["conditionRef"])
        found = index.find("AlertCondition", ref)
        if found is None:
            _fail(here.at("conditionRef"), f"no AlertCondition document is named {ref!r}")
        _keys(found.here.at("metadata"), found.body["metadata"], {"name"}, "an alert condition")
        return found.here.at("spec"), _mapping(found.here.at("spec"), found.body["spec"])
    _inline_object(here, condition, "AlertCondition", "an alert condition")
    return here.at("spec"), _mapping(here.at("spec"), condition["spec"])


def _tier(
    here: Here, spec: Mapping[str, Any], default: Any, default_here: Here, period: timedelta
) -> dict[str, Any]:
    _keys(here, spec, {"severity", "condition"}, required=("condition",), text="an alert condition")
    if "severity" in spec:
        severity = _string(here.at("severity"), spec["severity"])
        if default is not None and default != severity:
            _fail(here.at("severity"), f"{severity!r} differs from the policy's {default!r}")
    elif default is not None:
        severity = default
    else:
        _fail(here.at("severity"), "required (here or in the policy's spec.severity)")
    at = here.at("condition")
    condition = _mapping(at, spec["condition"])
    _keys(
        at,
        condition,
        {"kind", "op", "threshold", "lookbackWindow", "alertAfter"},
        required=("threshold", "lookbackWindow", "alertAfter"),
    )
    if condition.get("kind", "burnrate") != "burnrate":
        _fail(at.at("kind"), f"{condition['kind']!r}: slo-service alerts on burnrate only")
    if condition.get("op", "gt") != "gt":
        _fail(at.at("op"), "only gt: a tier fires when the burn rate is above its factor")
    threshold = _number(at.at("threshold"), condition["threshold"])
    if not 0 < threshold < math.inf:
        _fail(at.at("threshold"), f"must be a burn rate above 0, got {threshold}")
    long_window = _duration(at.at("lookbackWindow"), condition["lookbackWindow"])
    short_window = _duration(at.at("alertAfter"), condition["alertAfter"], short=True)
    if parse_duration(short_window) >= parse_duration(long_window):
        _fail(
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
        _fail(here.at(field) if field else here, clean_message(error["msg"]))
    long_window = parse_duration(tier["long_window"])
    problem = tier_problem(
        Tier(tier["severity"], long_window, parse_duration(tier["short_window"]), tier["factor"]),
        period,
    )
    if problem is None:
        return
    if tier["factor"] < 1:
        _fail(
            here.at("threshold"),
            f"a burn rate of {tier['factor']} is under 1: the tier would fire while the SLO is "
            "met (a burn rate of 1 spends exactly the budget over the window); give at least 1",
        )
    if long_window > period:
        _fail(
            here.at("lookbackWindow"),
            f"{tier['long_window']} is longer than the SLO's window ({_format(period)}): "
            "slo-service's tiers look back no further than the SLO's window",
        )
    _fail(here, problem)


def _duration(here: Here, value: Any, *, short: bool = False) -> str:
    text = _string(here, value)
    try:
        parse_duration(text)
    except ValueError as exc:
        hint = " (the short window of the tier: not 0)" if short else ""
        _fail(here, f"{exc}{hint}")
    return text


# --- annotations, labels ---------------------------------------------------------------------


def _annotations(here: Here, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    notes = _mapping(here, value)
    for key, text in notes.items():
        if key not in ANNOTATIONS:
            _fail(
                here.at(str(key)),
                "not supported: slo-service keeps no annotations but its own "
                f"({', '.join(ANNOTATIONS)})",
            )
        _string(here.at(key), text)
    if PARAMS_ANNOTATION in notes and KIND_ANNOTATION not in notes:
        _fail(here.at(PARAMS_ANNOTATION), f"only with {KIND_ANNOTATION}")
    return dict(notes)


def _notes_fields(here: Here, notes: Mapping[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if NO_DATA_ANNOTATION in notes:
        no_data = notes[NO_DATA_ANNOTATION]
        if no_data not in ("ignore", "good", "bad"):
            _fail(here.at(NO_DATA_ANNOTATION), f"{no_data!r}: give ignore, good or bad")
        if no_data != "ignore":
            fields["no_data"] = no_data
    if GATE_ANNOTATION in notes:
        gate = _json_object(here.at(GATE_ANNOTATION), notes[GATE_ANNOTATION])
        try:
            GatePolicy.model_validate(gate)
        except ValidationError as exc:
            raise InvalidInput.from_pydantic(exc, _loc(here.at(GATE_ANNOTATION))) from None
        if gate:
            fields["gate"] = gate
    if ALERTING_ANNOTATION in notes and notes[ALERTING_ANNOTATION] != "default":
        _fail(here.at(ALERTING_ANNOTATION), "give default (the built-in burn-rate tiers)")
    return fields


def _alerting_notes(here: Here, notes: Mapping[str, str]) -> dict[str, Any]:
    """``alerting.min_events`` and ``alerting.no_data_for`` of their annotations."""
    settings: dict[str, Any] = {}
    if MIN_EVENTS_ANNOTATION in notes:
        text = notes[MIN_EVENTS_ANNOTATION]
        try:
            settings["min_events"] = float(text)
        except ValueError:
            _fail(here.at(MIN_EVENTS_ANNOTATION), f"{text!r}: give a number of events, e.g. 10")
    if NO_DATA_FOR_ANNOTATION in notes:
        settings["no_data_for"] = notes[NO_DATA_FOR_ANNOTATION]
    try:
        AlertingPolicy.model_validate(settings)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = (
            MIN_EVENTS_ANNOTATION if error["loc"][:1] == ("min_events",) else NO_DATA_FOR_ANNOTATION
        )
        _fail(here.at(key), clean_message(error["msg"]))
    return settings


def _kind_and_sli(
    here: Here, notes: Mapping[str, str], service: str, sli: dict[str, Any], sli_here: Here
) -> dict[str, Any]:
    """The kind, params and ``sli`` overrides that make the SLO measure ``sli``."""
    if notes.get(SLI_TYPE_ANNOTATION, "latency") != "latency":
        _fail(here.at(SLI_TYPE_ANNOTATION), "give latency (or leave it out)")
    if SLI_TYPE_ANNOTATION in notes:
        if sli["type"] != "ratio":
            _fail(here.at(SLI_TYPE_ANNOTATION), "latency needs a ratioMetric")
        sli = _latency(here.at(SLI_TYPE_ANNOTATION), sli)
    try:
        SLI_ADAPTER.validate_python(sli)
    except ValidationError as exc:
        reasons = "; ".join(clean_message(e["msg"]) for e in exc.errors())
        _fail(here.at(SLI_TYPE_ANNOTATION) if SLI_TYPE_ANNOTATION in notes else sli_here, reasons)
    kind_text = notes.get(KIND_ANNOTATION, Kind.CUSTOM.value)
    try:
        kind = Kind(kind_text)
    except ValueError:
        _fail(here.at(KIND_ANNOTATION), f"{kind_text!r}: give one of {', '.join(Kind)}")
    if kind is Kind.CUSTOM:
        if PARAMS_ANNOTATION in notes:
            _fail(here.at(PARAMS_ANNOTATION), "a custom SLO takes no params")
        return {"kind": kind.value, "sli": sli}
    params = _json_object(here.at(PARAMS_ANNOTATION), notes.get(PARAMS_ANNOTATION, "{}"))
    try:
        _, template = build_sli(kind, params, None, service=service)
    except InvalidInput as exc:
        reasons = "; ".join(f"{'.'.join(map(str, loc))}: {r}" for loc, r in exc.problems)
        _fail(here.at(PARAMS_ANNOTATION), reasons)
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


def _labels(here: Here, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    labels: dict[str, str] = {}
    for key, item in _mapping(here, value).items():
        if not _LABEL_KEY.fullmatch(str(key)):
            _fail(
                here.at(str(key)),
                "slo-service's label keys start with a letter or '_', then letters, digits, "
                "'_./-', at most 63 characters",
            )
        if isinstance(item, list) and item and all(isinstance(v, str) for v in item):
            labels[str(key)] = ",".join(item)
        elif isinstance(item, str):
            labels[str(key)] = item
        else:
            _fail(here.at(str(key)), "give a string or a list of strings (joined with commas)")
    return labels


# --- small readers ---------------------------------------------------------------------------


def _mapping(here: Here, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        _fail(here, "expected a mapping")
    return value


def _keys(
    here: Here,
    value: Mapping[str, Any],
    allowed: Iterable[str],
    text: str | None = None,
    *,
    required: Iterable[str] = (),
) -> None:
    """Refuse every key not in ``allowed`` (``displayName``/``description`` of ``text``, an
    object slo-service keeps no text of, with a hint), and require ``required``."""
    allowed = set(allowed)
    problems: list[tuple[Sequence[str | int], str]] = []
    for key in value:
        if key in allowed:
            continue
        if text is not None and key in ("displayName", "description"):
            reason = _NO_TEXT.format(what=text)
        else:
            reason = _HINTS.get(str(key), "not supported")
        problems.append((_loc(here.at(str(key))), reason))
    problems += [(_loc(here.at(key)), "required") for key in required if key not in value]
    if problems:
        raise InvalidInput(problems)


def _string(here: Here, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        _fail(here, "give a non-empty string")
    return value


def _text(here: Here, value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        _fail(here, "give a string")
    return value.strip()


def _number(here: Here, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        _fail(here, f"{value!r} is not a number")
    return float(value)


def _slug(here: Here, value: Any, what: str = "a name") -> str:
    text = _string(here, value)
    if not re.fullmatch(r"[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?", text):
        _fail(
            here,
            f"{text!r} is not a slug, as {what} in slo-service is: use 1-63 lowercase letters, "
            "digits, '-' or '_', starting and ending with a letter or digit",
        )
    return text


def _json_object(here: Here, text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        _fail(here, f"not valid JSON: {exc}")
    if not isinstance(value, dict):
        _fail(here, "give a JSON object")
    return value


def _tidy(value: float) -> float:
    """12 significant digits: the short form of a float that arithmetic left ragged."""
    return float(f"{value:.12g}")


def _number_text(value: float) -> str:
    """A number as an annotation's text: ``5`` for 5.0, else the float's shortest form."""
    return repr(float(value)).removesuffix(".0")


# --- writing ---------------------------------------------------------------------------------


def to_openslo(
    slo: Mapping[str, Any], *, bucket_seconds: int = DEFAULT_BUCKET_SECONDS
) -> list[dict[str, Any]]:
    """One SLO (``SLOPublic`` as JSON, or its prepared columns) as OpenSLO v1 documents: the SLO
    with an inline indicator, then an AlertPolicy per severity of its tiers. InvalidInput if the
    format cannot express it (a pushed or drift store SLI, an == or != threshold)."""
    service, name, sli = slo["service"], slo["name"], slo["sli"]
    if sli.get("source") == "push":
        raise InvalidInput.at(
            ("sli", "source"),
            "cannot be expressed in OpenSLO: its SLI is pushed to /api/v1/events, not read "
            "from a metric source",
        )
    if sli.get("source") == "drift_store":
        raise InvalidInput.at(
            ("sli", "source"),
            "cannot be expressed in OpenSLO: its SLI is read from slo-service's drift store",
        )
    notes: dict[str, str] = {}
    if slo["kind"] != Kind.CUSTOM.value:
        notes[KIND_ANNOTATION] = str(slo["kind"])
        if slo.get("params"):
            notes[PARAMS_ANNOTATION] = json.dumps(slo["params"], sort_keys=True)
    objective: dict[str, Any] = {**_target(slo["objective"])}
    if sli["type"] == "threshold":
        if sli["op"] not in OPENSLO_OPS:
            raise InvalidInput.at(
                ("sli", "op"),
                f"cannot be expressed in OpenSLO: its threshold compares with {sli['op']}",
            )
        metric: dict[str, Any] = {"thresholdMetric": _source(sli["query"])}
        method = "Timeslices"
        objective.update(
            op=OPENSLO_OPS[sli["op"]],
            value=sli["threshold"],
            timeSliceTarget=1,
            timeSliceWindow=_format(timedelta(seconds=bucket_seconds)),
        )
    else:
        method = "Occurrences"
        if sli["type"] == "latency":
            notes[SLI_TYPE_ANNOTATION] = "latency"
            histogram = parse_selector(sli["histogram"])
            bound = f'le="{float(sli["threshold_seconds"])!r}"'
            parts = {
                "good": Selector(f"{histogram.name}_bucket", histogram.matchers).render(bound),
                "total": Selector(f"{histogram.name}_count", histogram.matchers).render(),
            }
        else:
            parts = {key: sli[key] for key in ("good", "bad", "total") if sli.get(key)}
        metric = {"ratioMetric": {"counter": True, **{k: _source(q) for k, q in parts.items()}}}
    if slo.get("no_data", "ignore") != "ignore":
        notes[NO_DATA_ANNOTATION] = slo["no_data"]
    gate = {key: value for key, value in (slo.get("gate") or {}).items() if value is not None}
    if gate:
        notes[GATE_ANNOTATION] = json.dumps(gate, sort_keys=True)
    alerting = slo.get("alerting")
    tiers = (alerting or {}).get("tiers") or []
    if alerting is None or (alerting.get("enabled", True) and not tiers):
        notes[ALERTING_ANNOTATION] = "default"
    settings = alerting or {}
    if settings.get("min_events") is not None:
        notes[MIN_EVENTS_ANNOTATION] = _number_text(settings["min_events"])
    if settings.get("no_data_for") is not None:
        notes[NO_DATA_FOR_ANNOTATION] = settings["no_data_for"]
    metadata: dict[str, Any] = {"name": name}
    if slo.get("labels"):
        metadata["labels"] = dict(slo["labels"])
    if notes:
        metadata["annotations"] = notes
    spec: dict[str, Any] = {}
    if slo.get("description"):
        spec["description"] = slo["description"]
    spec.update(
        service=service,
        indicator={"metadata": {"name": f"{name}-sli"}, "spec": metric},
        timeWindow=[_window(slo["window"], slo.get("timezone", "UTC"))],
        budgetingMethod=method,
        objectives=[objective],
    )
    policies = _policies(slo, tiers) if alerting and alerting.get("enabled", True) else []
    if policies:
        spec["alertPolicies"] = [{"alertPolicyRef": p["metadata"]["name"]} for p in policies]
    document = {"apiVersion": API_VERSION, "kind": "SLO", "metadata": metadata, "spec": spec}
    return [document, *policies]


def _source(query: str) -> dict[str, Any]:
    return {"metricSource": {"type": "Prometheus", "spec": {"query": query}}}


def _target(objective: float) -> dict[str, float]:
    """``target``, or ``targetPercent`` when the fraction came from a percentage (99.9 / 100 is
    0.9990000000000001): the form that reads back as the same float, and reads well."""
    if _tidy(objective) == objective:
        return {"target": objective}
    percent = round(objective * 100, 10)
    return {"targetPercent": percent} if percent / 100 == objective else {"target": objective}


def _window(window: str, timezone: str) -> dict[str, Any]:
    if window in CALENDAR_DURATIONS.values():
        duration = next(d for d, p in CALENDAR_DURATIONS.items() if p == window)
        calendar = {"startTime": CALENDAR_START, "timeZone": timezone}
        return {"duration": duration, "isRolling": False, "calendar": calendar}
    return {"duration": window, "isRolling": True}


def _policies(slo: Mapping[str, Any], tiers: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """An AlertPolicy per severity (in the order they first appear), a condition per tier."""
    period = nominal_length(parse_window(slo["window"]))
    base = f"{slo['service']}-{slo['name']}"
    by_severity: dict[str, list[dict[str, Any]]] = {}
    for tier in tiers:
        long_window, short_window = tier["long_window"], tier["short_window"]
        factor = tier.get("factor")
        if factor is None:  # an older tier, stored as the share of the budget it spends
            spent = factor_of_share(tier["budget_spent"], parse_duration(long_window), period)
            factor = float(f"{spent:.15g}")
        condition = {
            "kind": "burnrate",
            "op": "gt",
            "threshold": factor,
            "lookbackWindow": long_window,
            "alertAfter": short_window,
        }
        by_severity.setdefault(tier["severity"], []).append(
            {
                "kind": "AlertCondition",
                "metadata": {"name": f"{base}-{tier['severity']}-{long_window}-{short_window}"},
                "spec": {"severity": tier["severity"], "condition": condition},
            }
        )
    return [
        {
            "apiVersion": API_VERSION,
            "kind": "AlertPolicy",
            "metadata": {"name": f"{base}-{severity}"},
            "spec": {
                "alertWhenBreaching": True,
                "alertWhenResolved": True,
                "alertWhenNoData": False,
                "conditions": conditions,
            },
        }
        for severity, conditions in by_severity.items()
    ]


def dump(documents: Sequence[Mapping[str, Any]]) -> str:
    """YAML documents, keys in the order written."""
    return yaml.safe_dump_all(
        [dict(d) for d in documents], sort_keys=False, allow_unicode=True, width=100
    )
