"""Prometheus rules of SLOs: expressions and factors, then the real promtool and amtool on the
generated files and on alerting/, and ``rules export`` against both backends."""

import json
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine
from typer.testing import CliRunner

from slo_service.cli import app
from slo_service.cli_rules import rules_app
from slo_service.db import session_scope
from slo_service.domain.burn import DEFAULT_TIERS
from slo_service.domain.sli import SLI_ADAPTER
from slo_service.exporters import prometheus_rules as rules
from slo_service.models import SLO
from slo_service.schemas import SLOCreate
from slo_service.services import slos
from slo_service.sources.base import NoQueryChecker

ALERTING = Path(__file__).resolve().parents[2] / "alerting"
BASE_URL = "http://127.0.0.1:8000"
runner = CliRunner()


def make_slo(slo_id: int = 1, **spec: Any) -> SLO:
    """An SLO row as ``apply`` would store it (availability of churn-model unless told)."""
    fields = {"service": "churn-model", "name": "availability", "kind": "availability"}
    data = SLOCreate.model_validate({**fields, "objective": 0.999, **spec})
    return SLO(**slos.prepare(data, NoQueryChecker()), id=slo_id)


def groups_of(slo: SLO) -> list[rules.Group]:
    found = rules.slo_groups(slo, base_url=BASE_URL)
    assert isinstance(found, list)
    return found


def alerts_of(slo: SLO) -> list[dict[str, Any]]:
    return [rule for group in groups_of(slo) for rule in group["rules"] if "alert" in rule]


def run(*command: str | Path) -> subprocess.CompletedProcess[str]:
    binary = shutil.which(str(command[0]))
    assert binary, f"{command[0]} not found: apt-get install prometheus prometheus-alertmanager"
    args = [binary, *map(str, command[1:])]
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


# --- expressions, factors, tiers (no I/O) ---

HISTOGRAM = 'ml_prediction_duration_seconds{model_name="churn"}'


@pytest.mark.parametrize(
    ("sli", "expected"),
    [
        (
            {"type": "ratio", "bad": 'req_total{code=~"5.."}', "total": "req_total"},
            'sum(rate(req_total{code=~"5.."}[1h])) / sum(rate(req_total[1h]))',
        ),
        (
            {"type": "ratio", "good": 'req_total{code!~"5.."}', "total": "req_total"},
            '1 - (sum(rate(req_total{code!~"5.."}[1h])) / sum(rate(req_total[1h])))',
        ),
        (
            {"type": "latency", "histogram": HISTOGRAM, "threshold_seconds": 0.5},
            "1 - (sum(rate(ml_prediction_duration_seconds_bucket"
            '{model_name="churn",le="0.5"}[1h])) / '
            'sum(rate(ml_prediction_duration_seconds_count{model_name="churn"}[1h])))',
        ),
        (
            {"type": "latency", "histogram": "h_seconds", "threshold_seconds": 1},
            '1 - (sum(rate(h_seconds_bucket{le=~"1|1.0"}[1h])) / sum(rate(h_seconds_count[1h])))',
        ),
        (
            {"type": "threshold", "query": "min(acc)", "op": ">=", "threshold": 0.91 * 0.95},
            "1 - avg_over_time(((min(acc)) >= bool 0.8645)[1h:1m])",
        ),
        (
            {"type": "threshold", "query": "time() - max(t)", "op": "<", "threshold": 1800},
            "1 - avg_over_time(((time() - max(t)) < bool 1800)[1h:1m])",
        ),
    ],
    ids=["ratio-bad", "ratio-good", "latency", "latency-whole-seconds", "threshold", "age"],
)
def test_error_ratio_per_sli_type(sli: dict[str, Any], expected: str) -> None:
    spec = SLI_ADAPTER.validate_python({"source": "prometheus", **sli})
    assert rules.error_ratio(spec, "1h") == expected


@pytest.mark.parametrize(
    ("window", "factors", "period"),
    [
        ("30d", ["14.4", "6", "3", "1"], timedelta(days=30)),
        ("month", ["14.4", "6", "3", "1"], timedelta(days=30)),
        ("7d", ["3.36", "1.4", "0.7", "0.233333333333"], timedelta(days=7)),
        ("week", ["3.36", "1.4", "0.7", "0.233333333333"], timedelta(days=7)),
        ("28d", ["13.44", "5.6", "2.8", "0.933333333333"], timedelta(days=28)),
    ],
    ids=["30d", "month", "7d", "week", "28d"],
)
def test_factors_scale_with_the_window(window: str, factors: list[str], period: timedelta) -> None:
    alerts = alerts_of(make_slo(window=window))
    found = [re.findall(r"> \((\S+) \* 0\.001\)\)", a["expr"]) for a in alerts]
    assert found == [[f, f] for f in factors]
    for factor, tier in zip(factors, DEFAULT_TIERS, strict=True):
        assert float(factor) == pytest.approx(tier.factor(period), rel=1e-11)
    windows = [(a["labels"]["long_window"], a["labels"]["short_window"]) for a in alerts]
    assert windows == [("1h", "5m"), ("6h", "30m"), ("1d", "2h"), ("3d", "6h")]
    assert [a["labels"]["severity"] for a in alerts] == ["page", "page", "ticket", "ticket"]


def test_recordings_cover_every_window_and_the_meta_ratios() -> None:
    (recorded, alerting) = groups_of(make_slo(slo_id=7, window="month", labels={"team": "ml"}))
    assert recorded["name"] == "slo-service-churn-model-availability-sli-recordings"
    assert alerting["name"] == "slo-service-churn-model-availability-alerts"
    names = [rule["record"] for rule in recorded["rules"]]
    windows = ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"]
    assert names == [f"slo:sli_error:ratio_rate{w}" for w in windows] + [
        "slo:objective:ratio",
        "slo:error_budget:ratio",
        "slo:time_period:days",
    ]
    assert [rule["expr"] for rule in recorded["rules"][-3:]] == [
        "vector(0.999)",
        "vector(0.001)",
        "vector(30)",
    ]
    identity = {"slo_id": "7", "slo_service": "churn-model", "slo_name": "availability"}
    assert recorded["rules"][0]["labels"] == {**identity, "team": "ml", "slo_window": "5m"}
    assert recorded["rules"][-1]["labels"] == {**identity, "team": "ml"}
    page = alerting["rules"][0]
    assert page["alert"] == "SLOBurnRate"
    assert page["expr"] == (
        "max without (slo_window) (slo:sli_error:ratio_rate1h"
        '{slo_service="churn-model",slo_name="availability"} > (14.4 * 0.001))\n'
        "and\n"
        "max without (slo_window) (slo:sli_error:ratio_rate5m"
        '{slo_service="churn-model",slo_name="availability"} > (14.4 * 0.001))'
    )
    assert page["annotations"]["slo_url"] == "http://127.0.0.1:8000/slos/7"
    assert "for" not in page


def test_disabled_alerting_has_recordings_only() -> None:
    found = groups_of(make_slo(alerting={"enabled": False}))
    assert [group["name"] for group in found] == [
        "slo-service-churn-model-availability-sli-recordings"
    ]


def test_configured_tiers_replace_the_defaults() -> None:
    tier = {"severity": "page", "long_window": "2h", "short_window": "10m", "budget_spent": 0.05}
    slo = make_slo(alerting={"tiers": [tier]})
    (only,) = alerts_of(slo)
    assert only["labels"] == {
        "severity": "page",
        "slo_service": "churn-model",
        "slo_name": "availability",
        "long_window": "2h",
        "short_window": "10m",
    }
    assert "> (18 * 0.001)" in only["expr"]  # 5% of 30 days in 2 hours: 0.05 x 360
    records = [rule["record"] for rule in groups_of(slo)[0]["rules"]]
    assert "slo:sli_error:ratio_rate10m" in records


def test_drift_and_pushed_slos_are_skipped_with_the_reason() -> None:
    drift = make_slo(1, name="feature-drift", kind="drift", objective=0.95)
    pushed = make_slo(2, name="pushed", kind="custom", sli={"source": "push"})
    result = rules.export([drift, pushed, make_slo(3)], base_url=BASE_URL)
    assert result.skipped == [
        rules.Skipped("churn-model", "feature-drift", "measured from the drift store, not from "
                      "Prometheus"),
        rules.Skipped("churn-model", "pushed", "pushed to POST /api/v1/events, not in Prometheus"),
    ]  # fmt: skip
    assert [group["name"] for group in result.groups["churn-model"]] == [
        "slo-service-churn-model-availability-sli-recordings",
        "slo-service-churn-model-availability-alerts",
    ]


def test_slo_labels_become_prometheus_labels_without_overriding_the_rules_own() -> None:
    labels = {"team": "ml", "cost.center": "42", "severity": "low", "runbook_url": "https://w/r"}
    slo = make_slo(labels=labels, description="Uses {{ templates }} in text")
    (recorded, alerting) = groups_of(slo)
    assert recorded["rules"][-1]["labels"] == {
        "slo_id": "1",
        "slo_service": "churn-model",
        "slo_name": "availability",
        "cost_center": "42",
        "team": "ml",
    }
    page = alerting["rules"][0]
    assert page["labels"]["severity"] == "page"
    assert page["annotations"]["runbook_url"] == "https://w/r"
    assert page["annotations"]["description"].endswith('Uses {{ "{{" }} templates }} in text')


# --- the real promtool and amtool ---


def every_kind() -> list[SLO]:
    """SLOs of every kind, with odd labels, a described SLO, custom tiers, no alerting."""
    tier = {"severity": "ticket", "long_window": "12h", "short_window": "1h", "budget_spent": 0.1}
    return [
        make_slo(1, labels={"team.name": "ml", "runbook_url": "https://w/{{x}}"}),
        make_slo(2, name="latency", kind="latency", params={"threshold_ms": 1000}, window="7d"),
        make_slo(3, name="accuracy", kind="accuracy", params={"baseline": 0.9}, window="week"),
        make_slo(4, name="fresh", kind="data_freshness", window="month", description="{{ $x"),
        make_slo(5, name="model", kind="model_freshness", alerting={"tiers": [tier]}),
        make_slo(6, name="quiet", alerting={"enabled": False}),
        make_slo(7, name="drift", kind="drift", objective=0.95),
        make_slo(8, service="fraud-model", sli={"bad": 'p_total{status="error"}'}),
    ]


def test_promtool_accepts_the_rules_of_every_kind(tmp_path: Path) -> None:
    result = rules.export(every_kind(), base_url=BASE_URL)
    for service, groups in result.groups.items():
        path = tmp_path / f"{service}.rules.yml"
        path.write_text(rules.render(service, groups))
        checked = run("promtool", "check", "rules", "--lint-fatal", path)
        assert checked.returncode == 0, checked.stdout + checked.stderr
    assert sorted(result.groups) == ["churn-model", "fraud-model"]


def test_promtool_accepts_the_committed_rules_and_rejects_a_broken_file(tmp_path: Path) -> None:
    files = sorted(ALERTING.glob("*.rules.yml"))
    assert [f.name for f in files] == ["churn-model.rules.yml", "fraud-model.rules.yml"]
    checked = run("promtool", "check", "rules", "--lint-fatal", *files)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("SUCCESS: 75 rules found") == 2  # five SLOs of each model
    broken = tmp_path / "broken.rules.yml"
    broken.write_text(files[0].read_text().replace("sum(rate(", "sum(rate((", 1))
    refused = run("promtool", "check", "rules", broken)
    assert refused.returncode != 0
    assert "FAILED" in refused.stdout + refused.stderr


def counter(phases: list[tuple[int, int]], *, every: int) -> str:
    """promtool's expanding notation of a counter sampled every ``every`` minutes that grows
    ``step`` a minute for ``minutes`` minutes, phase after phase, from 0."""
    parts, value = ["0"], 0
    for minutes, step in phases:
        assert minutes % every == 0, "phases last whole samples"
        samples, increase = minutes // every, step * every
        parts.append(f"{value + increase}+{increase}x{samples - 1}")
        value += increase * samples
    return " ".join(parts)


# Errors a minute, of 1000 predictions a minute, after three quiet days that fill every window;
# scraped every 2 minutes, the rules evaluated every 10 (the checks are on those marks).
# An incident for each tier in turn (burn rate = error ratio / 0.001; see EXPECTED):
#   +60m    40m at 3%:   1h over 14.4x from +89m: page 1h/5m (6h at most 5.6x)
#   +300m  260m at 1%:   6h over 6x from +517m: page 6h/30m (1h at most 10x)
#   +700m  400m at 0.2%: 3d over 1x from +961m: ticket 3d/6h (2h at most 2x, under 3x)
#   +1100m 200m at 0.5%: 1d and 2h over 3x from +1141m: both tickets (6h under 6x)
QUIET = 3 * 1440
ERRORS = [(QUIET + 60, 0), (40, 30), (200, 0), (260, 10), (140, 0), (400, 2), (200, 5), (500, 0)]
EXPECTED = [  # minutes after the quiet days, tiers (long window) firing then
    (50, []),  # none before
    (100, ["1h"]),
    (110, []),  # 5m window clean: resolved
    (550, ["6h"]),
    (600, []),  # 30m window clean: resolved
    (1090, ["3d"]),
    (1290, ["1d", "3d"]),
    (1400, ["3d"]),  # 2h window clean: 1d/2h resolved
    (1700, []),  # 6h window clean: 3d/6h resolved
]


def test_promtool_unit_test_fires_and_resolves_each_tier(tmp_path: Path) -> None:
    slo = make_slo(labels={"team": "ml"})
    (rule_file,) = rules.export([slo], base_url=BASE_URL).groups.values()
    (tmp_path / "slo.rules.yml").write_text(rules.render("churn-model", rule_file))
    tiers = {a["labels"]["long_window"]: a for a in alerts_of(slo)}
    ok = [(minutes, 1000 - step) for minutes, step in ERRORS]
    series = 'ml_predictions_total{model_name="churn-model",status="%s"}'
    test = {
        "rule_files": ["slo.rules.yml"],
        "evaluation_interval": "10m",
        # Recordings first at each mark (promtool's order is random otherwise): an alert that
        # read the recordings of the mark before would find them 10m old, past the lookback.
        "group_eval_order": [group["name"] for group in rule_file],
        "tests": [
            {
                "interval": "2m",
                "input_series": [
                    {"series": series % "ok", "values": counter(ok, every=2)},
                    {"series": series % "error", "values": counter(ERRORS, every=2)},
                ],
                "alert_rule_test": [
                    {
                        "eval_time": f"{QUIET + minutes}m",
                        "alertname": "SLOBurnRate",
                        "exp_alerts": [
                            {
                                "exp_labels": {**tiers[w]["labels"], "slo_id": "1", "team": "ml"},
                                "exp_annotations": tiers[w]["annotations"],
                            }
                            for w in firing
                        ],
                    }
                    for minutes, firing in EXPECTED
                ],
            }
        ],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test, sort_keys=False))
    tested = run("promtool", "test", "rules", tmp_path / "test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout
    assert {w for _, firing in EXPECTED for w in firing} == set(tiers)


def test_a_unit_test_expecting_the_wrong_tier_fails(tmp_path: Path) -> None:
    """The check above can fail: promtool says so when another tier is expected."""
    slo = make_slo()
    (tmp_path / "slo.rules.yml").write_text(rules.render("churn-model", groups_of(slo)))
    page = alerts_of(slo)[0]
    test = {
        "rule_files": ["slo.rules.yml"],
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": 'ml_predictions_total{model_name="churn-model"}', "values": "0+1x60"}
                ],
                "alert_rule_test": [
                    {
                        "eval_time": "60m",
                        "alertname": "SLOBurnRate",
                        "exp_alerts": [{"exp_labels": {**page["labels"], "slo_id": "1"}}],
                    }
                ],
            }
        ],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test))
    tested = run("promtool", "test", "rules", tmp_path / "test.yml")
    assert tested.returncode != 0
    assert "FAILED" in tested.stdout + tested.stderr


def test_amtool_accepts_the_alertmanager_config_and_routes_by_severity(tmp_path: Path) -> None:
    config = ALERTING / "alertmanager.yml"
    checked = run("amtool", "check-config", config)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout
    for severity, receiver in [("page", "pagerduty-pages"), ("ticket", "slack-tickets")]:
        labels = [f"severity={severity}", "slo_service=churn-model", "slo_name=availability"]
        routed = run(
            "amtool", "config", "routes", "test", f"--config.file={config}",
            f"--verify.receivers={receiver}", *labels,
        )  # fmt: skip
        assert routed.returncode == 0, routed.stdout + routed.stderr
    broken = tmp_path / "alertmanager.yml"
    broken.write_text(config.read_text().replace("routing_key_file:", "routing_key_path:"))
    refused = run("amtool", "check-config", broken)
    assert refused.returncode != 0
    assert "routing_key_path not found" in refused.stdout + refused.stderr


def test_alertmanager_templates_render_a_generated_alert(tmp_path: Path) -> None:
    page = alerts_of(make_slo())[0]
    labels = {"alertname": "SLOBurnRate", **page["labels"], "slo_id": "1"}
    alert = {"status": "firing", "labels": labels, "annotations": page["annotations"]}
    data = {
        "status": "firing", "alerts": [alert], "groupLabels": {}, "commonLabels": labels,
        "commonAnnotations": page["annotations"], "externalURL": "http://alertmanager",
    }  # fmt: skip
    (tmp_path / "data.json").write_text(json.dumps(data))
    (tmp_path / "none.tmpl").write_text("")
    config = yaml.safe_load((ALERTING / "alertmanager.yml").read_text())
    receivers = {r["name"]: r for r in config["receivers"]}
    (pagerduty,) = receivers["pagerduty-pages"]["pagerduty_configs"]
    (slack,) = receivers["slack-tickets"]["slack_configs"]
    texts = [
        pagerduty["description"],
        pagerduty["links"][0]["href"],
        *pagerduty["details"].values(),
    ]
    texts += [slack["title"], slack["title_link"], slack["text"]]
    rendered = []
    for text in texts:
        result = run(
            "amtool", "template", "render", f"--template.glob={tmp_path / '*.tmpl'}",
            f"--template.data={tmp_path / 'data.json'}", f"--template.text={text}",
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        rendered.append(result.stdout)
    assert rendered[0] == page["annotations"]["summary"]
    assert rendered[1] == "http://127.0.0.1:8000/slos/1"
    assert rendered[4] == "1h/5m "
    assert rendered[6] == "[FIRING] churn-model availability: error budget burning"
    assert page["annotations"]["description"] in rendered[8]


# --- the committed files and the CLI ---


def test_the_example_slos_are_the_compose_demos() -> None:
    """The rules Prometheus loads in docker-compose are those of the SLOs slo-service applies
    there: one file serves both."""
    compose = yaml.safe_load((ALERTING.parent / "docker-compose.yml").read_text())
    volumes = compose["services"]["slo-service"]["volumes"]
    assert "./alerting/example-slos.yaml:/deploy/slos.yaml:ro" in volumes
    assert "./alerting:/etc/prometheus/rules:ro" in compose["services"]["prometheus"]["volumes"]


def test_the_committed_rules_are_those_of_the_example_slos(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, closed_port_url: str
) -> None:
    """As alerting/README.md makes them: apply the examples to a new database, export."""
    monkeypatch.setenv("SLO_DATABASE_URL", f"sqlite:///{tmp_path / 'examples.db'}")
    monkeypatch.setenv("SLO_PROMETHEUS_URL", closed_port_url)
    monkeypatch.setenv("SLO_PUBLIC_BASE_URL", BASE_URL)
    for command in (["migrate"], ["apply", "-f", str(ALERTING / "example-slos.yaml")]):
        done = runner.invoke(app, command)
        assert done.exit_code == 0, done.output
    out = tmp_path / "alerting"
    exported = runner.invoke(rules_app, ["export", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    made = {p.name: p.read_bytes() for p in out.glob("*.rules.yml")}
    committed = {p.name: p.read_bytes() for p in ALERTING.glob("*.rules.yml")}
    assert made == committed, "alerting/ is stale: regenerate it as alerting/README.md says"


@pytest.fixture
def cli_env(db: Engine, closed_port_url: str, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.setenv("SLO_DATABASE_URL", db.url.render_as_string(hide_password=False))
    monkeypatch.setenv("SLO_PROMETHEUS_URL", closed_port_url)
    monkeypatch.setenv("SLO_PUBLIC_BASE_URL", "https://slo.example.com")
    return db


def store(db: Engine, *specs: dict[str, Any]) -> list[SLO]:
    with session_scope(db) as session:
        return [
            slos.create(session, slos.prepare(SLOCreate.model_validate(s), NoQueryChecker()),
                        actor="tests")
            for s in specs
        ]  # fmt: skip


AVAILABILITY = {"name": "availability", "kind": "availability", "objective": 0.999}
DRIFT = {"name": "feature-drift", "kind": "drift", "objective": 0.95, "window": "7d"}


def test_rules_export_writes_a_file_per_service_and_removes_stale_ones(
    cli_env: Engine, tmp_path: Path
) -> None:
    churn, _, fraud = store(
        cli_env,
        {**AVAILABILITY, "service": "churn-model"},
        {**DRIFT, "service": "churn-model"},
        {**AVAILABILITY, "service": "fraud-model"},
    )
    out = tmp_path / "rules"
    out.mkdir()
    stale = out / "gone-model.rules.yml"
    stale.write_text(rules.render("gone-model", []))
    kept = out / "hand-written.rules.yml"
    kept.write_text("groups: []\n")
    result = runner.invoke(rules_app, ["export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"wrote {out}/churn-model.rules.yml: 15 rules in 2 groups",
        f"wrote {out}/fraud-model.rules.yml: 15 rules in 2 groups",
        "skipped churn-model:feature-drift: measured from the drift store, not from Prometheus",
        f"removed {stale}: its service has no SLO in Prometheus any more",
    ]
    assert sorted(p.name for p in out.iterdir()) == [
        "churn-model.rules.yml",
        "fraud-model.rules.yml",
        "hand-written.rules.yml",
    ]
    written = (out / "churn-model.rules.yml").read_text()
    assert written == rules.render(
        "churn-model", rules.export([churn], base_url="https://slo.example.com/").groups[
            "churn-model"]
    )  # fmt: skip
    assert f"slo_url: https://slo.example.com/slos/{churn.id}" in written
    assert run("promtool", "check", "rules", *sorted(out.glob("*model.rules.yml"))).returncode == 0

    with session_scope(cli_env) as session:
        row = session.get(SLO, fraud.id)
        assert row is not None
        slos.delete(session, row, actor="tests")
    one = runner.invoke(rules_app, ["export", "--out", str(out), "--service", "fraud-model"])
    assert one.exit_code == 0, one.output
    assert one.output == f"removed {out}/fraud-model.rules.yml: its service has no SLO in " \
        "Prometheus any more\n"  # fmt: skip
    assert (out / "churn-model.rules.yml").read_text() == written


def test_rules_export_leaves_a_hand_written_file_alone(cli_env: Engine, tmp_path: Path) -> None:
    store(cli_env, {**AVAILABILITY, "service": "churn-model"})
    (tmp_path / "churn-model.rules.yml").write_text("groups: []\n")
    result = runner.invoke(rules_app, ["export", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "was not written by slo-service rules export" in result.output
    assert (tmp_path / "churn-model.rules.yml").read_text() == "groups: []\n"
