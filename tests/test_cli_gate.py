"""``slo-service gate``: exit codes and output against a real server on loopback."""

import json
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from slo_service.app import create_app
from slo_service.cli import app
from slo_service.config import Settings
from tests.api.test_gate import HEALTHY, LOW, SPENT, model
from tests.support.servers import free_port, serve_in_thread

runner = CliRunner()
Headers = dict[str, str]


@pytest.fixture
def server(settings: Settings) -> Iterator[str]:
    with serve_in_thread(create_app(settings)) as url:
        yield url


@pytest.fixture
def ci(make_token: Callable[..., Headers]) -> str:
    return make_token("gate", name="ci")["Authorization"].removeprefix("Bearer ")


def ask(url: str, token: str, *args: str) -> Result:
    return runner.invoke(app, ["gate", "--url", url, "--token", token, *args])


def test_allow_exits_0(client: TestClient, admin: Headers, server: str, ci: str) -> None:
    model(client, admin, "churn", HEALTHY)
    result = ask(server, ci, "--service", "churn")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ALLOW: churn may deploy (change type feature)")
    assert "churn:availability: 90.0% of the error budget left" in result.stdout
    assert result.stderr == ""


def test_warn_exits_0_with_a_warning_and_1_under_strict(
    client: TestClient, admin: Headers, server: str, ci: str
) -> None:
    model(client, admin, "churn", LOW)
    result = ask(server, ci, "--service", "churn")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("WARN: churn may deploy")
    assert "20.0% of the error budget left, at or below the warn threshold 25.0%" in result.stdout
    assert "warning: churn: deploying with its error budget at risk" in result.stderr
    strict = ask(server, ci, "--service", "churn", "--strict")
    assert strict.exit_code == 1
    assert "--strict: failing" in strict.stderr


def test_deny_exits_1_and_says_what_to_do(
    client: TestClient, admin: Headers, server: str, ci: str, settings: Settings
) -> None:
    slo_id = model(client, admin, "churn", SPENT)
    result = ask(server, ci, "--service", "churn")
    assert result.exit_code == 1, result.output
    out = result.stdout
    assert out.startswith("DENY: churn may not deploy now (change type feature): it is frozen")
    assert "DENY churn:availability: -100.0% of the error budget left" in out
    assert "burn rate 2.0x over 1h, 2.0x over 6h, 2.0x over 1d, 2.0x over 3d" in out
    assert f"{str(settings.public_base_url).rstrip('/')}/slos/{slo_id}" in out
    assert "frozen by the budget of churn:availability since" in out
    assert "wait: the freeze lifts by itself" in out
    assert f"curl -X POST {server}/api/v1/services/churn/overrides" in out
    assert "--change-type TYPE" in out

    rollback = ask(server, ci, "--service", "churn", "--change-type", "rollback")
    assert rollback.exit_code == 0
    assert rollback.stdout.startswith("ALLOW: churn is frozen, but rollback changes are exempt")


def test_json_output_is_the_gate_answer(
    client: TestClient, admin: Headers, server: str, ci: str
) -> None:
    model(client, admin, "churn", SPENT)
    result = ask(server, ci, "--service", "churn", "--format", "json")
    assert result.exit_code == 1
    answer = json.loads(result.stdout)
    assert (answer["decision"], answer["service"]) == ("deny", "churn")
    assert answer["reasons"][0]["cause"] == "budget_frozen"


def test_errors_exit_3_and_say_which(
    client: TestClient, admin: Headers, server: str, ci: str
) -> None:
    model(client, admin, "churn", HEALTHY)
    unknown = ask(server, ci, "--service", "chrun")
    assert unknown.exit_code == 3
    assert "answered 404: no service 'chrun'" in unknown.stderr
    refused = ask(server, "slo_wrong", "--service", "churn")
    assert refused.exit_code == 3
    assert "answered 401: unknown API token" in refused.stderr
    closed = f"http://127.0.0.1:{free_port()}"
    unreachable = ask(closed, ci, "--service", "churn")
    assert unreachable.exit_code == 3
    assert f"gate: {closed} unreachable" in unreachable.stderr
