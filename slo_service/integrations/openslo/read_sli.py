"""The indicator and objectives of an OpenSLO SLO, read as slo-service's SLI.

A ``ratioMetric`` of Prometheus counters is a ratio SLI (a query is read as its series
selector); a ``thresholdMetric`` budgeted by Timeslices is a threshold SLI that each objective
completes with its ``op`` and ``value``. ``latency_sli`` reads a histogram's bucket-over-count
ratio as a latency SLI when an annotation asks for it. The SLI's metadata and description are
kept on the SLO (``read_metadata``).
"""

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from slo_service.domain.promql import Selector, check_expression, parse_selector
from slo_service.domain.sli import DATASOURCE_PATTERN, DEFAULT_DATASOURCE
from slo_service.errors import InvalidInput
from slo_service.integrations.openslo.common import API_VERSION, OPS
from slo_service.integrations.openslo.read_documents import Doc, Index
from slo_service.integrations.openslo.read_fields import (
    Problem,
    as_mapping,
    as_number,
    as_string,
    as_text,
    check_keys,
    collect,
    fail,
    location,
)
from slo_service.integrations.openslo.read_metadata import Kept, read_metadata, refuse_notes
from slo_service.integrations.openslo.read_windows import read_slice_window
from slo_service.integrations.where import Here


@dataclass(frozen=True)
class Metric:
    """The SLI as far as the indicator says: a ratio, or a threshold query awaiting its op."""

    sli: dict[str, Any]
    threshold: bool
    here: Here


def read_indicator(
    here: Here, spec: Mapping[str, Any], index: Index, kept: Kept
) -> tuple[Here, Any]:
    """The SLI spec of an SLO's ``spec`` (inline ``indicator``, or the SLI document its
    ``indicatorRef`` names), and where it is; its metadata and description go to ``kept``."""
    if ("indicator" in spec) == ("indicatorRef" in spec):
        fail(here.at("spec", "indicator"), "give indicator or indicatorRef (one of them)")
    if "indicatorRef" in spec:
        ref = as_string(here.at("spec", "indicatorRef"), spec["indicatorRef"])
        found = index.find("SLI", ref)
        if found is None:
            fail(here.at("spec", "indicatorRef"), f"no SLI document is named {ref!r}")
        _keep(found.here, found.body["metadata"], found.body["spec"], f"SLI {ref}", kept)
        return found.here.at("spec"), found.body["spec"]
    at = here.at("spec", "indicator")
    inline = as_mapping(at, spec["indicator"])
    check_keys(at, inline, {"apiVersion", "kind", "metadata", "spec"}, required=("spec",))
    if inline.get("kind", "SLI") != "SLI":
        fail(at.at("kind"), "an inline indicator is of kind SLI")
    if "apiVersion" in inline and inline["apiVersion"] != API_VERSION:
        fail(at.at("apiVersion"), f"give {API_VERSION}")
    metadata = inline.get("metadata") or {}
    name = metadata.get("name") if isinstance(metadata, dict) else None
    _keep(at, metadata, inline["spec"], f"SLI {name}" if name else "SLI", kept)
    return at.at("spec"), inline["spec"]


def _keep(here: Here, metadata: Any, spec: Any, title: str, kept: Kept) -> None:
    """Keep an SLI's metadata and ``spec.description`` on the SLO."""
    read = read_metadata(here.at("metadata"), metadata)
    refuse_notes(here.at("metadata", "annotations"), read.notes)
    description = spec.get("description") if isinstance(spec, dict) else None
    kept.add_document(title, read, description, here.at("spec", "description"))


def read_metric(here: Here, value: Any, method: str | None, method_here: Here) -> Metric:
    """The SLI spec's metric, checked against the SLO's ``budgetingMethod`` (None: the method
    was refused already). A metric the method does not budget is refused at the method, after
    the metric's own problems, and the metric still comes back, for the objectives to be read:
    every problem is reported at once."""
    spec = as_mapping(here, value)
    problems: list[Problem] = []
    collect(problems, check_keys, here, spec, {"description", "ratioMetric", "thresholdMetric"})
    if ("ratioMetric" in spec) == ("thresholdMetric" in spec):
        fail(here, "give ratioMetric or thresholdMetric (one of them)")
    if "thresholdMetric" in spec:
        metric = collect(problems, _threshold_metric, here.at("thresholdMetric"), spec)
        if method not in ("Timeslices", None):
            problems.append(
                (
                    location(method_here),
                    f"{method}: slo-service budgets a thresholdMetric by Timeslices (the share "
                    "of slices whose value meets the objective); use Timeslices",
                )
            )
    else:
        try:
            metric = _ratio_metric(here.at("ratioMetric"), spec)
        except MetricProblems as exc:
            problems += exc.problems
            metric = exc.metric
        if method not in ("Occurrences", None):
            problems.append(
                (
                    location(method_here),
                    f"{method} with a ratioMetric (slices judged by their event ratio): not "
                    "supported: slo-service budgets a ratio by its events; use Occurrences",
                )
            )
    if problems or metric is None:
        raise MetricProblems(problems, metric)
    return metric


class MetricProblems(InvalidInput):
    """The problems of an SLI and, when the metric itself could be read, that metric."""

    def __init__(self, problems: list[Problem], metric: Metric | None) -> None:
        super().__init__(problems)
        self.metric = metric


def _threshold_metric(at: Here, spec: Mapping[str, Any]) -> Metric:
    threshold = as_mapping(at, spec["thresholdMetric"])
    check_keys(at, threshold, {"metricSource"}, required=("metricSource",))
    query_at, query = _query(at.at("metricSource"), threshold["metricSource"])
    try:
        check_expression(query)
    except ValueError as exc:
        fail(query_at, str(exc))
    sli = {"source": "prometheus", "type": "threshold", "query": query.strip()}
    datasource = _datasource(at.at("metricSource"), threshold["metricSource"])
    if datasource is not None:
        sli["datasource"] = datasource
    return Metric(sli, threshold=True, here=query_at)


def _ratio_metric(at: Here, spec: Mapping[str, Any]) -> Metric:
    ratio = as_mapping(at, spec["ratioMetric"])
    problems: list[Problem] = []
    keys = {"counter", "good", "bad", "total"}
    if "raw" in ratio:  # a precomputed ratio: its refusal says all, the rest would be noise
        check_keys(at, ratio, keys)
    collect(problems, check_keys, at, ratio, keys, required=("total",))
    if ratio.get("counter") is not True:
        problems.append(
            (location(at.at("counter")), "slo-service counts events of counters: set counter: true")
        )
    if ("good" in ratio) == ("bad" in ratio):
        problems.append((location(at), "give good or bad (one of them) beside total"))
    counted = "good" if "good" in ratio else "bad"
    sli: dict[str, Any] = {"source": "prometheus", "type": "ratio"}
    datasources: dict[str, str | None] = {}
    for part in (counted, "total"):
        if part in ratio:
            sli[part] = collect(problems, _part, at.at(part), ratio[part])
            source = ratio[part].get("metricSource") if isinstance(ratio[part], Mapping) else None
            where = at.at(part, "metricSource")
            datasources[part] = collect(problems, _datasource, where, source)
    named = {name for name in datasources.values() if name is not None}
    if len(set(datasources.values())) > 1:
        problems.append(
            (
                location(at),
                "good (or bad) and total come from one datasource in slo-service: give them "
                "the same metricSourceRef",
            )
        )
    elif named:
        sli["datasource"] = named.pop()
    metric = Metric(sli, threshold=False, here=at)
    if problems:
        # With both queries read, the objectives can still be read for their own problems.
        raise MetricProblems(problems, metric if sli.get(counted) and sli.get("total") else None)
    return metric


def _part(here: Here, value: Any) -> str:
    """The counter selector of a ratio's ``good``, ``bad`` or ``total``."""
    source = as_mapping(here, value)
    check_keys(here, source, {"metricSource"}, required=("metricSource",))
    query_at, query = _query(here.at("metricSource"), source["metricSource"])
    return _counter_selector(query_at, query)


def _query(here: Here, value: Any) -> tuple[Here, str]:
    """The Prometheus query of a ``metricSource``, and where it is."""
    source = as_mapping(here, value)
    problems: list[Problem] = []
    keys = {"type", "spec", "metricSourceRef"}
    collect(problems, check_keys, here, source, keys, required=("type", "spec"))
    kind = source.get("type")
    if "type" in source and (not isinstance(kind, str) or kind.lower() != "prometheus"):
        problems.append(
            (
                location(here.at("type")),
                f"{kind!r}: slo-service reads Prometheus only (and what answers its query API: "
                "Thanos, Mimir, Cortex, VictoriaMetrics); give type: Prometheus with a PromQL "
                "spec.query",
            )
        )
    if problems:  # the spec of another source's query is not checked: it would be noise
        raise InvalidInput(problems)
    spec = as_mapping(here.at("spec"), source["spec"])
    check_keys(here.at("spec"), spec, {"query"}, required=("query",))
    return here.at("spec", "query"), as_string(here.at("spec", "query"), spec["query"])


def _datasource(here: Here, value: Any) -> str | None:
    """The datasource a ``metricSource`` names in ``metricSourceRef`` (its DataSource document
    is not read: the datasource is one of slo-service's own, SLO_DATASOURCES_FILE)."""
    ref = value.get("metricSourceRef") if isinstance(value, Mapping) else None
    if ref is None:
        return None
    name = as_string(here.at("metricSourceRef"), ref)
    if not re.fullmatch(DATASOURCE_PATTERN, name):
        fail(
            here.at("metricSourceRef"),
            f"{name!r} is not a datasource name: lower-case letters, digits, - and _ (the "
            "name of a datasource in slo-service's SLO_DATASOURCES_FILE)",
        )
    return None if name == DEFAULT_DATASOURCE else name


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
        fail(
            here,
            f"{query!r} is not a counter slo-service can count ({exc}): give the counter's "
            'series selector, e.g. requests_total{code!~"5.."}; sum(rate(x[5m])) and '
            "increase(x[1h]) are read as x",
        )
    return text


def latency_sli(here: Here, sli: Mapping[str, Any]) -> dict[str, Any]:
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
        fail(
            here,
            'latency: give good X_bucket{...,le="0.5"} and total X_count{...}, with the same '
            "other matchers",
        )
    try:
        seconds = float(bounds[0].value)
    except ValueError:
        fail(here, f"latency: le={bounds[0].literal} is not a number")
    return {
        "source": "prometheus",
        "type": "latency",
        "histogram": Selector(name, others).render(),
        "threshold_seconds": seconds,
        **({"datasource": sli["datasource"]} if "datasource" in sli else {}),
    }


# --- objectives ------------------------------------------------------------------------------


def read_objective(
    here: Here, value: Any, metric: Metric, bucket: timedelta
) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """The objective's target field, its display name, and the SLI it completes."""
    objective = as_mapping(here, value)
    check_keys(
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
    shown = as_text(here.at("displayName"), objective.get("displayName"))
    if ("target" in objective) == ("targetPercent" in objective):
        fail(here.at("target"), "give target (e.g. 0.999) or targetPercent (99.9), one of them")
    if "target" in objective:
        target = as_number(here.at("target"), objective["target"])
        if not 0 < target < 1:
            fail(here.at("target"), f"must be between 0 and 1 exclusive, got {target}")
        fields: dict[str, Any] = {"objective": target}
    else:
        percent = as_number(here.at("targetPercent"), objective["targetPercent"])
        if not 0 < percent < 100:
            fail(here.at("targetPercent"), f"must be between 0 and 100 exclusive, got {percent}")
        fields = {"objective_percent": percent}
    sli = dict(metric.sli)
    if not metric.threshold:
        extra = [k for k in ("op", "value", "timeSliceTarget", "timeSliceWindow") if k in objective]
        if extra:
            raise InvalidInput(
                [
                    (
                        location(here.at(key)),
                        "only with a thresholdMetric budgeted by Timeslices: a ratio's "
                        "objective is its target alone; leave it out",
                    )
                    for key in extra
                ]
            )
        return fields, shown, sli
    for key in ("op", "value"):
        if key not in objective:
            fail(here.at(key), "required with a thresholdMetric")
    op = objective["op"]
    if not isinstance(op, str) or op not in OPS:
        fail(here.at("op"), f"{op!r}: give one of {', '.join(OPS)}")
    threshold = as_number(here.at("value"), objective["value"])
    if not math.isfinite(threshold):
        fail(here.at("value"), "must be a finite number")
    if "timeSliceTarget" in objective:
        share = as_number(here.at("timeSliceTarget"), objective["timeSliceTarget"])
        if not 0 < share <= 1:
            fail(here.at("timeSliceTarget"), f"must be in (0, 1], got {share}")
    if "timeSliceWindow" in objective:
        read_slice_window(here.at("timeSliceWindow"), objective["timeSliceWindow"], bucket)
    sli.update(op=OPS[op], threshold=threshold)
    return fields, shown, sli


def check_unused(doc: Doc) -> None:
    """The problems of an SLI document no SLO uses (it is refused for that, and its own
    problems are named with it), its metric read without a budgeting method."""
    problems: list[Problem] = []
    collect(problems, _keep, doc.here, doc.body["metadata"], doc.body["spec"], "SLI", Kept())
    try:
        read_metric(doc.here.at("spec"), doc.body["spec"], None, doc.here)
    except InvalidInput as exc:
        problems += exc.problems
    if problems:
        raise InvalidInput(problems)
