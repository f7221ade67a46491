"""OpenSLO, lenient where the spec is: the metadata the spec allows on every kind is kept, an
alertAfter means what the spec says, every problem of a document is reported at once, and the
example files of examples/openslo are applied (or refused, each with its messages)."""

from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine
from typer.testing import CliRunner

from slo_service.cli import app
from slo_service.integrations.openslo.read import from_openslo
from slo_service.integrations.openslo.write import dump, to_openslo
from tests.integrations.test_openslo import (
    BY_REF,
    CONDITION_DOC,
    POLICY,
    SLI_DOC,
    Doc,
    columns,
    edit,
    meaning,
    native,
    problems,
    slo_doc,
)
from tests.test_cli import slo_names

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "openslo"
runner = CliRunner()


def one(documents: list[Any]) -> dict[str, Any]:
    (body,) = from_openslo(documents)
    columns(body)  # and the native side takes it
    return body


# --- metadata on every kind ------------------------------------------------------------------


def with_metadata(doc: Doc, name: str, **metadata: Any) -> Doc:
    return edit(doc, "metadata", {"name": name, **metadata})


def test_metadata_of_every_document_of_an_slo_is_kept() -> None:
    service = {
        "apiVersion": "openslo/v1",
        "kind": "Service",
        "metadata": {
            "name": "churn-model",
            "displayName": "Churn model",
            "labels": {"team": ["ml", "data"]},
            "annotations": {"openslo.com/service-folder": "./ml"},
        },
        "spec": {"description": "Predicts churn"},
    }
    slo = with_metadata(
        edit(BY_REF, "spec.alertPolicies", [{"alertPolicyRef": "burn"}]),
        "availability",
        displayName="Availability",
        labels={"tier": "1", "team": "ml,data"},
        annotations={"example.com/runbook": "https://runbooks/churn"},
    )
    slo = edit(slo, "spec.description", "Predictions that do not fail")
    sli = edit(
        with_metadata(SLI_DOC, "good-ratio", displayName="Good", labels={"component": "api"}),
        "spec.description",
        "Not an error",
    )
    policy = edit(
        with_metadata(POLICY, "burn", displayName="Burn", labels={"env": ["prod"]}),
        "spec.description",
        "Pages",
    )
    condition = edit(
        with_metadata(
            CONDITION_DOC,
            "fast",
            displayName="Fast burn",
            annotations={"example.com/owner": "sre"},
        ),
        "spec.description",
        "An hour at 14.4",
    )
    body = one([service, slo, sli, policy, condition])
    assert body["labels"] == {
        "tier": "1",
        "team": "ml,data",
        "example.com/runbook": "https://runbooks/churn",
        "openslo.com/service-folder": "./ml",
        "component": "api",
        "env": "prod",
        "example.com/owner": "sre",
    }
    assert body["description"].split("\n") == [
        "Availability — Predictions that do not fail",
        "Service churn-model: Churn model — Predicts churn",
        "SLI good-ratio: Good — Not an error",
        "AlertPolicy burn: Burn — Pages",
        "AlertCondition fast: Fast burn — An hour at 14.4",
    ]


def test_inline_documents_keep_their_metadata_too() -> None:
    condition = {
        "kind": "AlertCondition",
        "metadata": {"name": "fast", "displayName": "Fast", "labels": {"env": "prod"}},
        "spec": {"description": "An hour", "severity": "page", "condition": CONDITION},
    }
    policy = {
        "kind": "AlertPolicy",
        "metadata": {"name": "inline", "labels": {"team": "ml"}},
        "spec": {"description": "Inline", "conditions": [condition]},
    }
    doc = edit(slo_doc(alertPolicies=[policy]), "spec.indicator.metadata.displayName", "Ratio")
    doc = edit(doc, "spec.indicator.spec.description", "Good over total")
    body = one([doc])
    assert body["labels"] == {"team": "ml", "env": "prod"}
    assert body["description"].split("\n") == [
        "SLI good-ratio: Ratio — Good over total",
        "AlertPolicy inline: Inline",
        "AlertCondition fast: Fast — An hour",
    ]


def test_a_policy_shared_by_two_slos_gives_each_its_labels() -> None:
    second = with_metadata(edit(slo_doc(), "spec.alertPolicies", ["burn"]), "latency")
    first = edit(slo_doc(), "spec.alertPolicies", ["burn"])
    policy = with_metadata(POLICY, "burn", labels={"env": "prod"})
    bodies = from_openslo([first, second, policy, CONDITION_DOC])
    assert [b["labels"] for b in bodies] == [{"env": "prod"}, {"env": "prod"}]


def test_the_same_problem_of_a_shared_document_is_reported_once() -> None:
    second = with_metadata(edit(slo_doc(), "spec.alertPolicies", ["burn"]), "latency")
    first = edit(slo_doc(), "spec.alertPolicies", ["burn"])
    bad = edit(CONDITION_DOC, "spec.condition.alertAfter", "2h")
    found = problems([first, second, POLICY, bad])
    assert len(found) == 1
    assert found[0].startswith(
        "document 4 (AlertCondition fast), spec.condition.alertAfter: its hold"
    )


# --- alertAfter and the short window ---------------------------------------------------------

CONDITION = {"kind": "burnrate", "op": "gt", "threshold": 2, "lookbackWindow": "1h"}


def tier_of(condition: dict[str, Any], annotations: dict[str, str] | None = None) -> Any:
    metadata: dict[str, Any] = {"name": "c"}
    if annotations:
        metadata["annotations"] = annotations
    inline = {
        "kind": "AlertPolicy",
        "metadata": {"name": "p"},
        "spec": {
            "conditions": [
                {
                    "kind": "AlertCondition",
                    "metadata": metadata,
                    "spec": {"severity": "page", "condition": condition},
                }
            ]
        },
    }
    (tier,) = one([slo_doc(alertPolicies=[inline])])["alerting"]["tiers"]
    return tier


SHORT_WINDOWS = [
    ("1h", "5m"),
    ("6h", "30m"),
    ("1d", "2h"),
    ("3d", "6h"),
    ("30m", "3m"),
    ("2m", "1m"),
]


@pytest.mark.parametrize(("lookback", "short"), SHORT_WINDOWS, ids=[w for w, _ in SHORT_WINDOWS])
def test_the_short_window_is_a_twelfth_of_the_lookback(lookback: str, short: str) -> None:
    tier = tier_of({**CONDITION, "lookbackWindow": lookback})
    assert (tier["long_window"], tier["short_window"]) == (lookback, short)


NO_TIME = ["0m", "0", 0, "0h", "00m"]


@pytest.mark.parametrize("alert_after", NO_TIME, ids=[repr(a) for a in NO_TIME])
def test_an_alert_after_of_no_time_is_taken(alert_after: Any) -> None:
    tier = tier_of({**CONDITION, "alertAfter": alert_after})
    assert tier == {"severity": "page", "long_window": "1h", "short_window": "5m", "factor": 2.0}


@pytest.mark.parametrize(("alert_after", "hold"), [("5m", "5m"), ("1h", "1h"), ("30m", "30m")])
def test_alert_after_is_the_tier_s_hold(alert_after: str, hold: str) -> None:
    tier = tier_of({**CONDITION, "alertAfter": alert_after})
    assert tier == {"severity": "page", "long_window": "1h", "short_window": "5m", "factor": 2.0,
                    "hold": hold}  # fmt: skip


def test_gte_is_a_burn_rate_above_the_threshold_too() -> None:
    assert tier_of({**CONDITION, "op": "gte"})["factor"] == 2.0


def test_the_short_window_annotation_sets_the_short_window() -> None:
    tier = tier_of(CONDITION, {"slo-service.io/short-window": "2m"})
    assert tier["short_window"] == "2m"


def test_a_tier_round_trips_with_its_short_window_and_its_hold() -> None:
    tiers = [
        {"severity": "page", "long_window": "1h", "short_window": "2m", "factor": 14.4},
        {"severity": "ticket", "long_window": "3d", "short_window": "6h", "factor": 1.0,
         "hold": "30m"},
    ]  # fmt: skip
    before = columns(native("a", "availability", alerting={"enabled": True, "tiers": tiers}))
    documents = to_openslo(before)
    conditions = [c for policy in documents[1:] for c in policy["spec"]["conditions"]]
    assert [c["spec"]["condition"]["alertAfter"] for c in conditions] == ["0m", "30m"]
    assert [c["metadata"]["annotations"] for c in conditions] == [
        {"slo-service.io/short-window": "2m"},
        {"slo-service.io/short-window": "6h"},
    ]
    (back,) = from_openslo(list(yaml.safe_load_all(dump(documents))))
    assert back["alerting"]["tiers"] == tiers


# --- every problem of a document at once -----------------------------------------------------


def test_every_problem_of_one_slo_is_reported_at_once() -> None:
    doc = edit(slo_doc(service="Churn"), "metadata.labels", {"team": 3})
    doc = edit(doc, "spec.timeWindow", [{"duration": "1Q", "calendar": {}}])
    doc = edit(doc, "spec.indicator.spec.ratioMetric.counter", False)
    doc = edit(doc, "spec.objectives", [{"target": 1.5}, {"target": 0.9, "op": "gt"}])
    doc = edit(doc, "spec.alertPolicies", ["nope"])
    assert [line.split(": ")[0] for line in problems([doc])] == [
        "document 1 (SLO availability), metadata.labels.team",
        "document 1 (SLO availability), spec.service",
        "document 1 (SLO availability), spec.timeWindow[0].duration",
        "document 1 (SLO availability), spec.indicator.spec.ratioMetric.counter",
        "document 1 (SLO availability), spec.alertPolicies[0]",
        "document 1 (SLO availability), spec.objectives[0].target",
        "document 1 (SLO availability), spec.objectives[1].op",
    ]


def test_every_condition_of_a_policy_is_reported_at_once() -> None:
    policy = edit(POLICY, "spec.conditions", [{"conditionRef": "fast"}, {"conditionRef": "slow"}])
    policy = edit(policy, "spec.alertWhenNoData", "always")
    slow = with_metadata(edit(CONDITION_DOC, "spec.condition.op", "lt"), "slow")
    fast = edit(CONDITION_DOC, "spec.condition.alertAfter", "2h")
    found = problems([slo_doc(alertPolicies=["burn"]), policy, fast, slow])
    assert [line.split(": ")[0] for line in found] == [
        "document 3 (AlertCondition fast), spec.condition.alertAfter",
        "document 4 (AlertCondition slow), spec.condition.op",
        "document 2 (AlertPolicy burn), spec.alertWhenNoData",
    ]


def test_a_document_no_slo_uses_is_checked_too() -> None:
    condition = edit(CONDITION_DOC, "spec.condition.op", "lte")
    sli = edit(SLI_DOC, "spec.ratioMetric.good.metricSource.type", "Datadog")
    sli = edit(sli, "spec.ratioMetric.good.metricSource.metricSourceRef", "Datadog EU")
    found = problems([slo_doc(), sli, condition])
    good = "document 2 (SLI good-ratio), spec.ratioMetric.good.metricSource"
    assert [line.split(": ")[0] for line in found] == [
        "document 2 (SLI good-ratio)",
        f"{good}.type",
        f"{good}.metricSourceRef",
        "document 3 (AlertCondition fast)",
        "document 3 (AlertCondition fast), spec.condition.op",
    ]
    assert found[0].endswith(
        "no SLO uses it: slo-service keeps SLIs and alert policies only as parts of SLOs"
    )


# --- the example files -----------------------------------------------------------------------


def test_the_web_shop_example_applies_keeping_its_metadata(env: dict[str, str], db: Engine) -> None:
    path = EXAMPLES / "web-shop.yaml"
    result = runner.invoke(app, ["apply", "-f", str(path)])
    assert result.exit_code == 0, result.output
    assert slo_names(db) == ["web-shop:search-availability", "web-shop:search-latency"]
    bodies = {b["name"]: b for b in from_openslo(list(yaml.safe_load_all(path.read_text())))}
    availability = bodies["search-availability"]
    assert availability["labels"] == {
        "env": "prod",
        "tier": "1",
        "example.com/runbook": "https://runbooks.example.com/search",
        "team": "shop-frontend,shop-search",
        "component": "search",
        "example.com/dashboard": "https://grafana.example.com/d/search",
    }
    assert availability["description"].split("\n")[:2] == [
        "Search availability — 99.5% of searches succeed over four weeks — Searches succeed",
        "Service web-shop: Web shop — The shop's public web front",
    ]
    assert availability["alerting"]["tiers"] == [
        {"severity": "ticket", "long_window": "6h", "short_window": "30m", "factor": 6.0},
        {"severity": "page", "long_window": "1h", "short_window": "2m", "factor": 14.4},
    ]
    latency = bodies["search-latency"]
    assert (latency["window"], latency["timezone"]) == ("week", "Europe/Paris")
    assert latency["sli"]["op"] == "<"
    for body in bodies.values():  # what was kept survives the round trip
        before = columns(body)
        (back,) = from_openslo(list(yaml.safe_load_all(dump(to_openslo(before)))))
        assert meaning(columns(back)) == meaning(before)


REFUSED: list[tuple[str, list[str]]] = [
    (
        "alert-conditions.yaml",
        [
            "document 1 (AlertCondition search-held-burn), spec.condition.alertAfter: its "
            "hold (2h) is longer than its long window (1h): a burn that lasts that long is the "
            "next tier's to catch; shorten the hold",
            "document 2 (AlertCondition search-low-burn), spec.condition.op: 'lte': a "
            "slo-service tier fires while the burn rate is above its threshold; a condition on "
            "a burn rate at or under it would fire while the SLO is met: give gt",
        ],
    ),
    (
        "calendar-timeslices.yaml",
        [
            "document 1 (SLO web-availability), spec.timeWindow[0].calendar.startTime: "
            "2022-01-01 12:00:00 is not the start of a week: slo-service's weeks start on a "
            "Monday at 00:00 in the time zone; give e.g. 2024-01-01 00:00:00",
            "document 1 (SLO web-availability), spec.budgetingMethod: Timeslices with a "
            "ratioMetric (slices judged by their event ratio): not supported: slo-service "
            "budgets a ratio by its events; use Occurrences",
            "document 1 (SLO web-availability), spec.objectives[0].op: only with a "
            "thresholdMetric budgeted by Timeslices: a ratio's objective is its target alone; "
            "leave it out",
            "document 1 (SLO web-availability), spec.objectives[0].timeSliceTarget: only with a "
            "thresholdMetric budgeted by Timeslices: a ratio's objective is its target alone; "
            "leave it out",
            "document 1 (SLO web-availability), spec.objectives[0].timeSliceWindow: only with a "
            "thresholdMetric budgeted by Timeslices: a ratio's objective is its target alone; "
            "leave it out",
        ],
    ),
    (
        "data-source.yaml",
        [
            "document 1 (DataSource shop-prometheus), kind: DataSource: not supported: "
            "slo-service reads metrics from the Prometheus-compatible datasources of its own "
            "configuration (SLO_DATASOURCES_FILE, or SLO_PROMETHEUS_URL as 'default') and keeps "
            "no connection details in SLO files; leave the DataSource out and name one of those "
            "datasources in the SLI's metricSourceRef (or leave it out: default)",
            "document 2 (SLO cart), spec.indicator.spec.ratioMetric: good (or bad) and total "
            "come from one datasource in slo-service: give them the same metricSourceRef",
        ],
    ),
    (
        "notification-targets.yaml",
        [
            "document 1 (AlertNotificationTarget shop-on-call), kind: AlertNotificationTarget: "
            "not supported: slo-service sends alerts by its notification routes "
            "(/api/v1/notification-routes)",
            "document 2 (AlertPolicy shop-pages), spec.notificationTargets: not supported: "
            "slo-service sends alerts by its notification routes (/api/v1/notification-routes); "
            "leave notificationTargets out or empty",
        ],
    ),
    (
        "other-sources.yaml",
        [
            *(
                f"document 1 (SLI search-hits), spec.ratioMetric.{part}.metricSource.type: "
                "'Datadog': slo-service reads Prometheus only (and what answers its query API: "
                "Thanos, Mimir, Cortex, VictoriaMetrics); give type: Prometheus with a PromQL "
                "spec.query"
                for part in ("good", "total")
            ),
            "document 2 (SLI wifi-satisfaction), spec.ratioMetric.rawType: not supported: "
            "slo-service counts good (or bad) and total events",
            "document 2 (SLI wifi-satisfaction), spec.ratioMetric.raw: not supported: "
            "slo-service counts good (or bad) and total events; a precomputed ratio cannot be "
            "budgeted by occurrences",
        ],
    ),
    (
        "ratio-timeslices.yaml",
        [
            "document 1 (SLO home-page), spec.budgetingMethod: RatioTimeslices: not supported: "
            "slo-service does not judge time slices by the ratio of their events; use "
            "Occurrences for a ratioMetric (every event counts), or Timeslices with a "
            "thresholdMetric",
        ],
    ),
    (
        "v1alpha.yaml",
        [
            "document 1 (SLO checkout), apiVersion: 'openslo/v1alpha': the spec's earlier draft "
            "(timeWindow as unit and count, objectives with ratioMetrics of their own); "
            "slo-service reads openslo/v1: rewrite the file in v1",
        ],
    ),
]


def test_every_refused_example_is_tested() -> None:
    assert sorted(p.name for p in (EXAMPLES / "refused").glob("*.yaml")) == [r[0] for r in REFUSED]


@pytest.mark.parametrize(("name", "messages"), REFUSED, ids=[r[0] for r in REFUSED])
def test_a_refused_example_names_every_problem(name: str, messages: list[str]) -> None:
    assert problems(list(yaml.safe_load_all((EXAMPLES / "refused" / name).read_text()))) == (
        messages
    )


def test_apply_refuses_a_refused_example_with_its_messages(env: dict[str, str], db: Engine) -> None:
    name, messages = REFUSED[0]
    result = runner.invoke(app, ["apply", "-f", str(EXAMPLES / "refused" / name)])
    assert result.exit_code == 1
    flat = " ".join(result.output.split())
    for message in messages:
        assert " ".join(message.split()) in flat
    assert slo_names(db) == []
