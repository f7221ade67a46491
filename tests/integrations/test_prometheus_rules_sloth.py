"""``rules export --labels sloth``: Sloth's labels and its extra recordings, checked by the real
promtool (check rules; test rules on values computed here by hand, and against every selector
of Sloth's two Grafana dashboards), a real Alertmanager, and the CLI's option and setting.

Long because it holds the hand-written list of the dashboards' selectors next to the checks
that read it; the helpers it shares come from test_prometheus_rules."""

from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import Engine

from slo_service import __version__
from slo_service.cli.rules import rules_app
from slo_service.integrations.prometheus_rules import build, common, sloth
from slo_service.integrations.prometheus_rules import files as rule_files
from slo_service.integrations.prometheus_rules.labels import NATIVE, SLOTH, LabelSet
from slo_service.models import SLO
from tests.integrations.test_prometheus_rules import (
    ALERTING,
    AVAILABILITY,
    BASE_URL,
    LATENCY,
    alertmanager,
    cli_env,  # noqa: F401 (a fixture)
    every_kind,
    loopback_config,
    make_slo,
    passes,
    render_templates,
    run,
    runner,
    store,
    wait_until,
)

SLOTH_NAMES = {"sloth_id", "sloth_service", "sloth_slo"}


def groups_of(slo: SLO, labels: LabelSet = SLOTH) -> list[common.Group]:
    found = build.slo_groups(slo, base_url=BASE_URL, labels=labels)
    assert isinstance(found, list)
    return found


def rules_of(slo: SLO, labels: LabelSet = SLOTH) -> list[dict[str, Any]]:
    return [rule for group in groups_of(slo, labels) for rule in group["rules"]]


# --- what the rules say (no I/O) ---


def test_sloth_labels_replace_ours_on_every_rule() -> None:
    slo = make_slo(4, labels={"team": "ml", "sloth_id": "mine", "slo_name": "kept"})
    rules = rules_of(slo)
    identity = {"sloth_id": "churn-model-availability", "sloth_service": "churn-model",
                "sloth_slo": "availability"}  # fmt: skip
    for rule in rules:
        labels = rule["labels"]
        # Sloth's names are reserved: the SLO's own sloth_id is left out; ours are not.
        assert {k: v for k, v in labels.items() if k in SLOTH_NAMES} == (
            identity if "record" in rule or rule["alert"] == "SLONoData"
            else {k: identity[k] for k in ("sloth_service", "sloth_slo")}
        )  # fmt: skip
        assert not {"slo_id", "slo_service", "slo_window"} & set(labels)
        # A burn alert has the SLO's labels from its expression, which keeps the recordings'.
        assert labels.get("slo_name") == ("kept" if rule.get("alert") != "SLOBurnRate" else None)
        assert "slo_service=" not in rule["expr"]
        assert "slo_window" not in rule["expr"]
    ratios = [r for r in rules if r.get("record", "").startswith("slo:sli_error:ratio_rate")]
    assert [r["labels"]["sloth_window"] for r in ratios] == [
        "5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"
    ]  # fmt: skip
    page, ticket, no_data = (r for r in rules if "alert" in r)
    assert page["labels"] == {"severity": "page", "sloth_severity": "page", **{
        "sloth_service": "churn-model", "sloth_slo": "availability"}}  # fmt: skip
    assert ticket["labels"]["sloth_severity"] == "ticket"
    assert "max without (sloth_window) (slo:sli_error:ratio_rate1h{sloth_service=" \
        '"churn-model",sloth_slo="availability"} > (14.4 * 0.001))' in page["expr"]  # fmt: skip
    # The no-data ticket is not a burn alert: Sloth's dashboards count those by sloth_severity.
    assert "sloth_severity" not in no_data["labels"]


def test_sloths_recordings_follow_ours_in_the_recordings_group() -> None:
    slo = make_slo(labels={"team": "ml"})
    native = [r["record"] for r in groups_of(slo, NATIVE)[0]["rules"]]
    (recorded, _) = groups_of(slo)
    assert [r["record"] for r in recorded["rules"]] == [
        *native,
        "slo:current_burn_rate:ratio",
        "slo:period_burn_rate:ratio",
        "slo:period_error_budget_remaining:ratio",
        "sloth_slo_info",
    ]
    by_name = {r["record"]: r for r in recorded["rules"]}
    matchers = '{sloth_id="churn-model-availability",sloth_service="churn-model",' \
        'sloth_slo="availability"}'  # fmt: skip
    assert by_name["slo:period_burn_rate:ratio"]["expr"] == (
        f"slo:sli_error:ratio_rate30d{matchers}\n"
        "/ on(sloth_id, sloth_slo, sloth_service) group_left\n"
        f"slo:error_budget:ratio{matchers}"
    )
    assert by_name["slo:period_error_budget_remaining:ratio"]["expr"] == (
        f"1 - slo:period_burn_rate:ratio{matchers}"
    )
    assert by_name["sloth_slo_info"]["labels"] == {
        "sloth_id": "churn-model-availability", "sloth_service": "churn-model",
        "sloth_slo": "availability", "team": "ml", "sloth_objective": "99.9",
        "sloth_version": __version__, "sloth_mode": "slo-service", "sloth_spec": "slo-service/v1",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "window"),
    [
        ({}, "5m"),  # the workbook's fastest page tier: 1h/5m
        ({"window": "7d"}, "1m"),  # scaled: 14m/1m
        ({"alerting": {"enabled": False}}, "5m"),  # no tier
        (
            {"alerting": {"tiers": [
                {"severity": "ticket", "long_window": "1h", "short_window": "2m", "factor": 9},
                {"severity": "page", "long_window": "6h", "short_window": "20m", "factor": 6},
                {"severity": "page", "long_window": "2h", "short_window": "10m", "factor": 9},
            ]}},
            "10m",
        ),  # the page tier of the shortest long window, a ticket tier is no page
    ],
    ids=["30d", "7d", "no-alerting", "own-tiers"],
)  # fmt: skip
def test_the_current_burn_rate_is_over_the_fastest_page_tiers_short_window(
    spec: dict[str, Any], window: str
) -> None:
    rules = rules_of(make_slo(**spec))
    (current,) = [r for r in rules if r.get("record") == "slo:current_burn_rate:ratio"]
    assert current["expr"].startswith(f"slo:sli_error:ratio_rate{window}{{")
    recorded = {r["record"] for r in rules if "record" in r}
    assert f"slo:sli_error:ratio_rate{window}" in recorded


def test_native_labels_have_none_of_sloths() -> None:
    rules = rules_of(make_slo(), NATIVE)
    assert not [r for r in rules if SLOTH_NAMES & set(r["labels"]) or "sloth" in r["expr"]]
    assert not [r for r in rules if r.get("record", "").startswith(("slo:current", "sloth"))]


# --- the real promtool ---


def test_promtool_accepts_the_sloth_rules_of_every_kind(tmp_path: Path) -> None:
    result = build.export(every_kind(), base_url=BASE_URL, labels=SLOTH)
    for service, groups in result.groups.items():
        path = tmp_path / f"{service}.rules.yml"
        path.write_text(rule_files.render(service, groups))
        checked = run("promtool", "check", "rules", "--lint-fatal", path)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        # Per SLO with rules, the four of Sloth's recordings more than ours.
        native = build.export([s for s in every_kind() if s.service == service],
                              base_url=BASE_URL).groups[service]  # fmt: skip
        count = sum(len(group["rules"]) for group in native) + 4 * len(native_slos(native))
        assert f"SUCCESS: {count} rules found" in checked.stdout


def native_slos(groups: list[common.Group]) -> list[str]:
    return [g["name"] for g in groups if g["name"].endswith("-sli-recordings")]


def expr_test(tmp_path: Path, slo: SLO, labels: LabelSet, *, series: dict[str, str],
              every: int, tests: list[dict[str, Any]]) -> Any:  # fmt: skip
    """``promtool test rules`` of the SLO's rules, evaluated every minute on ``series``
    sampled every ``every`` seconds, with ``promql_expr_test`` entries ``tests``."""
    groups = groups_of(slo, labels)
    (tmp_path / "slo.rules.yml").write_text(rule_files.render(slo.service, groups))
    test = {
        "rule_files": ["slo.rules.yml"],
        "evaluation_interval": "1m",
        "group_eval_order": [group["name"] for group in groups],
        "tests": [
            {
                "interval": f"{every}s",
                "input_series": [{"series": s, "values": v} for s, v in series.items()],
                "promql_expr_test": tests,
            }
        ],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test, sort_keys=False, width=1000))
    return run("promtool", "test", "rules", tmp_path / "test.yml")


# A 87.5% SLO (error budget 0.125) over 30d, of a ratio SLI read from two counters, sampled
# every minute from 0: 1200 requests a minute for 90 minutes; none failed for the first 45,
# then 75 a minute. Prometheus divides by a window's seconds as a product with their inverse,
# which is inexact: the numbers are chosen so that every ratio is a power of 2, exact in
# binary whatever the rounding of the rates it divides.
BUDGET_SLO: dict[str, Any] = {
    "service": "checkout",
    "name": "requests",
    "objective": 0.875,
    "sli": {"bad": 'requests_failed_total{job="api"}', "total": 'requests_total{job="api"}'},
}
BUDGET_SERIES = {
    'requests_total{job="api"}': "0+1200x90",
    'requests_failed_total{job="api"}': "0x45 75+75x44",
}
IDENTITY = 'sloth_id="checkout-requests",sloth_service="checkout",sloth_slo="requests"'


def sample(record: str, value: float, window: str | None = None) -> dict[str, Any]:
    labels = IDENTITY + (f',sloth_window="{window}"' if window else "")
    return {"labels": f"{record}{{{labels}}}", "value": value}


def at(minute: int, record: str, *samples: dict[str, Any]) -> dict[str, Any]:
    return {"expr": record, "eval_time": f"{minute}m", "exp_samples": list(samples)}


def budget_checks(minute: int, current: float, period: float) -> list[dict[str, Any]]:
    """The expected burn rates at ``minute``; the remaining budget is 1 - the period's."""
    return [
        at(minute, "slo:current_burn_rate:ratio",
           sample("slo:current_burn_rate:ratio", current, "5m")),
        at(minute, "slo:period_burn_rate:ratio",
           sample("slo:period_burn_rate:ratio", period, "30d")),
        at(minute, "slo:period_error_budget_remaining:ratio",
           sample("slo:period_error_budget_remaining:ratio", 1 - period, "30d")),
    ]  # fmt: skip


def test_promtool_computes_sloths_recordings_as_worked_out_by_hand(tmp_path: Path) -> None:
    """At 45m nothing failed: burn rates 0, the whole budget left. At 60m, over the last 5m,
    375 of 6000 requests failed: 0.0625, half the budget of 0.125 (a burn rate of 0.5); over
    the 30d window (the 60 minutes there are), 1125 of 72000: 1/64, a burn rate of 0.125, so
    0.875 of the budget is left. At 90m the last 5m are the same; over 30d, 3375 of 108000:
    1/32, a burn rate of 0.25, 0.75 left. Like Sloth's, the burn rates keep the window of
    the ratio they divide."""
    slo = make_slo(7, **BUDGET_SLO)
    info = {"labels": f'sloth_slo_info{{{IDENTITY},sloth_mode="slo-service",'
            f'sloth_objective="87.5",sloth_spec="slo-service/v1",'
            f'sloth_version="{__version__}"}}', "value": 1}  # fmt: skip
    checks = [
        *budget_checks(45, current=0, period=0),
        *budget_checks(60, current=0.5, period=0.125),
        *budget_checks(90, current=0.5, period=0.25),
        at(90, "slo:sli_error:ratio_rate5m", sample("slo:sli_error:ratio_rate5m", 0.0625, "5m")),
        at(90, "slo:sli_error:ratio_rate30d", sample("slo:sli_error:ratio_rate30d", 1 / 32, "30d")),
        at(90, "slo:error_budget:ratio", sample("slo:error_budget:ratio", 0.125)),
        at(90, "slo:objective:ratio", sample("slo:objective:ratio", 0.875)),
        at(90, "slo:time_period:days", sample("slo:time_period:days", 30)),
        at(90, "sloth_slo_info", info),
    ]
    found = expr_test(tmp_path, slo, SLOTH, series=BUDGET_SERIES, every=60, tests=checks)
    assert passes(found)
    # The same expectations fail where the numbers differ: 150 failed a minute, not 75.
    more = {**BUDGET_SERIES, 'requests_failed_total{job="api"}': "0x45 150+150x44"}
    assert not passes(expr_test(tmp_path, slo, SLOTH, series=more, every=60, tests=checks))


# Every selector of Sloth's Grafana dashboards, written out by hand from their queries:
# "High level Sloth SLOs" (grafana.com 14643) and "SLO / Detail" (14348), with the detail
# dashboard's variables for one SLO ($service, $slo) and each value of its $sli_window
# (5m 30m 1h 2h 6h 1d 3d 30d). Each with the labels its query, legend, variables or table
# read of the series it selects (label_values(), {{sloth_id}}, on(sloth_id)...).
SVC, SLO_NAME = "fraud-model", "availability"
ONE = f'sloth_service="{SVC}", sloth_slo="{SLO_NAME}"'
DASHBOARD_SELECTORS: list[tuple[str, set[str]]] = [
    # high level
    ("sloth_slo_info", {"sloth_service"}),  # count(), count(max() by (sloth_service))
    ("slo:current_burn_rate:ratio", {"sloth_id", "sloth_service", "sloth_slo"}),
    ('ALERTS{sloth_id!="",sloth_severity="ticket"}', set()),
    ('ALERTS{sloth_id!="",sloth_severity="page"}', set()),
    ("slo:period_error_budget_remaining:ratio", {"sloth_id"}),
    # detail: the variables, then the panels of one SLO
    ("slo:objective:ratio", {"sloth_service"}),
    (f'slo:objective:ratio{{sloth_service="{SVC}"}}', {"sloth_slo"}),
    (f"slo:objective:ratio{{{ONE}}}", {"sloth_id"}),
    *((f"slo:sli_error:ratio_rate{w}{{{ONE}}}", set())
      for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d")),
    (f"sloth_slo_info{{{ONE}}}", {"sloth_objective"}),
    (f"slo:current_burn_rate:ratio{{{ONE}}}", set()),
    (f"slo:sli_error:ratio_rate1h{{{ONE}}}", {"sloth_id"}),  # the month's burn chart
    (f"slo:error_budget:ratio{{{ONE}}}", {"sloth_id"}),  # ... divided on(sloth_id)
    (f"slo:period_error_budget_remaining:ratio{{{ONE}}}", set()),
    (f'ALERTS{{{ONE}, sloth_severity="ticket"}}', set()),
    (f'ALERTS{{{ONE}, sloth_severity="page"}}', set()),
]  # fmt: skip
LABEL_VALUES = {
    "sloth_id": f"{SVC}-{SLO_NAME}", "sloth_service": SVC, "sloth_slo": SLO_NAME,
    "sloth_objective": "99.9",
}  # fmt: skip


def selector_checks(minute: int) -> list[dict[str, Any]]:
    """Each selector finds one series of the SLO, with the labels the dashboards read."""
    checks = []
    for selector, labels in DASHBOARD_SELECTORS:
        by = ", ".join(sorted(labels))
        values = ",".join(f'{name}="{LABEL_VALUES[name]}"' for name in sorted(labels))
        checks.append(at(minute, f"count by ({by}) ({selector})",
                         {"labels": f"{{{values}}}", "value": 1}))  # fmt: skip
    return checks


def test_promtool_every_selector_of_sloths_dashboards_finds_the_slo(tmp_path: Path) -> None:
    """A 99.9% 30d SLO after three clean hours and 30 minutes at 10% errors: page (1h/5m) and
    ticket (3d/6h: 1.4% of the requests there failed) fire, and every selector of the
    dashboards finds one series of it, with the labels they read. Our native labels fail the
    same checks."""
    slo = make_slo(3, service=SVC, sli={"bad": 'p_total{status="error"}', "total": "p_total"})
    clean = 180
    series = {
        'p_total{status="ok"}': f"0+1000x{clean} {clean * 1000 + 900}+900x29",
        'p_total{status="error"}': f"0x{clean} 100+100x29",
    }
    assert len(DASHBOARD_SELECTORS) == 23
    checks = selector_checks(clean + 30)
    found = expr_test(tmp_path, slo, SLOTH, series=series, every=60, tests=checks)
    assert passes(found)
    assert not passes(expr_test(tmp_path, slo, NATIVE, series=series, every=60, tests=checks))


# --- the real Alertmanager, with alerting/alertmanager.yml ---


def sloth_inhibition(tmp_path: Path, config: dict[str, Any], closed_url: str) -> dict[str, Any]:
    """Post the page, burn ticket and no-data ticket of one SLO and the burn ticket of another,
    all with Sloth's labels, to a real Alertmanager with ``config``; what it lists then."""
    tmp_path.mkdir()
    first, other = make_slo(1), make_slo(2, **LATENCY)
    page, ticket, no_data = (r for r in rules_of(first) if "alert" in r)
    _, other_ticket, _ = (r for r in rules_of(other) if "alert" in r)
    sent = {
        "page": (first, page), "ticket": (first, ticket), "no data": (first, no_data),
        "other ticket": (other, other_ticket),
    }  # fmt: skip
    posted = {
        name: {"labels": {"alertname": a["alert"], "sloth_id": f"{slo.service}-{slo.name}",
                          **a["labels"]}, "annotations": a["annotations"]}
        for name, (slo, a) in sent.items()
    }  # fmt: skip
    with alertmanager(tmp_path, loopback_config(config, tmp_path, closed_url)) as url:
        done = httpx.post(f"{url}/api/v2/alerts", json=list(posted.values()), timeout=10)
        assert done.status_code == 200, done.text

        def listed() -> dict[str, Any]:
            found = httpx.get(f"{url}/api/v2/alerts", timeout=10).json()
            return {name: next(a for a in found if a["labels"] == alert["labels"])
                    for name, alert in posted.items()}  # fmt: skip

        wait_until(lambda: listed()["ticket"]["status"]["state"] == "suppressed",
                   what="the inhibition")  # fmt: skip
        return listed()


def test_alertmanager_keeps_slos_apart_with_sloths_labels(
    tmp_path: Path, closed_port_url: str
) -> None:
    """The committed config inhibits on both label sets: with Sloth's, a page holds back the
    burn ticket of its own SLO only, as with ours. Inhibiting on our labels alone would hold
    back every SLO's ticket (none has them: all equal), which this check sees."""
    config = yaml.safe_load((ALERTING / "alertmanager.yml").read_text())
    found = sloth_inhibition(tmp_path / "both", config, closed_port_url)
    assert found["ticket"]["status"]["inhibitedBy"] == [found["page"]["fingerprint"]]
    for name in ("page", "no data", "other ticket"):
        assert found[name]["status"]["state"] == "active", name
    (rule,) = config["inhibit_rules"]
    rule["equal"] = ["slo_service", "slo_name"]
    found = sloth_inhibition(tmp_path / "ours", config, closed_port_url)
    assert found["other ticket"]["status"]["inhibitedBy"] == [found["page"]["fingerprint"]]


def test_alertmanager_templates_name_the_slo_of_sloths_labels(tmp_path: Path) -> None:
    page = next(r for r in rules_of(make_slo()) if r.get("alert"))
    rendered = render_templates(tmp_path, page)
    assert rendered["pd.details.service"] == "churn-model"
    assert rendered["pd.details.slo"] == "availability"
    assert rendered["slack.title"] == "[FIRING] churn-model availability: error budget burning"


# --- the CLI ---


def test_rules_export_labels_sloth_by_option_or_setting(
    cli_env: Engine,  # noqa: F811 (the fixture)
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (churn,) = store(cli_env, {**AVAILABILITY, "service": "churn-model"})
    expected = rule_files.render(
        "churn-model",
        build.export([churn], base_url="https://slo.example.com/", labels=SLOTH).groups[
            "churn-model"
        ],
    )
    by_option = tmp_path / "option"
    result = runner.invoke(rules_app, ["export", "--out", str(by_option), "--labels", "sloth"])
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote {by_option}/churn-model.rules.yml: 22 rules in 2 groups\n"
    assert (by_option / "churn-model.rules.yml").read_text() == expected
    monkeypatch.setenv("SLO_RULES_LABELS", "sloth")
    by_setting = tmp_path / "setting"
    assert runner.invoke(rules_app, ["export", "--out", str(by_setting)]).exit_code == 0
    assert (by_setting / "churn-model.rules.yml").read_text() == expected
    # The option wins over the setting; native is the default.
    native = tmp_path / "native"
    assert runner.invoke(rules_app, ["export", "--out", str(native), "--labels", "native"]
                         ).exit_code == 0  # fmt: skip
    assert "slo_service: churn-model" in (native / "churn-model.rules.yml").read_text()
    assert "sloth" not in (native / "churn-model.rules.yml").read_text()
    monkeypatch.setenv("SLO_RULES_LABELS", "prometheus")
    refused = runner.invoke(rules_app, ["export", "--out", str(tmp_path / "no")])
    assert refused.exit_code == 2
    assert "'prometheus' is not one of 'native', 'sloth'" in refused.output
    assert not (tmp_path / "no").exists()
    assert sloth.CURRENT_BURN_RATE in expected
