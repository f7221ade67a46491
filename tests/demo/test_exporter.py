"""The demo model exporter: the simulation driven with fake time, the real exporter scraped on
loopback (and checked by promtool), and ``slo-service demo-exporter`` as a process."""

import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import typer
import yaml
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from typer.testing import CliRunner

from slo_service.cli.demo import demo_exporter
from slo_service.demo.exporter import DemoExporter
from slo_service.demo.simulation import (
    BUCKETS,
    FEATURE_UPDATE_SECONDS,
    MODELS,
    Incident,
    IncidentKind,
    Simulator,
    Snapshot,
    daily_factor,
)
from slo_service.domain.kinds import Kind, build_sli
from slo_service.domain.sli import LatencySli, RatioSli, ThresholdSli
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_764_000_000.0  # a fixed start: the simulation depends on nothing but its inputs
SPECS = {spec.name: spec for spec in MODELS}


def run(simulator: Simulator, until: float, every: float = 1.0) -> Iterator[Snapshot]:
    """Tick once a second up to ``until``, yielding a snapshot every ``every`` seconds."""
    now, taken = simulator.now, simulator.now
    while now < until:
        now += 1
        simulator.tick(now)
        if now - taken >= every:
            taken = now
            yield simulator.snapshot()


def advance(simulator: Simulator, until: float) -> Snapshot:
    for _ in run(simulator, until, every=math.inf):
        pass
    return simulator.snapshot()


def first(simulator: Simulator, kind: IncidentKind) -> Incident:
    return next(i for i in simulator.incidents(math.inf) if i.kind is kind)


def error_share(before: Snapshot, after: Snapshot, model: str) -> float:
    def count(snap: Snapshot, status: str | None) -> int:
        return sum(
            n for (m, _, s), n in snap.predictions.items() if m == model and status in {None, s}
        )

    total = count(after, None) - count(before, None)
    return (count(after, "error") - count(before, "error")) / total


def slow_share(before: Snapshot, after: Snapshot, model: str) -> float:
    """Share of predictions over 500 ms between two snapshots."""
    over = BUCKETS.index(0.5) + 1
    slow = total = 0
    for (m, version), counts in after.latency_buckets.items():
        if m == model:
            delta = [a - b for a, b in zip(counts, before.latency_buckets[m, version], strict=True)]
            slow, total = slow + sum(delta[over:]), total + sum(delta)
    return slow / total


def test_incidents_follow_the_schedule_and_the_seed() -> None:
    simulator = Simulator(start=T0, every=600, seed=1)
    incidents = list(simulator.incidents(T0 + 6000))
    assert len(incidents) == 10
    first_one = incidents[0]
    assert (first_one.start, first_one.end) == (T0 + 120, T0 + 420)  # 2 min in, 5 min long
    assert [i.start - T0 for i in incidents] == [120 + 600 * k for k in range(10)]
    # Each run of ten is a shuffle of every (kind, model) pair.
    pairs = {(i.kind, i.model) for i in incidents}
    assert pairs == {(kind, spec.name) for kind in IncidentKind for spec in MODELS}

    again = Simulator(start=T0, every=600, seed=1)
    assert list(again.incidents(T0 + 12_000)) == list(simulator.incidents(T0 + 12_000))
    other = Simulator(start=T0, every=600, seed=2)
    assert [(i.kind, i.model) for i in other.incidents(T0 + 6000)] != [
        (i.kind, i.model) for i in incidents
    ]

    assert simulator.incident_at(T0 + 119) is None
    assert simulator.incident_at(T0 + 120) == first_one
    assert simulator.incident_at(T0 + 419) == first_one
    assert simulator.incident_at(T0 + 420) is None

    short = Simulator(start=T0, every=60, seed=1)
    assert (short.lead, short.duration) == (12, 30)


def test_counters_only_increase() -> None:
    simulator = Simulator(start=T0, every=300, seed=3)
    previous = simulator.snapshot()
    for snap in run(simulator, T0 + 1800, every=15):
        for key, count in snap.predictions.items():
            assert count >= previous.predictions[key], key
        for series, counts in snap.latency_buckets.items():
            before = previous.latency_buckets[series]
            assert all(a >= b for a, b in zip(counts, before, strict=True))
            assert snap.latency_sum[series] >= previous.latency_sum[series]
        previous = snap
    assert all(n > 0 for (_, _, status), n in previous.predictions.items() if status == "ok")
    assert sum(n for (_, _, status), n in previous.predictions.items() if status == "error")


def test_traffic_follows_a_daily_cycle() -> None:
    assert daily_factor(3 * 3600) == pytest.approx(0.4)
    assert daily_factor(15 * 3600) == pytest.approx(1.6)
    night, day = T0 - T0 % 86_400 + 3 * 3600, T0 - T0 % 86_400 + 15 * 3600
    counts = []
    for start in (night, day):
        simulator = Simulator(start=start, every=10_000, lead=9_000)  # no incident
        counts.append(sum(advance(simulator, start + 600).predictions.values()))
    assert 3 < counts[1] / counts[0] < 5


def test_error_share_rises_during_an_errors_incident_and_returns_after() -> None:
    simulator = Simulator(start=T0, every=600, seed=1)
    incident = first(simulator, IncidentKind.ERRORS)
    model = incident.model
    # A tick at t simulates the second up to t as things are at t.
    before_start = advance(simulator, incident.start - 301)
    at_start = advance(simulator, incident.start - 1)
    at_end = advance(simulator, incident.end - 1)
    later = advance(simulator, incident.end + 299)

    assert error_share(before_start, at_start, model) < 0.002
    assert error_share(at_start, at_end, model) > 0.2  # 30% of the latest version's
    assert error_share(at_end, later, model) < 0.002
    other = next(name for name in SPECS if name != model)
    assert error_share(at_start, at_end, other) < 0.002


def test_latency_rises_during_a_latency_incident_and_returns_after() -> None:
    simulator = Simulator(start=T0, every=600, seed=1)
    incident = first(simulator, IncidentKind.LATENCY)
    # A tick at t simulates the second up to t as things are at t.
    before_start = advance(simulator, incident.start - 301)
    at_start = advance(simulator, incident.start - 1)
    at_end = advance(simulator, incident.end - 1)
    later = advance(simulator, incident.end + 299)

    # The demo's latency SLOs allow 1% over 500 ms.
    assert slow_share(before_start, at_start, incident.model) < 0.002
    assert slow_share(at_start, at_end, incident.model) > 0.3
    assert slow_share(at_end, later, incident.model) < 0.002


def test_accuracy_dips_under_the_slo_floor_during_an_accuracy_incident() -> None:
    simulator = Simulator(start=T0, every=600, seed=1)
    incident = first(simulator, IncidentKind.ACCURACY)
    spec = SPECS[incident.model]
    assert spec.accuracy_floor == pytest.approx(spec.accuracy_baseline * 0.95)

    healthy = [s.accuracy[spec.name] for s in run(simulator, incident.start, every=10)]
    assert min(healthy) >= spec.accuracy_floor + 0.02
    during = list(run(simulator, incident.end - 1, every=10))
    # Within a minute it is under the floor, and stays there to the end.
    assert all(s.accuracy[spec.name] < spec.accuracy_floor for s in during[6:])
    drifted = [s.psi[spec.name, spec.features[0]] for s in during[6:]]
    assert min(drifted) > 0.2  # its inputs drifted: the PSI says why
    recovered = [s.accuracy[spec.name] for s in run(simulator, incident.end + 300, every=10)]
    assert all(value >= spec.accuracy_floor for value in recovered[6:])
    assert simulator.snapshot().psi[spec.name, spec.features[0]] < 0.2


def test_features_stall_during_a_stale_features_incident() -> None:
    simulator = Simulator(start=T0, every=600, seed=1)
    incident = first(simulator, IncidentKind.STALE_FEATURES)
    model = incident.model
    healthy = list(run(simulator, incident.start, every=5))
    assert max(s.now - s.feature_updated_at[model] for s in healthy) <= FEATURE_UPDATE_SECONDS

    during = list(run(simulator, incident.end - 1, every=5))
    assert len({s.feature_updated_at[model] for s in during}) == 1  # not one update
    assert during[0].feature_updated_at[model] <= incident.start
    # The demo's data-freshness SLOs want features under 2 minutes old.
    assert during[-1].now - during[-1].feature_updated_at[model] > 240
    other = next(name for name in SPECS if name != model)
    assert all(s.now - s.feature_updated_at[other] <= FEATURE_UPDATE_SECONDS for s in during)

    after = advance(simulator, incident.end + 1)
    assert after.now - after.feature_updated_at[model] <= 1


def test_the_latest_version_stops_serving_during_a_rollback() -> None:
    simulator = Simulator(start=T0, every=600, seed=1)
    incident = first(simulator, IncidentKind.ROLLBACK)
    spec = SPECS[incident.model]
    assert advance(simulator, incident.start - 5).serving[spec.name] == spec.versions
    early = advance(simulator, incident.start + 5)
    assert early.serving[spec.name] == (spec.previous,)
    late = advance(simulator, incident.end - 5)
    assert (
        late.predictions[spec.name, spec.latest, "ok"]
        == (early.predictions[spec.name, spec.latest, "ok"])
    )
    assert (
        late.predictions[spec.name, spec.previous, "ok"]
        > (early.predictions[spec.name, spec.previous, "ok"])
    )
    assert advance(simulator, incident.end + 5).serving[spec.name] == spec.versions


def test_a_tick_backwards_or_after_a_long_pause_is_harmless() -> None:
    simulator = Simulator(start=T0, every=600)
    first_snap = advance(simulator, T0 + 10)
    simulator.tick(T0 + 5)
    assert simulator.snapshot().predictions == first_snap.predictions
    simulator.tick(T0 + 10 + 86_400)  # a day suspended: one minute of traffic, not a day's
    after = simulator.snapshot()
    total = sum(after.predictions.values()) - sum(first_snap.predictions.values())
    peak = sum(spec.requests_per_second for spec in MODELS) * 1.6 * 60
    assert 0 < total < 1.5 * peak


def test_the_simulator_refuses_a_schedule_that_cannot_be() -> None:
    with pytest.raises(ValueError, match="positive"):
        Simulator(start=T0, every=0)
    with pytest.raises(ValueError, match="at most the interval"):
        Simulator(start=T0, every=60, duration=120)


# The demo SLOs --------------------------------------------------------------------------


def test_the_demo_slos_measure_what_the_exporter_serves() -> None:
    """alerting/example-slos.yaml is about these models, with their accuracy baselines, and every
    query of its SLOs selects series the exporter serves."""
    families = scrape_families(serve_briefly())
    served = {
        sample.name: {frozenset(sample.labels.items()) for sample in family.samples}
        for family in families.values()
        for sample in family.samples
    }
    seen_models: set[str] = set()
    for document in yaml.safe_load_all((ROOT / "alerting" / "example-slos.yaml").read_text()):
        for entry in document["slos"]:
            spec = SPECS[document["service"]]
            seen_models.add(spec.name)
            kind = Kind(entry["kind"])
            if kind is Kind.ACCURACY:
                assert entry["params"]["baseline"] == spec.accuracy_baseline
                assert entry["params"]["tolerance"] == pytest.approx(0.05)
            _, sli = build_sli(kind, entry.get("params", {}), None, service=spec.name)
            for metric in metrics_of(sli):
                label_sets = served.get(metric)
                assert label_sets, f"{spec.name}:{entry['name']}: {metric} is not served"
                assert any(("model_name", spec.name) in labels for labels in label_sets)
    assert seen_models == set(SPECS)


def metrics_of(sli: object) -> list[str]:
    if isinstance(sli, RatioSli):
        return [s.split("{")[0] for s in (sli.good, sli.bad, sli.total) if s]
    if isinstance(sli, LatencySli):
        name = sli.histogram.split("{")[0]
        return [f"{name}_bucket", f"{name}_count"]
    if isinstance(sli, ThresholdSli):
        return re.findall(r"\bml_[a-z_]+", sli.query)
    raise AssertionError(f"unexpected SLI {sli!r}")


# The real exporter ----------------------------------------------------------------------


def serve_briefly() -> str:
    """Start the exporter on a free loopback port, let it tick twice, return one scrape."""
    exporter = DemoExporter(
        Simulator(start=time.time(), seed=5), host="127.0.0.1", port=0, tick_seconds=0.05
    )
    with exporter:
        time.sleep(0.3)
        response = httpx.get(f"http://127.0.0.1:{exporter.port}/metrics", timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def scrape_families(text: str) -> dict[str, Metric]:
    return {family.name: family for family in text_string_to_metric_families(text)}


def label_sets(samples: list[Sample], name: str) -> set[tuple[tuple[str, str], ...]]:
    return {tuple(sorted(s.labels.items())) for s in samples if s.name == name}


def test_the_exporter_serves_every_metric_and_label_set() -> None:
    families = scrape_families(serve_briefly())
    assert {name: f.type for name, f in families.items()} == {
        "ml_predictions": "counter",
        "ml_prediction_duration_seconds": "histogram",
        "ml_model_is_latest": "gauge",
        "ml_model_deployed_timestamp_seconds": "gauge",
        "ml_model_accuracy": "gauge",
        "ml_feature_last_updated_timestamp_seconds": "gauge",
        "ml_feature_psi": "gauge",
        "demo_incident_active": "gauge",
    }
    versions = [(spec, version) for spec in MODELS for version in spec.versions]
    predictions = families["ml_predictions"].samples
    assert label_sets(predictions, "ml_predictions_total") == {
        (("model_name", spec.name), ("model_version", version), ("status", status))
        for spec, version in versions
        for status in ("ok", "error")
    }
    assert sum(s.value for s in predictions) > 0

    latency = families["ml_prediction_duration_seconds"].samples
    bounds = [*(repr(b) for b in BUCKETS), "+Inf"]
    assert bounds[3] == "0.5"  # the bucket the 500 ms latency SLOs read
    assert label_sets(latency, "ml_prediction_duration_seconds_bucket") == {
        (("le", le), ("model_name", spec.name), ("model_version", version))
        for spec, version in versions
        for le in bounds
    }
    by_model = {(("model_name", s.name), ("model_version", v)) for s, v in versions}
    assert label_sets(latency, "ml_prediction_duration_seconds_count") == by_model
    assert label_sets(latency, "ml_prediction_duration_seconds_sum") == by_model

    models = {(("model_name", spec.name),) for spec in MODELS}
    for name in ("ml_model_is_latest", "ml_model_accuracy"):
        assert label_sets(families[name].samples, name) == models
    name = "ml_feature_last_updated_timestamp_seconds"
    assert label_sets(families[name].samples, name) == models
    name = "ml_model_deployed_timestamp_seconds"
    assert label_sets(families[name].samples, name) == by_model
    assert label_sets(families["ml_feature_psi"].samples, "ml_feature_psi") == {
        (("feature_name", feature), ("model_name", spec.name))
        for spec in MODELS
        for feature in spec.features
    }
    assert label_sets(families["demo_incident_active"].samples, "demo_incident_active") == {
        (("kind", str(kind)), ("model_name", spec.name)) for spec in MODELS for kind in IncidentKind
    }
    values = {s.labels["model_name"]: s.value for s in families["ml_model_is_latest"].samples}
    assert values == dict.fromkeys(SPECS, 1.0)  # no rollback in the first two minutes
    now = time.time()
    for sample in families["ml_feature_last_updated_timestamp_seconds"].samples:
        assert now - 60 < sample.value <= now


def test_promtool_accepts_the_scrape() -> None:
    """What Prometheus itself would parse: ``promtool check metrics`` exits 0 and prints
    nothing, not even a lint warning (it would name the metric and the problem)."""
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool not found: apt-get install prometheus"
    result = subprocess.run(
        [promtool, "check", "metrics"],
        input=serve_briefly(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_the_exporter_stops_cleanly() -> None:
    exporter = DemoExporter(Simulator(start=time.time()), host="127.0.0.1", port=0)
    exporter.start()
    port = exporter.port
    exporter.stop()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)


# The command ----------------------------------------------------------------------------


def demo_app() -> typer.Typer:
    """demo_exporter as cli.py registers it (a group, so the command keeps its name)."""
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """slo-service"""

    app.command("demo-exporter")(demo_exporter)
    return app


def test_the_command_refuses_a_bad_interval() -> None:
    result = CliRunner().invoke(demo_app(), ["demo-exporter", "--incident-every", "10x"])
    assert result.exit_code == 1
    assert "--incident-every: '10x' is not a duration" in result.output


def test_the_command_serves_until_sigterm() -> None:
    """As the container runs it: the first lines say where and when, /metrics answers,
    and SIGTERM (docker stop) ends it at once with exit 0."""
    port = free_port()
    script = (
        "import typer; from slo_service.cli.demo import demo_exporter; typer.run(demo_exporter)"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script, "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        assert f"on http://127.0.0.1:{port}/metrics" in first_line
        schedule = process.stdout.readline()
        assert "an incident every 10m, lasting 5 min; the first" in schedule
        families = {f.name for f in text_string_to_metric_families(scrape(port))}
        assert "ml_predictions" in families
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert "demo-exporter: stopped" in process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def scrape(port: int) -> str:
    deadline = time.monotonic() + 10
    while True:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_model_specs_are_consistent() -> None:
    for spec in MODELS:
        assert spec.previous != spec.latest
        assert 0 < spec.latest_share < 1
        assert spec.accuracy_floor < spec.accuracy_baseline
        assert len(set(spec.features)) == len(spec.features) >= 2


def test_the_command_says_when_its_port_is_taken() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = ["demo-exporter", "--host", "127.0.0.1", "--port", str(port)]
        result = CliRunner().invoke(demo_app(), args)
    assert result.exit_code == 1
    assert f"error: cannot listen on 127.0.0.1:{port}: Address already in use" in result.output
