"""Named datasources against the real thing: a Prometheus that requires basic auth
(``--web.config.file``), one that requires TLS with a client certificate from a CA this module
makes with openssl, and nginx in front of Prometheus requiring a bearer token and an
``X-Scope-OrgID`` header, as Mimir and Cortex do. Right credentials measure; wrong ones give an
error naming the datasource and the HTTP status, in ``last_error``, ``/status``, the evaluate
answer and ``GET /api/v1/datasources``; no secret appears in an answer, the logs or the audit
log."""

import base64
import logging
import shutil
import ssl
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from slo_service import migrate
from slo_service.app import create_app
from slo_service.config import Settings
from slo_service.db import make_engine
from tests.support.gateway import make_pki, tenant_gateway
from tests.support.metrics import MODELS, Scenario, backfill
from tests.support.servers import prometheus_server

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # bcrypt through crypt, as Debian has it
    import crypt

Headers = dict[str, str]
MODEL = MODELS[0]
USER, PASSWORD = "slo-reader", "pw-Basic-7c1e9a"
TOKEN = "tok-Bearer-4f2d81"  # what nginx wants
UPSTREAM = "pw-Upstream-a93b"  # nginx's own basic auth to Prometheus
ORG = "team-ml"
SECRETS = (PASSWORD, TOKEN, UPSTREAM, "wrong-Secret-55e0")
SERVER_NAME = "prometheus.tls.test"


def availability(name: str = "availability", **sli: Any) -> dict[str, Any]:
    """An availability SLO of MODEL; ``sli`` overrides the kind's SLI (e.g. its datasource)."""
    slo: dict[str, Any] = {
        "service": "churn",
        "name": name,
        "kind": "availability",
        "objective": 0.99,
        "window": "1d",
        "params": {"model_name": MODEL},
    }
    return {**slo, "sli": sli} if sli else slo


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """SQLite only: what is tested here is the metric backends, not the database."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('db') / 'datasources.db'}")
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def tsdb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four hours of MODEL's metrics ending an hour ago, as TSDB blocks (copied per server)."""
    now = int(time.time())
    scenario = Scenario(end=now - now % 3600 - 3600, hours=4, models=(MODEL,))
    return backfill([scenario.generate()], tmp_path_factory.mktemp("tsdb"))


def _copy(tsdb: Path, workdir: Path) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copytree(tsdb, workdir / "data"))


@pytest.fixture(scope="module")
def basic_prometheus(tmp_path_factory: pytest.TempPathFactory, tsdb: Path) -> Iterator[str]:
    """Prometheus requiring basic auth: USER with PASSWORD, or nginx with UPSTREAM."""
    workdir = tmp_path_factory.mktemp("basic")
    users = {
        USER: crypt.crypt(PASSWORD, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)),
        "nginx": crypt.crypt(UPSTREAM, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)),
    }
    web = workdir / "web.yml"
    web.write_text(yaml.safe_dump({"basic_auth_users": users}))
    ready = httpx.Client(auth=(USER, PASSWORD), timeout=1)
    with prometheus_server(workdir, tsdb=_copy(tsdb, workdir), web_config=web, ready=ready) as url:
        yield url


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server certificate for SERVER_NAME and a client certificate it signed, and
    another CA that signed nothing."""
    return make_pki(tmp_path_factory.mktemp("pki"), SERVER_NAME)


@pytest.fixture(scope="module")
def tls_prometheus(
    tmp_path_factory: pytest.TempPathFactory, tsdb: Path, pki: Path
) -> Iterator[str]:
    """Prometheus serving TLS with the CA's server certificate, requiring a client
    certificate the CA signed."""
    workdir = tmp_path_factory.mktemp("tls")
    web = workdir / "web.yml"
    server = {
        "cert_file": str(pki / "server.pem"),
        "key_file": str(pki / "server.key"),
        "client_auth_type": "RequireAndVerifyClientCert",
        "client_ca_file": str(pki / "ca.pem"),
    }
    web.write_text(yaml.safe_dump({"tls_server_config": server}))
    context = ssl.create_default_context(cafile=pki / "ca.pem")
    context.check_hostname = False  # it asks 127.0.0.1; the certificate is for SERVER_NAME
    context.load_cert_chain(pki / "client.pem", pki / "client.key")
    ready = httpx.Client(verify=context, timeout=1)
    with prometheus_server(workdir, tsdb=_copy(tsdb, workdir), web_config=web, ready=ready) as url:
        yield url


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory, basic_prometheus: str) -> Iterator[str]:
    """nginx in front of ``basic_prometheus``: 401 without the bearer TOKEN or without an
    X-Scope-OrgID, 403 for a tenant other than ORG; it authenticates to Prometheus itself."""
    upstream = f"Basic {base64.b64encode(f'nginx:{UPSTREAM}'.encode()).decode()}"
    folder = tmp_path_factory.mktemp("nginx")
    with tenant_gateway(folder, basic_prometheus, token=TOKEN, org=ORG, upstream=upstream) as url:
        yield url


@pytest.fixture
def configure(
    settings: Settings, db: Engine, tmp_path: Path
) -> Iterator[Callable[[dict[str, Any]], TestClient]]:
    """An app whose SLO_DATASOURCES_FILE lists ``datasources`` (secrets written to files)."""
    opened: list[TestClient] = []

    def make(datasources: dict[str, Any]) -> TestClient:
        path = tmp_path / f"datasources-{len(opened)}.yml"
        path.write_text(yaml.safe_dump(datasources))
        configured = settings.model_copy(update={"datasources_file": path})
        client = TestClient(create_app(configured, engine=db))
        opened.append(client.__enter__())
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


def secret_file(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text + "\n")
    return str(path)


def evaluate(client: TestClient, headers: Headers, ref: str) -> httpx.Response:
    answer: httpx.Response = client.post(f"/api/v1/slos/{ref}/evaluate", headers=headers)
    return answer


def shown(client: TestClient, headers: Headers) -> dict[str, dict[str, Any]]:
    answer = client.get("/api/v1/datasources", headers=headers)
    assert answer.status_code == 200, answer.text
    return {item["name"]: item for item in answer.json()["data"]}


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def test_basic_auth_right_password_measures_wrong_one_is_named(
    configure: Callable[[dict[str, Any]], TestClient],
    admin: Headers,
    make_token: Callable[..., Headers],
    basic_prometheus: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    right = {"username": USER, "password_file": secret_file(tmp_path, "right", PASSWORD)}
    wrong = {"username": USER, "password_file": secret_file(tmp_path, "wrong", SECRETS[-1])}
    client = configure(
        {
            "eu-prod": {"url": basic_prometheus, "basic_auth": right},
            "eu-wrong": {"url": basic_prometheus, "basic_auth": wrong},
        }
    )
    created = client.post("/api/v1/slos", json=availability(datasource="eu-prod"), headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["sli"]["datasource"] == "eu-prod"
    measured = evaluate(client, admin, "churn:availability")
    assert measured.status_code == 200, measured.text
    assert measured.json()["total"] > 0
    assert measured.json()["last_error"] is None

    refused = client.post(
        "/api/v1/slos", json=availability("wrong", datasource="eu-wrong"), headers=admin
    )
    assert refused.status_code == 201, refused.text  # as when unreachable: checked locally
    failed = evaluate(client, admin, "churn:wrong")
    assert failed.status_code == 503
    expected = (
        f"datasource eu-wrong ({basic_prometheus}): HTTP 401 Unauthorized: "
        "check its basic_auth username and password_file"
    )
    assert failed.json()["detail"] == expected
    status = client.get("/api/v1/slos/churn:wrong/status", headers=admin)
    assert status.json()["last_error"] == expected

    reader = make_token("read")
    listed = shown(client, reader)
    assert listed["eu-prod"]["auth"] == "basic"
    assert listed["eu-prod"]["last_query_ok"] is True
    assert listed["eu-prod"]["last_error"] is None
    assert listed["eu-wrong"]["last_query_ok"] is False
    assert listed["eu-wrong"]["last_error"] == expected
    audit = client.get("/api/v1/audit", headers=admin)
    assert audit.status_code == 200
    answers = [created, measured, refused, failed, status, audit]
    answers.append(client.get("/api/v1/datasources", headers=reader))
    assert_no_secret(*(answer.text for answer in answers), caplog.text)


def test_tls_with_a_client_certificate_measures_and_each_missing_part_is_named(
    configure: Callable[[dict[str, Any]], TestClient],
    admin: Headers,
    tls_prometheus: str,
    pki: Path,
) -> None:
    client_cert = {"cert_file": str(pki / "client.pem"), "key_file": str(pki / "client.key")}
    right = {"ca_file": str(pki / "ca.pem"), "server_name": SERVER_NAME, **client_cert}
    variants = {
        "thanos": right,
        "no-cert": {**right, "cert_file": None, "key_file": None},
        "other-ca": {**right, "ca_file": str(pki / "other-ca.pem")},
        "no-name": {**right, "server_name": None},
    }
    client = configure(
        {name: {"url": tls_prometheus, "tls": tls} for name, tls in variants.items()}
    )
    for name in ("thanos", "no-cert", "other-ca", "no-name"):
        slo = availability(name, datasource=name)
        assert client.post("/api/v1/slos", json=slo, headers=admin).status_code == 201
    measured = evaluate(client, admin, "churn:thanos")
    assert measured.status_code == 200, measured.text
    assert measured.json()["total"] > 0
    hint = "check its tls ca_file, server_name, cert_file and key_file"
    for name, reason in (
        ("no-cert", "the server refused the handshake (SSLV3_ALERT_BAD_CERTIFICATE)"),
        ("other-ca", "unable to get local issuer certificate"),
        ("no-name", "IP address mismatch"),
    ):
        failed = evaluate(client, admin, f"churn:{name}")
        assert failed.status_code == 503
        detail = failed.json()["detail"]
        assert detail.startswith(f"datasource {name} ({tls_prometheus}) unreachable: TLS failed: ")
        assert reason in detail
        assert detail.endswith(hint)
    listed = shown(client, admin)
    assert listed["thanos"]["auth"] == "tls-client"
    assert listed["thanos"]["last_query_ok"] is True
    assert listed["no-cert"]["last_query_ok"] is False


def test_a_mimir_like_gateway_wants_the_token_and_the_tenant(
    configure: Callable[[dict[str, Any]], TestClient],
    admin: Headers,
    nginx: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    token = secret_file(tmp_path, "token", TOKEN)
    wrong = secret_file(tmp_path, "wrong", SECRETS[-1])
    tenant = {"X-Scope-OrgID": ORG}
    client = configure(
        {
            "mimir": {"url": nginx, "bearer_token_file": token, "headers": tenant},
            "bad-token": {"url": nginx, "bearer_token_file": wrong, "headers": tenant},
            "no-tenant": {"url": nginx, "bearer_token_file": token},
            "other-tenant": {"url": nginx, "bearer_token_file": token,
                             "headers": {"X-Scope-OrgID": "team-web"}},
        }
    )  # fmt: skip
    created = client.post("/api/v1/slos", json=availability(datasource="mimir"), headers=admin)
    assert created.status_code == 201, created.text
    measured = evaluate(client, admin, "churn:availability")
    assert measured.status_code == 200, measured.text
    assert measured.json()["total"] > 0
    for name, status, hint in (
        ("bad-token", "401 Unauthorized", "check its bearer_token_file and its headers"),
        ("no-tenant", "401 Unauthorized", "check its bearer_token_file"),
        ("other-tenant", "403 Forbidden", "check its bearer_token_file and its headers"),
    ):
        slo = availability(name, datasource=name)
        assert client.post("/api/v1/slos", json=slo, headers=admin).status_code == 201
        failed = evaluate(client, admin, f"churn:{name}")
        assert failed.status_code == 503
        assert failed.json()["detail"].startswith(f"datasource {name} ({nginx}): HTTP {status}: ")
        assert hint in failed.json()["detail"]
    listed = shown(client, admin)
    assert listed["mimir"] | {"last_query_at": None} == {
        "name": "mimir",
        "url": nginx,
        "auth": "bearer",
        "headers": ["X-Scope-OrgID"],
        "last_query_at": None,
        "last_query_ok": True,
        "last_error": None,
    }
    assert listed["mimir"]["last_query_at"] is not None
    answers = [created.text, measured.text, client.get("/api/v1/datasources", headers=admin).text]
    assert_no_secret(*answers, caplog.text)


def test_an_unknown_datasource_is_a_422_at_sli_datasource(
    configure: Callable[[dict[str, Any]], TestClient],
    admin: Headers,
    basic_prometheus: str,
    tmp_path: Path,
) -> None:
    right = {"username": USER, "password_file": secret_file(tmp_path, "right", PASSWORD)}
    client = configure({"eu-prod": {"url": basic_prometheus, "basic_auth": right}})
    custom: dict[str, Any] = {
        "service": "churn",
        "name": "accuracy",
        "kind": "custom",
        "objective": 0.95,
        "sli": {"type": "threshold", "query": "min(ml_model_accuracy)", "op": ">=",
                "threshold": 0.8, "datasource": "us-prod"},
    }  # fmt: skip
    for slo in (availability(datasource="us-prod"), custom, availability("plain")):
        refused = client.post("/api/v1/slos", json=slo, headers=admin)
        assert refused.status_code == 422, refused.text
        (error,) = refused.json()["errors"]
        assert error["loc"] == ["sli", "datasource"]
        name = dict(slo.get("sli") or {}).get("datasource", "default")
        assert error["msg"] == (
            f"no datasource {name!r} is configured "
            f"(SLO_DATASOURCES_FILE {tmp_path / 'datasources-0.yml'} has eu-prod)"
        )
    assert client.get("/api/v1/slos", headers=admin).json()["count"] == 0
