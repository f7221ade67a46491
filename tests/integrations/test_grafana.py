"""The Grafana dashboards: a valid dashboard model, PromQL that a real Prometheus accepts and
answers with data, committed files equal to a fresh export, and the export command."""

import copy
import itertools
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from slo_service.cli.dashboards import dashboards_app
from slo_service.integrations import grafana
from tests.support.metrics import backfill
from tests.support.servers import prometheus_server

Json = dict[str, Any]

REPO = Path(__file__).resolve().parents[2]
BOARDS = grafana.dashboards()
NAMES = sorted(BOARDS)
PANEL_TYPES = {"timeseries", "stat", "gauge", "table", "bargauge"}
REQUIRED = {"title", "uid", "panels", "templating", "time", "schemaVersion", "annotations"}
COLOURS = {"green", "orange", "red", "yellow", "blue", "purple", "text", "transparent"}
VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")
GRAFANA_BUILTINS = {"__rate_interval", "__range", "__interval", "__all"}
ALL = {"model": ".*", "version": ".*"}
ONE = {"model": "churn", "version": "v1"}


# --- the dashboard model -------------------------------------------------------------------


def variables_used(board: Json) -> set[str]:
    text = json.dumps(board)
    return {next(g for g in match.groups() if g) for match in VARIABLE.finditer(text)}


def exprs(board: Json) -> list[tuple[str, str]]:
    """(where, expr) of every panel target and every Prometheus annotation."""
    found = [
        (f"panel {panel['id']} {panel['title']!r} {target.get('refId')}", target.get("expr", ""))
        for panel in board["panels"]
        for target in panel.get("targets", [])
    ]
    found += [
        (f"annotation {note['name']!r}", note["expr"])
        for note in board["annotations"]["list"]
        if note.get("datasource", {}).get("type") == "prometheus"
    ]
    return found


def threshold_problems(where: str, value: Any) -> list[str]:
    if not isinstance(value, dict) or value.get("mode") != "absolute":
        return [f"{where}: thresholds not in absolute mode"]
    steps = value.get("steps")
    if not isinstance(steps, list) or not steps:
        return [f"{where}: no threshold steps"]
    problems = []
    if steps[0].get("value") is not None:
        problems.append(f"{where}: the first threshold step is not the null base")
    marks = [step.get("value") for step in steps[1:]]
    if not all(isinstance(mark, int | float) for mark in marks) or marks != sorted(set(marks)):
        problems.append(f"{where}: threshold values not numbers in increasing order: {marks}")
    problems += [
        f"{where}: unknown colour {step.get('color')!r}"
        for step in steps
        if step.get("color") not in COLOURS
    ]
    return problems


def panel_problems(panel: Json) -> list[str]:
    where = f"panel {panel.get('id')} {panel.get('title')!r}"
    problems = [f"{where}: no {key}" for key in ("title", "description") if not panel.get(key)]
    if panel.get("type") not in PANEL_TYPES:
        problems.append(f"{where}: type {panel.get('type')!r} not one of {sorted(PANEL_TYPES)}")
    pos = panel.get("gridPos", {})
    if not all(isinstance(pos.get(key), int) for key in "hwxy"):
        problems.append(f"{where}: gridPos needs integer h, w, x, y: {pos}")
    elif pos["x"] < 0 or pos["y"] < 0 or pos["w"] < 1 or pos["h"] < 1:
        problems.append(f"{where}: gridPos out of the grid: {pos}")
    elif pos["x"] + pos["w"] > grafana.COLUMNS:
        problems.append(f"{where}: gridPos wider than {grafana.COLUMNS} columns: {pos}")
    if panel.get("datasource") != {"type": "prometheus", "uid": "${datasource}"}:
        problems.append(f"{where}: datasource is not the $datasource Prometheus")
    targets = panel.get("targets") or []
    if not targets:
        problems.append(f"{where}: no targets")
    refs = [target.get("refId") for target in targets]
    if not all(refs) or len(set(refs)) != len(refs):
        problems.append(f"{where}: refIds missing or repeated: {refs}")
    problems += [
        f"{where}: target {target.get('refId')} has no expr"
        for target in targets
        if not isinstance(target.get("expr"), str) or not target["expr"].strip()
    ]
    defaults = panel.get("fieldConfig", {}).get("defaults", {})
    if not defaults.get("unit"):
        problems.append(f"{where}: no unit")
    problems += threshold_problems(where, defaults.get("thresholds"))
    for override in panel.get("fieldConfig", {}).get("overrides", []):
        for prop in override.get("properties", []):
            if prop.get("id") == "thresholds":
                name = override["matcher"]["options"]
                problems += threshold_problems(f"{where} column {name}", prop.get("value"))
    return problems


def overlap(a: Json, b: Json) -> bool:
    return bool(
        a["x"] < b["x"] + b["w"]
        and b["x"] < a["x"] + a["w"]
        and a["y"] < b["y"] + b["h"]
        and b["y"] < a["y"] + a["h"]
    )


def problems_of(board: Json) -> list[str]:
    """What makes ``board`` not a dashboard of the model the exporter promises."""
    missing = REQUIRED - board.keys()
    if missing:
        return [f"missing top-level keys {sorted(missing)}"]
    problems = []
    if not isinstance(board["schemaVersion"], int) or board["schemaVersion"] < 36:
        problems.append(f"schemaVersion {board['schemaVersion']!r}: not Grafana 9.x or later")
    if not str(board["time"].get("from", "")).startswith("now-") or board["time"]["to"] != "now":
        problems.append(f"time {board['time']} is not relative to now")
    variables = {var.get("name"): var for var in board["templating"].get("list", [])}
    source = variables.get("datasource", {})
    if source.get("type") != "datasource" or source.get("query") != "prometheus":
        problems.append("no datasource variable of Prometheus data sources")
    for name in ("model", "version"):
        var = variables.get(name, {})
        if var.get("type") != "query" or "label_values(" not in str(var.get("definition")):
            problems.append(f"no {name} query variable")
        elif var.get("datasource", {}).get("uid") != "${datasource}":
            problems.append(f"variable {name} does not query the $datasource")
    undefined = variables_used(board) - variables.keys() - GRAFANA_BUILTINS
    if undefined:
        problems.append(f"variables used but not defined: {sorted(undefined)}")
    unused = {"model", "version"} - variables_used({"panels": board["panels"]})
    if unused:
        problems.append(f"no panel filters by {sorted(unused)}")
    panels = board["panels"]
    ids = [panel.get("id") for panel in panels]
    if not all(isinstance(i, int) for i in ids) or len(set(ids)) != len(ids):
        problems.append(f"panel ids not unique integers: {ids}")
    for panel in panels:
        problems += panel_problems(panel)
    if problems:
        return problems
    for a, b in itertools.combinations(panels, 2):
        if overlap(a["gridPos"], b["gridPos"]):
            problems.append(f"panels {a['id']} and {b['id']} overlap")
    return problems


@pytest.mark.parametrize("name", NAMES)
def test_every_dashboard_is_a_valid_dashboard_model(name: str) -> None:
    board = BOARDS[name]
    assert board["uid"] == name
    assert problems_of(board) == []
    json.loads(grafana.render(board))  # plain JSON, no NaN or objects


def test_the_checker_finds_what_is_wrong() -> None:
    board = copy.deepcopy(BOARDS["slo-service-oncall"])
    first, second = board["panels"][:2]
    second["gridPos"] = {**first["gridPos"]}
    first["targets"][0]["expr"] += " * on() group_left() vector($team)"
    del second["targets"][0]["refId"]
    second["fieldConfig"]["defaults"]["thresholds"]["steps"][0]["value"] = 0
    board["panels"][2]["gridPos"]["x"] = 22
    board["panels"][3]["fieldConfig"]["defaults"]["unit"] = ""
    problems = "\n".join(problems_of(board))
    assert "variables used but not defined: ['team']" in problems
    assert "panel 2 'p99 latency (worst model)': refIds missing" in problems
    assert "the first threshold step is not the null base" in problems
    assert "panel 3 'QPS': gridPos wider than 24 columns" in problems
    assert "panel 4 'Pages firing': no unit" in problems
    board = copy.deepcopy(BOARDS["slo-service-oncall"])
    board["panels"][1]["gridPos"] = {**board["panels"][0]["gridPos"]}
    assert problems_of(board) == ["panels 1 and 2 overlap"]
    del board["templating"]["list"][2]
    assert "no version query variable" in problems_of(board)


def test_the_oncall_dashboard_has_its_stats_in_the_top_row() -> None:
    panels = BOARDS["slo-service-oncall"]["panels"]
    top = [panel for panel in panels if panel["gridPos"]["y"] == 0]
    assert [panel["type"] for panel in top] == ["stat"] * len(top)
    assert sum(panel["gridPos"]["w"] for panel in top) == grafana.COLUMNS
    assert {panel["type"] for panel in panels if panel["gridPos"]["y"] > 0} >= {"timeseries"}
    titles = " ".join(panel["title"] for panel in top)
    for signal in ("Error rate", "p99 latency", "QPS", "Alerts firing"):
        assert signal in titles


def test_each_audience_gets_its_time_range_and_panels() -> None:
    executive, ml, oncall = (BOARDS[f"slo-service-{n}"] for n in ("executive", "ml", "oncall"))
    assert [b["time"]["from"] for b in (executive, ml, oncall)] == ["now-30d", "now-7d", "now-6h"]
    text = {name: json.dumps(board["panels"]) for name, board in BOARDS.items()}
    assert "slo_error_budget_remaining" in text["slo-service-executive"]
    assert "slo_objective" in text["slo-service-executive"]
    for metric in ("ml_model_accuracy", "ml_feature_psi", "ml_feature_last_updated_timestamp"):
        assert metric in text["slo-service-ml"]
    for metric in ("ml_predictions_total", "ml_prediction_duration_seconds_bucket"):
        assert metric in text["slo-service-oncall"]
    assert "slo_alert_firing" in text["slo-service-oncall"]
    units = {
        panel["fieldConfig"]["defaults"]["unit"]
        for board in BOARDS.values()
        for panel in board["panels"]
    }
    assert units >= {"percentunit", "s", "reqps"}


# --- the PromQL against a real Prometheus --------------------------------------------------

STEP = 15
MODELS = {"churn": ("v1", "v2"), "fraud": ("v1",)}
# (service, slo, kind, objective, sli, budget left); churn's accuracy budget is spent.
SLOS = (
    ("churn", "availability", "availability", 0.999, 0.9995, 0.5),
    ("churn", "latency", "latency", 0.95, 0.9525, 0.05),
    ("churn", "accuracy", "accuracy", 0.95, 0.94, -0.2),
    ("fraud", "drift", "drift", 0.99, 0.995, 0.5),
)
TIERS = (
    ("page", "1h", "5m"),
    ("page", "6h", "30m"),
    ("ticket", "1d", "2h"),
    ("ticket", "3d", "6h"),
)


def sample_lines(name: str, labels: dict[str, str], values: dict[int, float]) -> list[str]:
    matchers = ",".join(f'{key}="{value}"' for key, value in labels.items())
    return [f"{name}{{{matchers}}} {value} {stamp}" for stamp, value in values.items()]


def metrics_text(end: int) -> str:
    """An hour of what the dashboards read: the models' metrics and slo-service's gauges.

    fraud never fails (no error series at all), churn's deployed timestamp moves two minutes
    before ``end``, churn's accuracy gauge has a version and fraud's has none."""
    stamps = range(end - 3600, end + 1, STEP)
    n = {stamp: float(i) for i, stamp in enumerate(stamps)}
    lines = ["# TYPE ml_predictions counter"]
    for model, versions in MODELS.items():
        for version in versions:
            who = {"model_name": model, "model_version": version}
            ok = {s: 10 * v for s, v in n.items()}
            lines += sample_lines("ml_predictions_total", who | {"status": "ok"}, ok)
            if model == "churn":
                error = {s: 0.1 * v for s, v in n.items()}
                lines += sample_lines("ml_predictions_total", who | {"status": "error"}, error)
    lines.append("# TYPE ml_prediction_duration_seconds histogram")
    for model, versions in MODELS.items():
        for version in versions:
            who = {"model_name": model, "model_version": version}
            for bound, share in (("0.1", 6), ("0.5", 9), ("1", 10), ("+Inf", 10)):
                counts = {s: share * v for s, v in n.items()}
                labels = who | {"le": bound}
                lines += sample_lines("ml_prediction_duration_seconds_bucket", labels, counts)
            counts = {s: 10 * v for s, v in n.items()}
            lines += sample_lines("ml_prediction_duration_seconds_count", who, counts)

    def gauge(name: str, series: list[tuple[dict[str, str], dict[int, float]]]) -> None:
        lines.append(f"# TYPE {name} gauge")
        for labels, values in series:
            lines.extend(sample_lines(name, labels, values))

    def flat(value: float) -> dict[int, float]:
        return dict.fromkeys(stamps, value)

    gauge(
        "ml_model_accuracy",
        [({"model_name": "churn", "model_version": "v2"}, flat(0.91)),
         ({"model_name": "fraud"}, flat(0.87))],
    )  # fmt: skip
    gauge(
        "ml_model_is_latest",
        [({"model_name": "churn"}, flat(1)), ({"model_name": "fraud"}, flat(0))],
    )
    deployed = {s: float(end - 120 if s >= end - 120 else end - 86400) for s in stamps}
    gauge(
        "ml_model_deployed_timestamp_seconds",
        [({"model_name": "churn"}, deployed), ({"model_name": "fraud"}, flat(end - 10 * 86400))],
    )
    updated = {s: float(s - s % 300) for s in stamps}
    gauge(
        "ml_feature_last_updated_timestamp_seconds",
        [({"model_name": m, "feature_group": "user"}, updated) for m in MODELS],
    )
    gauge(
        "ml_feature_psi",
        [({"model_name": "churn", "feature_name": "age"}, flat(0.05)),
         ({"model_name": "churn", "feature_name": "income"}, flat(0.25))],
    )  # fmt: skip
    per_slo = [({"service": s, "slo": name, "kind": kind}, row) for s, name, kind, *row in SLOS]
    gauge("slo_objective", [(labels, flat(row[0])) for labels, row in per_slo])
    gauge("slo_sli", [(labels, flat(row[1])) for labels, row in per_slo])
    gauge("slo_error_budget_remaining", [(labels, flat(row[2])) for labels, row in per_slo])
    gauge(
        "slo_burn_rate",
        [(labels | {"window": w}, flat(1.0)) for labels, _ in per_slo
         for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "window")],
    )  # fmt: skip
    firing = ("churn", "accuracy", "page", "1h")
    gauge(
        "slo_alert_firing",
        [
            (
                labels | {"severity": sev, "long_window": long, "short_window": short},
                flat(float((labels["service"], labels["slo"], sev, long) == firing)),
            )
            for labels, _ in per_slo
            for sev, long, short in TIERS
        ],
    )
    gauge(
        "slo_evaluated_timestamp_seconds",
        [(labels, {s: float(s) for s in stamps}) for labels, _ in per_slo],
    )
    gauge(
        "slo_service_frozen",
        [({"service": s, "cause": cause}, flat(float(s == "churn" and cause == "budget")))
         for s in MODELS for cause in ("budget", "manual")],
    )  # fmt: skip
    return "\n".join([*lines, "# EOF"]) + "\n"


@pytest.fixture(scope="module")
def data_end() -> int:
    now = int(time.time())
    return now - now % 3600 - 3 * 3600


@pytest.fixture(scope="module")
def dashboard_prometheus(scratch: Path, data_end: int) -> Iterator[str]:
    """A real Prometheus with an hour of every metric the dashboards read, up to ``data_end``."""
    data = backfill([metrics_text(data_end)], scratch / "grafana")
    with prometheus_server(scratch / "grafana", tsdb=data) as url:
        yield url


def substitute(expr: str, values: dict[str, str]) -> str:
    """What Grafana sends: the variables' values, and its own intervals for a 1h range."""
    builtins = {"__rate_interval": "5m", "__range": "1h", "__interval": "1m"}
    every = values | builtins
    return VARIABLE.sub(lambda match: every[next(g for g in match.groups() if g)], expr)


def instant(url: str, expr: str, at: int) -> httpx.Response:
    return httpx.get(f"{url}/api/v1/query", params={"query": expr, "time": at}, timeout=30)


def results(url: str, expr: str, at: int) -> list[Json]:
    """The answer to the panel query ``expr`` with every model and version selected."""
    response = instant(url, substitute(expr, ALL), at)
    assert response.status_code == 200, response.text
    found: list[Json] = response.json()["data"]["result"]
    return found


@pytest.mark.prometheus
@pytest.mark.parametrize("name", NAMES)
def test_prometheus_accepts_every_query_and_answers_with_data(
    name: str, dashboard_prometheus: str, data_end: int
) -> None:
    empty, refused = [], []
    for where, expr in exprs(BOARDS[name]):
        for values in (ALL, ONE):
            response = instant(dashboard_prometheus, substitute(expr, values), data_end)
            body = response.json()
            if response.status_code != 200 or body.get("status") != "success":
                refused.append(f"{where} with {values}: {response.status_code} {body}")
            elif values is ALL and not body["data"]["result"]:
                empty.append(f"{where}: {substitute(expr, values)}")
    assert refused == []
    assert empty == []


@pytest.mark.prometheus
def test_the_query_check_can_fail(dashboard_prometheus: str, data_end: int) -> None:
    broken = instant(
        dashboard_prometheus, "sum by (model_name (rate(ml_predictions_total[5m]))", data_end
    )
    assert broken.status_code == 400
    assert broken.json()["errorType"] == "bad_data"
    wrong_type = instant(dashboard_prometheus, "rate(ml_model_accuracy)", data_end)
    assert wrong_type.status_code == 400
    typo = instant(dashboard_prometheus, 'ml_prediction_total{model_name=~".*"}', data_end)
    assert typo.status_code == 200
    assert typo.json()["data"]["result"] == []  # what the "answers with data" check catches


@pytest.mark.prometheus
def test_the_variables_list_the_models_and_their_versions(
    dashboard_prometheus: str, data_end: int
) -> None:
    variables = {var["name"]: var for var in BOARDS["slo-service-oncall"]["templating"]["list"]}
    found = {}
    for case, name, values in (
        ("models", "model", ALL),
        ("versions", "version", ALL),
        ("versions of fraud", "version", {"model": "fraud"}),
    ):
        match = re.fullmatch(r"label_values\((.+), (\w+)\)", variables[name]["definition"])
        assert match is not None, variables[name]
        selector, label = match.groups()
        response = httpx.get(
            f"{dashboard_prometheus}/api/v1/label/{label}/values",
            params={"match[]": substitute(selector, ALL | values), "start": data_end - 3600,
                    "end": data_end},
            timeout=30,
        )  # fmt: skip
        assert response.status_code == 200, response.text
        found[case] = response.json()["data"]
    assert found == {
        "models": ["churn", "fraud"],
        "versions": ["v1", "v2"],
        "versions of fraud": ["v1"],
    }


@pytest.mark.prometheus
def test_a_model_without_errors_has_an_error_rate_of_zero(
    dashboard_prometheus: str, data_end: int
) -> None:
    panel = next(p for p in BOARDS["slo-service-oncall"]["panels"] if p["title"] == "Error rate")
    found = results(dashboard_prometheus, panel["targets"][0]["expr"], data_end)
    rates = {result["metric"]["model_name"]: float(result["value"][1]) for result in found}
    # churn: 0.1 errors and 10 successes per version and step; fraud has no error series.
    assert rates == {"churn": pytest.approx(0.2 / 20.2), "fraud": 0.0}


@pytest.mark.prometheus
def test_the_executive_counts_add_up(dashboard_prometheus: str, data_end: int) -> None:
    board = BOARDS["slo-service-executive"]
    values = {}
    for panel in board["panels"]:
        if panel["gridPos"]["y"] == 0:
            (result,) = results(dashboard_prometheus, panel["targets"][0]["expr"], data_end)
            values[panel["title"]] = float(result["value"][1])
    assert values == {
        "SLA compliance": 0.75,
        "SLOs healthy": 2,
        "SLOs at risk": 1,
        "SLOs breached": 1,
        "Models frozen": 1,
        "Lowest budget left": -0.2,
    }


# --- the committed files and the command ----------------------------------------------------


def test_the_committed_dashboards_equal_a_fresh_export() -> None:
    committed = {path.stem: path.read_text() for path in (REPO / "dashboards").glob("*.json")}
    fresh = {name: grafana.render(board) for name, board in BOARDS.items()}
    assert committed.keys() == fresh.keys()
    stale = [name for name in fresh if committed[name] != fresh[name]]
    assert stale == [], "stale dashboards/: run `slo-service dashboards export --out dashboards`"


def test_the_export_command_writes_the_three_dashboards(tmp_path: Path) -> None:
    out = tmp_path / "new" / "dir"
    result = CliRunner().invoke(dashboards_app, ["export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    files = sorted(path.name for path in out.iterdir())
    assert files == ["slo-service-executive.json", "slo-service-ml.json", "slo-service-oncall.json"]
    for path in out.iterdir():
        text = path.read_text()
        assert text.endswith("}\n")
        assert text == grafana.render(BOARDS[path.stem])
        assert f"wrote {path}" in result.output


def test_the_export_command_says_when_it_cannot_write(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = CliRunner().invoke(dashboards_app, ["export", "--out", str(blocker / "dashboards")])
    assert result.exit_code == 1
    assert "cannot write" in result.output
