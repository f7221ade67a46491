"""The indicator and objectives of an OpenSLO SLO, read as slo-service's SLI.

A ``ratioMetric`` of Prometheus counters is a ratio SLI (a query is read as its series
selector); a ``thresholdMetric`` budgeted by Timeslices is a threshold SLI that each objective
completes with its ``op`` and ``value``. ``latency_sli`` reads a histogram's bucket-over-count
ratio as a latency SLI when an annotation asks for it.
"""

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from slo_service.domain.promql import Selector, check_expression, parse_selector
from slo_service.integrations.openslo.common import API_VERSION, OPS
from slo_service.integrations.openslo.read_documents import Index
from slo_service.integrations.openslo.read_fields import (
    Here,
    as_mapping,
    as_number,
    as_string,
    as_text,
    check_keys,
    fail,
)
from slo_service.integrations.openslo.read_windows import read_slice_window


@dataclass(frozen=True)
class Metric:
    """The SLI as far as the indicator says: a ratio, or a threshold query awaiting its op."""

    sli: dict[str, Any]
    threshold: bool
    here: Here


def read_indicator(here: Here, spec: Mapping[str, Any], index: Index) -> tuple[Here, Any]:
    """The SLI spec of an SLO's ``spec`` (inline ``indicator``, or the SLI document its
    ``indicatorRef`` names), and where it is."""
    if ("indicator" in spec) == ("indicatorRef" in spec):
        fail(here.at("spec", "indicator"), "give indicator or indicatorRef (one of them)")
    if "indicatorRef" in spec:
        ref = as_string(here.at("spec", "indicatorRef"), spec["indicatorRef"])
        found = index.find("SLI", ref)
        if found is None:
            fail(here.at("spec", "indicatorRef"), f"no SLI document is named {ref!r}")
        check_keys(found.here.at("metadata"), found.body["metadata"], {"name"}, text="an SLI")
        return found.here.at("spec"), found.body["spec"]
    at = here.at("spec", "indicator")
    inline = as_mapping(at, spec["indicator"])
    check_keys(at, inline, {"apiVersion", "kind", "metadata", "spec"}, required=("spec",))
    if inline.get("kind", "SLI") != "SLI":
        fail(at.at("kind"), "an inline indicator is of kind SLI")
    if "apiVersion" in inline and inline["apiVersion"] != API_VERSION:
        fail(at.at("apiVersion"), f"give {API_VERSION}")
    if "metadata" in inline:
        check_keys(
            at.at("metadata"),
            as_mapping(at.at("metadata"), inline["metadata"]),
            {"name"},
            text="an SLI",
        )
    return at.at("spec"), inline["spec"]


def read_metric(here: Here, value: Any, method: str, method_here: Here) -> Metric:
    """The SLI spec's metric, checked against the SLO's ``budgetingMethod``."""
    spec = as_mapping(here, value)
    check_keys(here, spec, {"ratioMetric", "thresholdMetric"}, text="an SLI")
    if ("ratioMetric" in spec) == ("thresholdMetric" in spec):
        fail(here, "give ratioMetric or thresholdMetric (one of them)")
    if "thresholdMetric" in spec:
        if method != "Timeslices":
            fail(method_here, f"{method}: slo-service budgets a thresholdMetric by Timeslices")
        at = here.at("thresholdMetric")
        threshold = as_mapping(at, spec["thresholdMetric"])
        check_keys(at, threshold, {"metricSource"}, required=("metricSource",))
        query_at, query = _query(at.at("metricSource"), threshold["metricSource"])
        try:
            check_expression(query)
        except ValueError as exc:
            fail(query_at, str(exc))
        return Metric(
            {"source": "prometheus", "type": "threshold", "query": query.strip()},
            threshold=True,
            here=query_at,
        )
    if method != "Occurrences":
        fail(
            method_here,
            f"{method} with a ratioMetric (slices judged by their event ratio): not supported; "
            "use Occurrences",
        )
    at = here.at("ratioMetric")
    ratio = as_mapping(at, spec["ratioMetric"])
    check_keys(at, ratio, {"counter", "good", "bad", "total"}, required=("total",))
    if ratio.get("counter") is not True:
        fail(at.at("counter"), "slo-service counts events of counters: set counter: true")
    if ("good" in ratio) == ("bad" in ratio):
        fail(at, "give good or bad (one of them) beside total")
    counted = "good" if "good" in ratio else "bad"
    sli: dict[str, Any] = {"source": "prometheus", "type": "ratio"}
    for part in (counted, "total"):
        part_at = at.at(part)
        source = as_mapping(part_at, ratio[part])
        check_keys(part_at, source, {"metricSource"}, required=("metricSource",))
        query_at, query = _query(part_at.at("metricSource"), source["metricSource"])
        sli[part] = _counter_selector(query_at, query)
    return Metric(sli, threshold=False, here=at)


def _query(here: Here, value: Any) -> tuple[Here, str]:
    """The Prometheus query of a ``metricSource``, and where it is."""
    source = as_mapping(here, value)
    check_keys(here, source, {"type", "spec"}, required=("type", "spec"))
    kind = source["type"]
    if not isinstance(kind, str) or kind.lower() != "prometheus":
        fail(here.at("type"), f"{kind!r}: slo-service reads Prometheus only; give Prometheus")
    spec = as_mapping(here.at("spec"), source["spec"])
    check_keys(here.at("spec"), spec, {"query"}, required=("query",))
    return here.at("spec", "query"), as_string(here.at("spec", "query"), spec["query"])


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
        for key in ("op", "value", "timeSliceTarget", "timeSliceWindow"):
            if key in objective:
                fail(here.at(key), "only with a thresholdMetric budgeted by Timeslices")
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
