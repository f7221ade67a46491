"""Native SLOs to OpenSLO v1 documents: pure conversion, no I/O. ``to_openslo`` writes one SLO (as
the API answers it) as an SLO document with an inline indicator and an AlertPolicy per severity
of its burn-rate tiers; what OpenSLO has no field for goes into slo-service's annotations
(``common``), so that ``read`` takes the documents back as the same SLO. ``dump`` renders the
documents as YAML. The mapping is ``read``'s, the other way. A tier's ``factor`` is written as
its ``threshold``, its long window as ``lookbackWindow``, its short window in the condition's
annotation ``slo-service.io/short-window``, and its hold as ``alertAfter`` (``0m`` without one).
A tier of an older SLO, stored as ``budget_spent`` (the share of the budget spent in its long
window), writes its factor, ``burn.factor_of_share(budget_spent, long_window, period)`` to 15
significant digits (0.02 over 1h of 30d is 14.4), and comes back as that ``factor``. An SLO
without tiers of its own writes no AlertPolicy but the annotation ``slo-service.io/alerting:
default``, whatever its window: the default tiers are scaled again on the way back in, so they
stay the defaults.
"""

import json
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import yaml

from slo_service.domain.alert_settings import NEVER
from slo_service.domain.burn import factor_of_share, nominal_length
from slo_service.domain.kinds import Kind
from slo_service.domain.promql import Selector, parse_selector
from slo_service.domain.sli import DEFAULT_DATASOURCE
from slo_service.domain.windows import format_duration, parse_duration, parse_window
from slo_service.errors import InvalidInput
from slo_service.integrations.openslo.common import (
    ALERTING_ANNOTATION,
    API_VERSION,
    CALENDAR_DURATIONS,
    CALENDAR_START,
    DEFAULT_BUCKET_SECONDS,
    DURATION_UNITS,
    GATE_ANNOTATION,
    KIND_ANNOTATION,
    MIN_EVENTS_ANNOTATION,
    NO_DATA_ANNOTATION,
    NO_DATA_FOR_ANNOTATION,
    OPENSLO_OPS,
    PARAMS_ANNOTATION,
    SHORT_WINDOW_ANNOTATION,
    SLI_TYPE_ANNOTATION,
)


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
    if sli.get("source") in ("drift_store", "prediction_log"):
        store = "drift store" if sli["source"] == "drift_store" else "prediction log"
        raise InvalidInput.at(
            ("sli", "source"),
            f"cannot be expressed in OpenSLO: its SLI is read from slo-service's {store}",
        )
    notes: dict[str, str] = {}
    if slo["kind"] != Kind.CUSTOM.value:
        notes[KIND_ANNOTATION] = str(slo["kind"])
        if slo.get("params"):
            notes[PARAMS_ANNOTATION] = json.dumps(slo["params"], sort_keys=True)
    datasource = sli.get("datasource")
    objective: dict[str, Any] = {**_target(slo["objective"])}
    if sli["type"] == "threshold":
        if sli["op"] not in OPENSLO_OPS:
            raise InvalidInput.at(
                ("sli", "op"),
                f"cannot be expressed in OpenSLO: its threshold compares with {sli['op']}",
            )
        metric: dict[str, Any] = {"thresholdMetric": _source(sli["query"], datasource)}
        method = "Timeslices"
        objective.update(
            op=OPENSLO_OPS[sli["op"]],
            value=sli["threshold"],
            timeSliceTarget=1,
            timeSliceWindow=format_duration(timedelta(seconds=bucket_seconds), DURATION_UNITS),
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
        sources = {k: _source(q, datasource) for k, q in parts.items()}
        metric = {"ratioMetric": {"counter": True, **sources}}
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


def _source(query: str, datasource: str | None) -> dict[str, Any]:
    """A Prometheus ``metricSource`` of ``query``, naming its datasource unless the default."""
    ref = {"metricSourceRef": datasource} if datasource and datasource != DEFAULT_DATASOURCE else {}
    return {"metricSource": {**ref, "type": "Prometheus", "spec": {"query": query}}}


def _target(objective: float) -> dict[str, float]:
    """``target``, or ``targetPercent`` when the fraction came from a percentage (99.9 / 100 is
    0.9990000000000001): the form that reads back as the same float, and reads well."""
    if _tidy(objective) == objective:
        return {"target": objective}
    percent = round(objective * 100, 10)
    return {"targetPercent": percent} if percent / 100 == objective else {"target": objective}


def _window(window: str, timezone: str) -> dict[str, Any]:
    """The ``timeWindow`` item of a native window: rolling, or a calendar 1M or 1w."""
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
            "alertAfter": tier.get("hold") or "0m",
        }
        metadata = {
            "name": f"{base}-{tier['severity']}-{long_window}-{short_window}",
            "annotations": {SHORT_WINDOW_ANNOTATION: short_window},
        }
        by_severity.setdefault(tier["severity"], []).append(
            {
                "kind": "AlertCondition",
                "metadata": metadata,
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
                # slo-service's no-data ticket, on unless the SLO turns it off.
                "alertWhenNoData": (slo.get("alerting") or {}).get("no_data_for") != NEVER,
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


def _tidy(value: float) -> float:
    """12 significant digits: the short form of a float that arithmetic left ragged."""
    return float(f"{value:.12g}")


def _number_text(value: float) -> str:
    """A number as an annotation's text: ``5`` for 5.0, else the float's shortest form."""
    return repr(float(value)).removesuffix(".0")
