"""Sloth in: the mapping of its prometheus/v1 spec and PrometheusServiceLevel resource to native
SLOs, each refusal with its message, and ``slo-service apply -f`` of the examples end to end."""

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine
from typer.testing import CliRunner

from slo_service.app import create_app
from slo_service.cli import app
from slo_service.config import Settings
from slo_service.errors import InvalidInput, format_loc
from slo_service.integrations.sloth.read import convert
from slo_service.schemas.slo import SLOCreate
from slo_service.services import apply as apply_service
from slo_service.services import slos
from slo_service.sources.base import NoQueryChecker
from tests.support.servers import serve_in_thread
from tests.test_cli import slo_names

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "sloth"
SPEC_FILE = EXAMPLES / "getting-started.yml"
RESOURCE_FILE = EXAMPLES / "k8s-getting-started.yml"
ERRORS = 'sum(rate(http_requests_total{job="api",code=~"5.."}[{{.window}}]))'
TOTAL = 'sum(rate(http_requests_total{job="api"}[{{.window}}]))'
T = 'http_requests_total{job="api"}'
Doc = dict[str, Any]
Headers = dict[str, str]
runner = CliRunner()

PAGE_TIERS = [
    {"severity": "page", "long_window": "1h", "short_window": "5m", "factor": 14.4},
    {"severity": "page", "long_window": "6h", "short_window": "30m", "factor": 6.0},
]
TICKET_TIERS = [
    {"severity": "ticket", "long_window": "1d", "short_window": "2h", "factor": 3.0},
    {"severity": "ticket", "long_window": "3d", "short_window": "6h", "factor": 1.0},
]
AT = "document 1 (Sloth service api), slos[0]"
COUNTER_HELP = (
    "slo-service counts events itself: give sum(rate(SELECTOR[{{.window}}])) of one counter "
    "(rate or increase, with or without sum), e.g. "
    'sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))'
)
ERROR_HELP = COUNTER_HELP + ", or TOTAL - GOOD of two such terms"
RAW_HELP = (
    "slo-service counts bad and total events, so an error ratio is read only as BAD / TOTAL "
    "or 1 - (GOOD / TOTAL) of counters' rates (sum(rate(SELECTOR[{{.window}}])) of one "
    "counter (rate or increase, with or without sum)); give sli.events (error_query and "
    "total_query) instead"
)
FORMATS = (
    "native SLOs (no apiVersion), OpenSLO v1 (apiVersion: openslo/v1) and Sloth (version: "
    "prometheus/v1, or apiVersion: sloth.slok.dev/v1 with kind PrometheusServiceLevel)"
)


def spec(**slo: Any) -> Doc:
    """A prometheus/v1 spec of one SLO: 5xx over all requests of the api, 99.9%."""
    return {
        "version": "prometheus/v1",
        "service": "api",
        "slos": [
            {
                "name": "availability",
                "objective": 99.9,
                "sli": {"events": {"error_query": ERRORS, "total_query": TOTAL}},
                **slo,
            }
        ],
    }


def resource(**slo: Any) -> Doc:
    """The same SLO as a Kubernetes PrometheusServiceLevel (camelCase fields)."""
    body = spec(**{"sli": {"events": {"errorQuery": ERRORS, "totalQuery": TOTAL}}, **slo})
    del body["version"]
    return {
        "apiVersion": "sloth.slok.dev/v1",
        "kind": "PrometheusServiceLevel",
        "metadata": {"name": "api-slos", "namespace": "monitoring"},
        "spec": body,
    }


def one(documents: list[Doc]) -> Doc:
    [(_, body)] = convert(documents)
    return body


def problems(documents: list[Any]) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        convert(documents)
    return [f"{format_loc(loc)}: {reason}" for loc, reason in caught.value.problems]


def edited(doc: Doc, change: Callable[[Doc], Any]) -> Doc:
    doc = copy.deepcopy(doc)
    change(doc)
    return doc


def test_the_spec_example_maps_every_field() -> None:
    items = apply_service.parse_yaml(SPEC_FILE.read_text())
    assert [item.where for item in items] == [
        "document 1 (Sloth service checkout), slos[0]",
        "document 1 (Sloth service checkout), slos[1]",
    ]
    availability, latency = (dict(item.spec) for item in items)
    assert availability == {
        "service": "checkout",
        "name": "requests-availability",
        "description": "Checkout requests answered without a server error.",
        "labels": {
            "owner": "payments-team",
            "tier": "1",
            "category": "availability",
            "alert_name": "CheckoutHighErrorRate",
            "annotation.summary": "Checkout is failing requests",
            "runbook_url": "https://runbooks.example.com/checkout/errors",
            "page.severity": "critical",
            "page.routing_key": "payments",
            "ticket.severity": "warning",
            "ticket.slack_channel": "#payments-alerts",
        },
        "kind": "custom",
        "objective_percent": 99.9,
        "window": "30d",
        "sli": {
            "source": "prometheus",
            "type": "ratio",
            "bad": 'http_requests_total{job="checkout",code=~"(5..|429)"}',
            "total": 'http_requests_total{job="checkout"}',
        },
    }
    assert latency["sli"] == {
        "source": "prometheus",
        "type": "ratio",
        "good": 'http_request_duration_seconds_bucket{job="checkout",le="0.3"}',
        "total": 'http_request_duration_seconds_count{job="checkout"}',
    }
    assert latency["alerting"] == {"tiers": PAGE_TIERS}
    assert latency["labels"] == {
        "owner": "payments-team",
        "tier": "1",
        "category": "latency",
        "alert_name": "CheckoutSlowRequests",
        "page.severity": "critical",
    }
    for item in items:  # what the converter gives is what the API stores
        slos.prepare(SLOCreate.model_validate(dict(item.spec)), NoQueryChecker())


def test_the_resource_example_reads_camel_case_and_a_raw_ratio() -> None:
    items = apply_service.parse_yaml(RESOURCE_FILE.read_text())
    assert [item.where for item in items] == [
        "document 1 (PrometheusServiceLevel sloth-slo-search), spec.slos[0]",
        "document 1 (PrometheusServiceLevel sloth-slo-search), spec.slos[1]",
    ]
    queries, freshness = (dict(item.spec) for item in items)
    assert queries["sli"] == {
        "source": "prometheus",
        "type": "ratio",
        "bad": 'search_queries_total{status="error"}',
        "total": "search_queries_total",
    }
    assert queries["labels"]["runbook_url"] == "https://runbooks.example.com/search/errors"
    assert "alerting" not in queries
    assert freshness["sli"]["bad"] == 'search_index_updates_total{result="failed"}'
    assert freshness["alerting"] == {"tiers": TICKET_TIERS}
    assert freshness["objective_percent"] == 99.0


def test_both_formats_give_the_same_slo() -> None:
    assert (
        one([spec()])
        == one([resource()])
        == {
            "service": "api",
            "name": "availability",
            "kind": "custom",
            "objective_percent": 99.9,
            "window": "30d",
            "sli": {
                "source": "prometheus",
                "type": "ratio",
                "bad": 'http_requests_total{job="api",code=~"5.."}',
                "total": 'http_requests_total{job="api"}',
            },
        }
    )


@pytest.mark.parametrize(
    ("alerting", "expected"),
    [
        (None, None),
        ({"name": "ApiErrors"}, None),
        ({"page_alert": {"disable": False}, "ticket_alert": {}}, None),
        ({"page_alert": {"disable": True}}, {"tiers": TICKET_TIERS}),
        ({"ticket_alert": {"disable": True}}, {"tiers": PAGE_TIERS}),
        ({"pageAlert": {"disable": True}, "ticketAlert": {"disable": True}}, {"enabled": False}),
        ({"page_alert": {"disable": True}, "ticket_alert": {"disable": True}}, {"enabled": False}),
        # An alert's for is the hold of its severity's tiers.
        ({"page_alert": {"for": "5m"}},
         {"tiers": [{**t, "hold": "5m"} for t in PAGE_TIERS] + TICKET_TIERS}),
        ({"page_alert": {"for": "0m"}}, None),
        ({"page_alert": {"disable": True}, "ticket_alert": {"for": "30m"}},
         {"tiers": [{**t, "hold": "30m"} for t in TICKET_TIERS]}),
    ],
)  # fmt: skip
def test_disabled_alerts_leave_the_other_severitys_tiers(
    alerting: Doc | None, expected: Doc | None
) -> None:
    body = one([spec(**({"alerting": alerting} if alerting is not None else {}))])
    assert body.get("alerting") == expected


def test_labels_merge_as_sloth_merges_them() -> None:
    doc = spec(
        labels={"tier": "1", "team": "web"},
        alerting={
            "name": "ApiErrors",
            "labels": {"team": "web", "category": "availability"},
            "annotations": {"runbook": "https://r.example.com", "title": "Errors"},
            "page_alert": {"labels": {"severity": "critical"}, "annotations": {"note": "n"}},
            "ticket_alert": {"labels": {"channel": "#web", "ack": True, "level": 2}},
        },
    )
    doc["labels"] = {"tier": "2", "owner": "web-team"}
    assert one([doc])["labels"] == {
        "tier": "1",  # the SLO's label wins over the service's, as in Sloth
        "owner": "web-team",
        "team": "web",
        "alert_name": "ApiErrors",
        "category": "availability",
        "runbook_url": "https://r.example.com",
        "annotation.title": "Errors",
        "page.severity": "critical",
        "page.annotation.note": "n",
        "ticket.channel": "#web",
        "ticket.ack": "true",
        "ticket.level": "2",
    }


@pytest.mark.parametrize(
    ("error_query", "total_query", "expected"),
    [
        ("rate(e[{{.window}}])", "rate(t[{{.window}}])", {"bad": "e", "total": "t"}),
        ("increase(e[{{ .window }}])", "sum(increase(t[{{.window}}]))", {"bad": "e", "total": "t"}),
        ("sum(rate(e[{{.window}}])) or vector(0)", TOTAL, {"bad": "e", "total": T}),
        ("(sum(rate(e[{{.window}}])) OR on() vector(0))", TOTAL, {"bad": "e", "total": T}),
        (
            '((sum (rate(e{a=~"x|y-z"}[{{.window}}]))))',
            "(sum(rate(t[{{.window}}])))",
            {"bad": 'e{a=~"x|y-z"}', "total": "t"},
        ),
        (
            'sum(rate(t[{{.window}}])) - sum(rate(t{le="0.5"}[{{.window}}]))',
            "sum(rate(t[{{.window}}]))",
            {"good": 't{le="0.5"}', "total": "t"},
        ),
    ],
)
def test_event_queries_read_as_selectors(error_query: str, total_query: str, expected: Doc) -> None:
    events = {"error_query": error_query, "total_query": total_query}
    sli = one([spec(sli={"events": events})])["sli"]
    assert sli == {"source": "prometheus", "type": "ratio", **expected}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sum(rate(e[{{.window}}])) / sum(rate(t[{{.window}}]))", {"bad": "e", "total": "t"}),
        (
            "1 - (sum(rate(g[{{.window}}])) / sum(rate(t[{{.window}}])))",
            {"good": "g", "total": "t"},
        ),
        (
            "(rate(t[{{.window}}]) - rate(g[{{.window}}])) / rate(t[{{.window}}])",
            {"good": "g", "total": "t"},
        ),
    ],
)
def test_a_raw_ratio_of_counters_is_read(query: str, expected: Doc) -> None:
    for key in ("errorRatioQuery", "error_ratio_query"):
        sli = one([spec(sli={"raw": {key: query}})])["sli"]
        assert sli == {"source": "prometheus", "type": "ratio", **expected}


def events(error: str = ERRORS, total: str = TOTAL) -> Doc:
    return {"sli": {"events": {"error_query": error, "total_query": total}}}


REFUSALS: list[tuple[str, Doc, list[str]]] = [
    (
        "sli-plugin",
        spec(sli={"plugin": {"id": "sloth-common/availability", "options": {}}}),
        [
            f"{AT}.sli.plugin: not supported: a Sloth SLI plugin is Go code that Sloth runs, "
            "which slo-service cannot; write the plugin's queries as sli.events (error_query "
            "and total_query)"
        ],
    ),
    (
        "slo-plugins",
        edited(spec(), lambda d: d.update(slo_plugins={"chain": []})),
        [
            "document 1 (Sloth service api), slo_plugins: not supported: SLO plugins are Go "
            "code that Sloth runs on its rules, which slo-service cannot; leave them out"
        ],
    ),
    (
        "raw-average-of-a-gauge",
        spec(
            sli={
                "raw": {
                    "errorRatioQuery": "1 - (sum(sum_over_time(wifi_ratio[{{.window}}])) "
                    "/ sum(count_over_time(wifi_ratio[{{.window}}])))"
                }
            }
        ),
        [
            f"{AT}.sli.raw.errorRatioQuery: not read: count_over_time(...) is not rate(...) or "
            f"increase(...); {RAW_HELP}"
        ],
    ),
    (
        "raw-not-a-quotient",
        spec(sli={"raw": {"errorRatioQuery": "avg_over_time(error_ratio[{{.window}}])"}}),
        [
            f"{AT}.sli.raw.errorRatioQuery: not read: it is not a quotient of counted events "
            f"(BAD / TOTAL); {RAW_HELP}"
        ],
    ),
    (
        "sum-by",
        spec(**events(error='sum by (code) (rate(e{code=~"5.."}[{{.window}}]))')),
        [
            f"{AT}.sli.events.error_query: not read: sum by/without keeps series apart, and "
            f"slo-service counts them all together; {ERROR_HELP}"
        ],
    ),
    (
        "fixed-range",
        spec(**events(error="sum(rate(e[5m]))")),
        [
            f"{AT}.sli.events.error_query: not read: the range is [5m], not [{{{{.window}}}}]; "
            f"{ERROR_HELP}"
        ],
    ),
    (
        "not-a-rate",
        spec(**events(total="sum(t)")),
        [
            f"{AT}.sli.events.total_query: not read: t is not rate(...) or increase(...) of a "
            f"counter; {COUNTER_HELP}"
        ],
    ),
    (
        "difference-not-from-total",
        spec(**events(error="sum(rate(a[{{.window}}])) - sum(rate(b[{{.window}}]))")),
        [
            f"{AT}.sli.events.error_query: not read: a difference is read as TOTAL - GOOD, and "
            f'its TOTAL (a) is not the total_query counter (http_requests_total{{job="api"}}); '
            f"{ERROR_HELP}"
        ],
    ),
    (
        "arithmetic",
        spec(**events(error="sum(rate(e[{{.window}}])) / 2")),
        [
            f"{AT}.sli.events.error_query: not read: it joins terms with /; only one - between "
            f"two terms is read; {ERROR_HELP}"
        ],
    ),
    (
        "a-gauge-counted-over-time",
        spec(
            **events(
                error="sum_over_time((count(wifi_ratio < 0.75))[{{.window}}:]) OR on() vector(0)"
            )
        ),
        [
            f"{AT}.sli.events.error_query: not read: sum_over_time(...) is not rate(...) or "
            f"increase(...); {ERROR_HELP}"
        ],
    ),
    (
        "or-another-vector",
        spec(**events(error="sum(rate(e[{{.window}}])) or vector(1)")),
        [
            f"{AT}.sli.events.error_query: not read: it joins terms with or; only one - "
            f"between two terms is read; {ERROR_HELP}"
        ],
    ),
    (
        "objective-100",
        spec(objective=100),
        [f"{AT}.objective: 100 leaves no error budget: give an objective below 100"],
    ),
    (
        "objective-text",
        spec(objective="99.9"),
        [f"{AT}.objective: '99.9' is not a number"],
    ),
    (
        "name-not-a-slug",
        spec(name="Availability"),
        [
            f"{AT}.name: 'Availability' is not a slug, as an SLO's name in slo-service is: use "
            "1-63 lowercase letters, digits, '-' or '_', starting and ending with a letter or "
            "digit"
        ],
    ),
    (
        "alert-for-not-a-duration",
        spec(alerting={"name": "X", "page_alert": {"for": "soon"}}),
        [
            f"{AT}.alerting.page_alert.for: 'soon' is not a duration: use a whole number and a "
            "unit m, h, d or w, e.g. 5m or 6h"
        ],
    ),
    (
        "alerting-disable",
        spec(alerting={"disable": True}),
        [
            f"{AT}.alerting.disable: not supported: Sloth disables each alert; give "
            "page_alert.disable and ticket_alert.disable (true)"
        ],
    ),
    (
        "disable-not-a-bool",
        spec(alerting={"ticket_alert": {"disable": "yes"}}),
        [f"{AT}.alerting.ticket_alert.disable: give true or false"],
    ),
    (
        "conflicting-labels",
        spec(labels={"category": "a"}, alerting={"labels": {"category": "b"}}),
        [
            f"{AT}.alerting.labels.category: slo-service keeps it as the label category='b', "
            f"but {AT}.labels.category gives category='a': an SLO has one value per label; "
            "make them equal or leave one out"
        ],
    ),
    (
        "annotation-not-a-label-key",
        spec(alerting={"annotations": {"see also": "x"}}),
        [
            f"{AT}.alerting.annotations.see also: slo-service keeps it as the label "
            "'annotation.see also', which is not a label key: start with a letter or '_', "
            "then letters, digits, '_./-', at most 63 characters"
        ],
    ),
    (
        "both-spellings",
        spec(sli={"events": {"error_query": ERRORS, "errorQuery": ERRORS, "total_query": TOTAL}}),
        [f"{AT}.sli.events.errorQuery: the same field as error_query: give one of them"],
    ),
    (
        "events-and-raw",
        spec(sli={"events": {"error_query": ERRORS, "total_query": TOTAL}, "raw": {}}),
        [f"{AT}.sli: give one of events and raw"],
    ),
    (
        "missing-fields",
        {"version": "prometheus/v1", "service": "api", "slos": [{"name": "a", "sli": {}}]},
        [
            f"{AT}.objective: required",
            f"{AT}.sli: give one of events and raw",
        ],
    ),
    (
        "unknown-field",
        spec(window="28d"),
        [f"{AT}.window: not supported"],
    ),
    (
        "other-version",
        edited(spec(), lambda d: d.update(version="prometheus/v2")),
        ["document 1 (Sloth service api), version: 'prometheus/v2': give prometheus/v1"],
    ),
    (
        "other-kind",
        edited(resource(), lambda d: d.update(kind="PrometheusServiceLevelList")),
        [
            "document 1 (PrometheusServiceLevel api-slos), kind: 'PrometheusServiceLevelList': "
            "give PrometheusServiceLevel"
        ],
    ),
    (
        "long-label-value",
        edited(spec(), lambda d: d.update(labels={"owner": "x" * 300})),
        [
            "document 1 (Sloth service api), labels.owner: 300 characters: slo-service keeps "
            "it as a label value, at most 256 characters; shorten it"
        ],
    ),
]


@pytest.mark.parametrize(
    ("documents", "expected"),
    [pytest.param([doc], expected, id=name) for name, doc, expected in REFUSALS],
)
def test_refusals_name_the_field_and_why(documents: list[Doc], expected: list[str]) -> None:
    assert problems(documents) == expected


def test_every_problem_of_the_file_is_reported_at_once() -> None:
    first = spec(objective=100, alerting={"disable": True})
    second = resource(name="Bad", sli={"plugin": {"id": "x"}})
    assert [line.split(":")[0] for line in problems([first, second])] == [
        f"{AT}.alerting.disable",
        f"{AT}.objective",
        "document 2 (PrometheusServiceLevel api-slos), spec.slos[0].name",
        "document 2 (PrometheusServiceLevel api-slos), spec.slos[0].sli.plugin",
    ]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (  # another OpenSLO version: the OpenSLO reader says what to change
            {"apiVersion": "openslo/v1alpha", "kind": "SLO", "metadata": {"name": "x"}},
            "document 1 (SLO x), apiVersion: 'openslo/v1alpha': the spec's earlier draft "
            "(timeWindow as unit and count, objectives with ratioMetrics of their own); "
            "slo-service reads openslo/v1: rewrite the file in v1",
        ),
        (
            {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule"},
            f"document 1.apiVersion: 'monitoring.coreos.com/v1' is not a format slo-service "
            f"reads; it reads {FORMATS}",
        ),
        (
            {"version": "v2", "service": "api"},
            f"document 1.version: 'v2' is not a format slo-service reads; it reads {FORMATS}",
        ),
    ],
)
def test_an_unknown_format_names_the_formats_read(document: Doc, expected: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        apply_service.parse_yaml(yaml.safe_dump(document))
    assert str(caught.value) == expected


def test_a_file_mixing_sloth_and_native_is_refused() -> None:
    native = {"service": "api", "name": "x", "kind": "availability", "objective": 0.9}
    with pytest.raises(InvalidInput) as caught:
        apply_service.parse_yaml(yaml.safe_dump_all([spec(), native]))
    assert str(caught.value) == (
        "document 2: not Sloth: a file holds native SLOs, OpenSLO documents or Sloth documents "
        "(version: prometheus/v1, or apiVersion: sloth.slok.dev/v1 with kind "
        "PrometheusServiceLevel), one format"
    )


@pytest.fixture
def real_prometheus(
    env: dict[str, str], prometheus_url: str, monkeypatch: pytest.MonkeyPatch
) -> str:
    """The CLI's environment with a real Prometheus, which checks the converted queries."""
    monkeypatch.setenv("SLO_PROMETHEUS_URL", prometheus_url)
    return prometheus_url


def test_apply_the_examples_dry_run_apply_and_prune(
    real_prometheus: str, db: Engine, tmp_path: Path
) -> None:
    plan = runner.invoke(app, ["apply", "-f", str(SPEC_FILE), "--dry-run"])
    assert plan.exit_code == 0, plan.output
    assert plan.output.splitlines() == [
        "+ create checkout:requests-availability",
        "+ create checkout:requests-latency",
        "2 create, 0 update, 0 delete, 0 unchanged (dry run: nothing written)",
    ]
    assert slo_names(db) == []
    for path in (SPEC_FILE, RESOURCE_FILE):
        applied = runner.invoke(app, ["apply", "-f", str(path)])
        assert applied.exit_code == 0, applied.output
    assert slo_names(db) == [
        "checkout:requests-availability",
        "checkout:requests-latency",
        "search:index-freshness",
        "search:queries-availability",
    ]
    again = runner.invoke(app, ["apply", "-f", str(SPEC_FILE), "--prune"])
    assert again.exit_code == 0, again.output
    assert "0 create, 0 update, 0 delete, 2 unchanged" in again.output

    document = yaml.safe_load(SPEC_FILE.read_text())
    document["slos"] = document["slos"][:1]
    document["slos"][0]["objective"] = 99.5
    smaller = tmp_path / "smaller.yml"
    smaller.write_text(yaml.safe_dump(document))
    pruned = runner.invoke(app, ["apply", "-f", str(smaller), "--prune", "--dry-run"])
    assert pruned.exit_code == 0, pruned.output
    assert "- delete checkout:requests-latency" in pruned.output
    assert "0 create, 1 update, 1 delete, 0 unchanged (dry run" in pruned.output
    assert len(slo_names(db)) == 4
    pruned = runner.invoke(app, ["apply", "-f", str(smaller), "--prune"])
    assert pruned.exit_code == 0, pruned.output
    assert slo_names(db) == [
        "checkout:requests-availability",
        "search:index-freshness",
        "search:queries-availability",
    ]


def test_apply_of_a_bad_sloth_file_writes_nothing(
    real_prometheus: str, db: Engine, tmp_path: Path
) -> None:
    document = yaml.safe_load(SPEC_FILE.read_text())
    document["slos"][1]["sli"] = {"plugin": {"id": "sloth-common/latency", "options": {}}}
    document["slos"][0]["objective"] = 100
    path = tmp_path / "bad.yml"
    path.write_text(yaml.safe_dump(document))
    result = runner.invoke(app, ["apply", "-f", str(path)])
    assert result.exit_code == 1
    assert "document 1 (Sloth service checkout), slos[0].objective: 100 leaves" in result.output
    assert "document 1 (Sloth service checkout), slos[1].sli.plugin: not supported" in (
        result.output
    )
    assert slo_names(db) == []


def test_prometheus_checks_the_converted_queries(
    real_prometheus: str, db: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "empty-matcher.yml"
    path.write_text(yaml.safe_dump(spec(**events(error='sum(rate({code=~".*"}[{{.window}}]))'))))
    result = runner.invoke(app, ["apply", "-f", str(path)])
    assert result.exit_code == 1
    assert f"{AT}.sli.bad: " in result.output
    assert "at least one non-empty matcher" in result.output
    assert slo_names(db) == []


def test_apply_through_a_server_converts_on_the_client(
    real_prometheus: str, db: Engine, make_token: Callable[..., Headers]
) -> None:
    token = make_token("write", name="deployer")["Authorization"].removeprefix("Bearer ")
    with serve_in_thread(create_app(Settings())) as url:
        command = ["apply", "-f", str(RESOURCE_FILE), "--url", url, "--token", token]
        result = runner.invoke(app, command)
        assert result.exit_code == 0, result.output
        assert "2 create, 0 update, 0 delete, 0 unchanged" in result.output
        again = runner.invoke(app, [*command, "--prune"])
        assert "0 create, 0 update, 0 delete, 2 unchanged" in again.output, again.output
    assert slo_names(db) == ["search:index-freshness", "search:queries-availability"]
