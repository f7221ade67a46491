"""docker-compose.yml and what it brings up: Compose accepts the file, every host file it
mounts or builds from exists, Prometheus's config passes promtool, the demo SLOs apply, and
the commands the containers run exist.

Nothing is started: there is no Docker engine; ``docker-compose config -q`` (Debian's 1.29)
validates the file without one.
"""

import glob
import json
import re
import shlex
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from slo_service import migrate
from slo_service.api.health import router as health_router
from slo_service.cli import app
from slo_service.db import make_engine
from slo_service.demo.simulation import IncidentKind, Simulator
from slo_service.domain.windows import parse_duration

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
PROMETHEUS_CONFIG = ROOT / "deploy" / "prometheus.yml"
DATASOURCES = ROOT / "deploy" / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
IMAGE = "slo-service:local"

# What a bind-mounted directory must hold, by its path in the repository: a mount of an
# empty directory would start a container with nothing to load.
DIRECTORY_CONTENT = {
    "alerting": ["*.rules.yml"],
    "dashboards": ["*.json"],
    "deploy/grafana/provisioning": ["datasources/*.yml", "dashboards/*.yml"],
}

runner = CliRunner()


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def docker_compose(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    assert binary is not None, "docker-compose not found: apt-get install docker-compose"
    return subprocess.run(
        [binary, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def bind_mounts(service: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(host path, container path) of each bind mount of a service, short or long syntax."""
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            if volume.get("type") == "bind":
                yield volume["source"], volume["target"]
            continue
        source, _, rest = str(volume).partition(":")
        if source.startswith((".", "/", "~")):
            yield source, rest.split(":")[0]


def referenced_paths(spec: dict[str, Any], root: Path) -> list[tuple[str, Path]]:
    """(what refers to it, path) of every host file or directory a compose file uses."""
    found: list[tuple[str, Path]] = []
    for name, service in spec["services"].items():
        build = service.get("build")
        if build is not None:
            context = build if isinstance(build, str) else build.get("context", ".")
            found.append((f"{name}: build context", root / context))
            dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile")
            found.append((f"{name}: Dockerfile", root / context / (dockerfile or "Dockerfile")))
        env_files = service.get("env_file", [])
        for env_file in [env_files] if isinstance(env_files, str) else env_files:
            path = env_file if isinstance(env_file, str) else env_file["path"]
            found.append((f"{name}: env_file", root / path))
        for source, target in bind_mounts(service):
            found.append((f"{name}: volume {source}:{target}", root / source))
    for section in ("configs", "secrets"):
        for name, item in (spec.get(section) or {}).items():
            if "file" in item:
                found.append((f"{section}.{name}", root / item["file"]))
    return found


def missing_files(spec: dict[str, Any], root: Path) -> list[str]:
    """What the compose file refers to that is not there, or is an empty directory."""
    problems = []
    for where, path in referenced_paths(spec, root):
        if not path.exists():
            problems.append(f"{where}: {path.relative_to(root)} does not exist")
            continue
        if path.is_dir() and path != root:
            key = path.relative_to(root).as_posix()
            patterns = DIRECTORY_CONTENT.get(key)
            if patterns is None:
                problems.append(f"{where}: no rule in DIRECTORY_CONTENT says what {key}/ holds")
                continue
            for pattern in patterns:
                if not list(path.glob(pattern)):
                    problems.append(f"{where}: {key}/ has no {pattern}")
    for name, service in spec["services"].items():
        for volume in service.get("volumes", []):
            named = volume.get("source") if isinstance(volume, dict) else volume.split(":")[0]
            if not str(named).startswith((".", "/", "~")) and named not in spec.get("volumes", {}):
                problems.append(f"{name}: volume {named} is not declared under volumes:")
    return problems


def test_docker_compose_accepts_the_file() -> None:
    result = docker_compose("-f", str(COMPOSE), "config", "-q", cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_docker_compose_rejects_a_broken_copy(tmp_path: Path) -> None:
    text = COMPOSE.read_text()
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "docker-compose.yml").write_text(text)
    accepted = docker_compose("config", "-q", cwd=tmp_path)
    assert accepted.returncode == 0, accepted.stderr  # the copy alone is fine...

    broken = text.replace("  postgres:\n    image: postgres:16\n", "  postgres:\n    imag: pg\n")
    assert broken != text
    (tmp_path / "docker-compose.yml").write_text(broken)
    rejected = docker_compose("config", "-q", cwd=tmp_path)
    assert rejected.returncode != 0  # ...so only the broken key fails it
    assert "imag" in rejected.stderr


def test_every_file_the_compose_file_refers_to_exists() -> None:
    spec = compose()
    referenced = {path.relative_to(ROOT).as_posix() for _, path in referenced_paths(spec, ROOT)}
    # What this test is about: the other halves of the demo are among the checked paths.
    assert {"alerting", "alerting/alertmanager.yml", "dashboards", "Dockerfile"} <= referenced
    assert missing_files(spec, ROOT) == []


def test_a_missing_file_or_an_empty_directory_is_reported(tmp_path: Path) -> None:
    spec = compose()
    for _, path in referenced_paths(spec, ROOT):
        target = tmp_path / path.relative_to(ROOT)
        if path.suffix or path.name == "Dockerfile":
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("")
        else:
            target.mkdir(parents=True, exist_ok=True)
    for directory, patterns in DIRECTORY_CONTENT.items():
        for pattern in patterns:
            example = tmp_path / directory / pattern.replace("*", "example")
            example.parent.mkdir(parents=True, exist_ok=True)
            example.write_text("")
    assert missing_files(spec, tmp_path) == []

    (tmp_path / "alerting" / "alertmanager.yml").unlink()
    (tmp_path / "dashboards" / "example.json").unlink()
    assert missing_files(spec, tmp_path) == [
        "alertmanager: volume ./alerting/alertmanager.yml:/etc/alertmanager/alertmanager.yml: "
        "alerting/alertmanager.yml does not exist",
        "grafana: volume ./dashboards:/var/lib/grafana/dashboards: dashboards/ has no *.json",
    ]


def test_prometheus_config_passes_promtool_with_the_repository_rules(tmp_path: Path) -> None:
    """The config names its rules by their path in the container; promtool checks a copy
    that names the repository's alerting/ instead, so the rule files are checked too."""
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool not found: apt-get install prometheus"
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    assert config["rule_files"] == ["/etc/prometheus/rules/*.rules.yml"]
    rules = sorted(glob.glob(str(ROOT / "alerting" / "*.rules.yml")))
    assert rules, "alerting/ has no *.rules.yml for Prometheus to load"

    config["rule_files"] = [str(ROOT / "alerting" / "*.rules.yml")]
    copy = tmp_path / "prometheus.yml"
    copy.write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [promtool, "check", "config", str(copy)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for rule_file in rules:
        assert f"Checking {rule_file}" in result.stdout + result.stderr


def test_prometheus_config_without_rules_passes_promtool(tmp_path: Path) -> None:
    """The scrape and alerting parts stand on their own, whatever alerting/ holds."""
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool not found: apt-get install prometheus"
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    config["rule_files"] = []
    copy = tmp_path / "prometheus.yml"
    copy.write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [promtool, "check", "config", str(copy)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_finds_what_compose_runs() -> None:
    """Its rules and config are where compose mounts them; it scrapes and alerts services
    of the compose file, on the ports they listen on."""
    spec = compose()
    services = spec["services"]
    prometheus = services["prometheus"]
    mounts = {target: source for source, target in bind_mounts(prometheus)}
    assert mounts["/etc/prometheus/prometheus.yml"] == "./deploy/prometheus.yml"
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    (rules,) = config["rule_files"]
    assert mounts[str(Path(rules).parent)] == "./alerting"

    listening = {
        "slo-service": 8000,
        "demo-exporter": 9105,
        "alertmanager": 9093,
        "prometheus": 9090,
    }
    targets = [
        target
        for job in config["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    ]
    assert {"demo-exporter:9105", "slo-service:8000"} <= set(targets)
    for target in targets + config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]:
        host, port = target.rsplit(":", 1)
        host = "prometheus" if host == "localhost" else host
        assert host in services, target
        assert listening[host] == int(port), target

    demo = services["demo-exporter"]["command"]
    assert demo[demo.index("--port") + 1] == "9105"
    assert "8000:8000" in services["slo-service"]["ports"]


def test_the_demo_slos_apply(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """alerting/example-slos.yaml as slo-service applies it in the container, on a new database."""
    url = f"sqlite:///{tmp_path / 'compose.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    monkeypatch.setenv("SLO_DATABASE_URL", url)
    monkeypatch.setenv("SLO_PROMETHEUS_URL", "http://127.0.0.1:9")  # nothing listens
    result = runner.invoke(
        app, ["apply", "-f", str(ROOT / "alerting" / "example-slos.yaml"), "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert "10 create, 0 update, 0 delete, 0 unchanged (dry run" in result.output
    for model in ("churn-model", "fraud-model"):
        for name in ("availability", "latency-p99-500ms", "model-freshness", "accuracy"):
            assert f"+ create {model}:{name}\n" in result.output
        assert f"+ create {model}:data-freshness\n" in result.output

    slo_service = compose()["services"]["slo-service"]
    assert ("./alerting/example-slos.yaml", "/deploy/slos.yaml") in list(bind_mounts(slo_service))


def slo_service_commands(command: str | list[str]) -> Iterator[list[str]]:
    """The ``slo-service ...`` invocations in a container command, also inside ``sh -c``."""
    words = shlex.split(command) if isinstance(command, str) else list(command)
    if words[:2] == ["sh", "-c"]:
        for part in re.split(r"&&|;|\|\|", words[2]):
            yield from slo_service_commands(part.strip().removeprefix("exec ").strip())
    elif words and words[0] == "slo-service":
        yield words[1:]


def assert_command_exists(args: list[str]) -> None:
    """The command and its options exist: click rejects unknown ones before --help."""
    result = runner.invoke(app, [*args, "--help"])
    assert result.exit_code == 0, f"slo-service {shlex.join(args)}: {result.output}"


def dockerfile_instruction(name: str) -> list[str]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    found = [line for line in text.splitlines() if line.startswith(f"{name} ")]
    assert found, f"Dockerfile has no {name}"
    return [line.split(None, 1)[1].strip() for line in found]


def test_the_dockerfile_runs_commands_that_exist() -> None:
    (cmd,) = dockerfile_instruction("CMD")
    words = json.loads(cmd)
    assert words == ["slo-service", "serve", "--host", "0.0.0.0"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["slo-service"] == "slo_service.cli:app"
    assert_command_exists(words[1:])

    (healthcheck,) = dockerfile_instruction("HEALTHCHECK")
    assert "http://127.0.0.1:8000/healthz" in healthcheck
    assert "/healthz" in {getattr(route, "path", None) for route in health_router.routes}
    assert dockerfile_instruction("EXPOSE") == ["8000"]
    assert dockerfile_instruction("FROM") == ["python:3.11-slim"]
    (user,) = dockerfile_instruction("USER")
    assert user.split(":")[0] not in {"0", "root"}


def test_the_image_gets_what_it_builds_from() -> None:
    """.dockerignore leaves in every file the Dockerfile copies."""
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for copy in dockerfile_instruction("COPY"):
        for source in copy.split()[:-1]:
            assert (ROOT / source).exists(), source
            assert not any(
                Path(source).match(pattern) or source.startswith(f"{pattern}/")
                for pattern in ignored
            ), f"{source} is in .dockerignore"


def test_the_containers_run_commands_that_exist() -> None:
    services = compose()["services"]
    ours = {name: s for name, s in services.items() if s.get("image") == IMAGE}
    assert set(ours) == {"slo-service", "demo-exporter"}
    commands = {name: list(slo_service_commands(s["command"])) for name, s in ours.items()}
    assert commands["slo-service"] == [
        ["migrate"],
        ["apply", "-f", "/deploy/slos.yaml"],
        ["serve", "--host", "0.0.0.0", "--port", "8000"],
    ]
    for args in commands["slo-service"]:
        assert_command_exists(args)
    (demo,) = commands["demo-exporter"]
    assert_command_exists(demo)


def test_grafana_dashboards_use_the_provisioned_datasource() -> None:
    """A dashboard naming a datasource uid that is not provisioned shows "datasource not
    found" in every panel."""
    provisioned = yaml.safe_load(DATASOURCES.read_text())["datasources"]
    uids = {source["uid"] for source in provisioned}
    names = {source["name"] for source in provisioned}
    dashboards = sorted((ROOT / "dashboards").glob("*.json"))
    assert dashboards, "dashboards/ has no *.json"
    unknown = []
    for path in dashboards:
        for ref in datasource_refs(json.loads(path.read_text())):
            uid = ref.get("uid") if isinstance(ref, dict) else ref
            if not isinstance(uid, str) or uid.startswith(("$", "--")) or uid == "grafana":
                continue
            if uid not in uids and uid not in names:
                unknown.append(f"{path.name}: {uid}")
    assert unknown == [], f"provisioned: uids {sorted(uids)}, names {sorted(names)}"


def datasource_refs(node: Any) -> Iterator[Any]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "datasource" and value is not None:
                yield value
            else:
                yield from datasource_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from datasource_refs(item)


def test_the_demo_starts_with_an_incident_the_alert_rules_watch() -> None:
    """With the seed compose gives it, the exporter's first incident (2 minutes in) makes
    churn-model fail, whose availability alerts alerting/ holds, and the first five
    incidents show every kind."""
    command = compose()["services"]["demo-exporter"]["command"]
    (args,) = slo_service_commands(command)
    options = dict(zip(args[1::2], args[2::2], strict=True))
    every = parse_duration(options["--incident-every"]).total_seconds()
    simulator = Simulator(start=0, every=every, seed=int(options["--seed"]))
    incidents = [simulator.incident(index) for index in range(5)]
    assert (incidents[0].kind, incidents[0].model, incidents[0].start) == (
        IncidentKind.ERRORS,
        "churn-model",
        120,
    )
    assert {incident.kind for incident in incidents} == set(IncidentKind)
    watched = {
        (rule["labels"].get("slo_service"), rule["labels"].get("slo_name"))
        for path in sorted((ROOT / "alerting").glob("*.rules.yml"))
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    assert ("churn-model", "availability") in watched
