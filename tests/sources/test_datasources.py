"""The datasources file: what it accepts, and errors at start-up that name the file, the
datasource and the field (or the secret file that cannot be read); and queries shared per
datasource."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from slo_service.domain.sli import SLI_ADAPTER, RatioSli
from slo_service.sources import datasources
from slo_service.sources.base import Request
from slo_service.sources.datasource_set import Datasources
from slo_service.sources.datasources import DatasourcesFileError


def write(folder: Path, document: object) -> Path:
    path = folder / "datasources.yml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_a_mapping_and_a_list_read_alike_with_secrets_relative_to_the_file(
    tmp_path: Path,
) -> None:
    (tmp_path / "token").write_text("tok-123\n")
    (tmp_path / "password").write_text("pw-456\n")
    spec = {
        "url": "https://mimir.example.com/prometheus/",
        "timeout_seconds": 5,
        "headers": {"X-Scope-OrgID": "team-ml"},
        "basic_auth": {"username": "team-ml", "password_file": "password"},
    }
    us = {"url": "http://p:9090", "bearer_token_file": "token"}
    by_name = datasources.load(write(tmp_path, {"eu-prod": spec, "us": us}))
    listed = datasources.load(write(tmp_path, [{"name": "eu-prod", **spec}]))
    assert by_name["eu-prod"] == listed["eu-prod"]
    eu = by_name["eu-prod"]
    assert (eu.url, eu.auth, eu.header_names) == (
        "https://mimir.example.com/prometheus",
        "basic",
        ("X-Scope-OrgID",),
    )
    assert eu.access.basic_auth == ("team-ml", "pw-456")
    assert eu.access.timeout == 5
    assert by_name["us"].access.headers == {"Authorization": "Bearer tok-123"}
    assert "pw-456" not in repr(eu)
    assert "tok-123" not in repr(by_name["us"])


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"eu": {"url": "http://p", "tls": {"insecure": True}}},
         "datasource eu: tls.insecure: Extra inputs are not permitted"),
        ({"eu": {"url": "ftp://p"}}, "datasource eu: url: URL scheme should be 'http' or 'https'"),
        ({"eu": {"url": "http://u:pw@p"}},
         "datasource eu: url: Value error, put no credentials in the URL"),
        ({"eu": {"url": "http://p", "headers": {"Authorization": "Bearer x"}}},
         "datasource eu: headers: Value error, no Authorization header"),
        ({"eu": {"url": "http://p", "bearer_token_file": "t", "basic_auth": {
            "username": "u", "password_file": "p"}}},
         "datasource eu: (the datasource): Value error, give bearer_token_file or basic_auth"),
        ({"eu": {"url": "http://p", "tls": {"cert_file": "c"}}},
         "datasource eu: tls: Value error, give cert_file and key_file together"),
        ({"EU Prod": {"url": "http://p"}}, "datasource 'EU Prod': the name must be"),
        ([{"url": "http://p"}], "datasource #1 (no name): name: Field required"),
        ([{"name": "eu", "url": "http://p"}, {"name": "eu", "url": "http://q"}],
         "datasource eu: listed twice"),
        ({"eu": {"url": "http://p", "timeout_seconds": 0}},
         "datasource eu: timeout_seconds: Input should be greater than 0"),
        ("http://p", "must be a mapping of names to datasources"),
        ({}, "lists no datasource"),
    ],
)  # fmt: skip
def test_errors_name_the_file_the_datasource_and_the_field(
    tmp_path: Path, document: object, problem: str
) -> None:
    path = write(tmp_path, document)
    with pytest.raises(DatasourcesFileError) as raised:
        datasources.load(path)
    assert str(raised.value).startswith(f"SLO_DATASOURCES_FILE {path}:")
    assert problem in str(raised.value)


def test_a_secret_file_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, {"eu": {"url": "http://p", "bearer_token_file": "missing"}})
    with pytest.raises(DatasourcesFileError) as raised:
        datasources.load(path)
    assert str(raised.value) == (
        f"SLO_DATASOURCES_FILE {path}: datasource eu: bearer_token_file {tmp_path / 'missing'}: "
        "cannot read: No such file or directory"
    )
    (tmp_path / "empty").write_text("\n")
    basic = {"username": "u", "password_file": "empty"}
    path = write(tmp_path, {"eu": {"url": "http://p", "basic_auth": basic}})
    with pytest.raises(DatasourcesFileError, match=r"basic_auth\.password_file .*: must hold one"):
        datasources.load(path)
    path = write(tmp_path, {"eu": {"url": "https://p", "tls": {"ca_file": "no-ca.pem"}}})
    with pytest.raises(DatasourcesFileError, match=r"datasource eu: tls\.ca_file: cannot be used"):
        datasources.load(path)


def test_the_cli_refuses_to_start_on_a_bad_file(tmp_path: Path) -> None:
    """``evaluate`` (like ``serve`` and ``worker``) exits before touching anything."""
    path = write(tmp_path, {"eu": {"url": "http://p", "bearer_token_file": "missing"}})
    env = {
        **os.environ,
        "SLO_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "SLO_DATASOURCES_FILE": str(path),
    }
    done = subprocess.run(
        [sys.executable, "-m", "slo_service", "evaluate"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert f"datasource eu: bearer_token_file {tmp_path / 'missing'}: cannot read" in done.stderr
    assert not (tmp_path / "x.db").exists()


def test_the_default_datasource_is_left_out_of_a_stored_sli() -> None:
    """SLOs that name no datasource are stored, exported and audited as before."""
    sli = SLI_ADAPTER.validate_python({"type": "ratio", "total": "a", "good": "b"})
    assert sli.model_dump(exclude_none=True) == {
        "source": "prometheus",
        "type": "ratio",
        "good": "b",
        "total": "a",
    }
    named = SLI_ADAPTER.validate_python(
        {"type": "ratio", "total": "a", "good": "b", "datasource": "eu-prod"}
    )
    assert named.model_dump(exclude_none=True)["datasource"] == "eu-prod"
    assert SLI_ADAPTER.validate_python(named.model_dump()) == named


def test_queries_are_shared_per_datasource_and_an_unknown_one_is_named(
    prometheus_url: str,
) -> None:
    """Two datasources at one Prometheus: SLOs of one datasource share their queries (as many
    requests for two SLOs as for one), each datasource asks on its own."""
    plain = datasources.plain(prometheus_url, timeout=10)["default"]
    both = Datasources(
        {"a": plain, "b": plain, "default": plain}, origin="SLO_DATASOURCES_FILE test"
    )
    sli = RatioSli(good='ml_predictions_total{status="ok"}', total="ml_predictions_total")
    start = 1_700_000_000 - 1_700_000_000 % 3600
    requests = [
        Request(key, sli.model_copy(update={"datasource": name}), start, start + 3600)
        for key, name in ((1, "a"), (2, "a"), (3, "b"), (4, "c"))
    ]
    answers = both.measure(requests, bucket=60)
    assert both.source("a").api.requests == both.source("b").api.requests > 0
    unknown = "no datasource 'c' is configured (SLO_DATASOURCES_FILE test has a, b, default)"
    assert str(answers[4]) == unknown
    assert both.check(requests[3].sli) == [(("datasource",), unknown)]
