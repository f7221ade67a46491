"""The drift store over HTTP, on both backends: references, batches, external measurements."""

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from scipy import stats

Headers = dict[str, str]
SERVICE = "churn-model"
BASE = f"/api/v1/drift/{SERVICE}"


def reference_columns(rows: int = 5000, seed: int = 1) -> dict[str, list[Any]]:
    rng = np.random.default_rng(seed)
    ages = rng.normal(40, 10, rows).round(3).tolist()
    ages[:50] = [None] * 50
    return {
        "age": ages,
        "income": rng.lognormal(10, 0.5, rows).round(2).tolist(),
        "country": rng.choice(["de", "fr", "us"], rows, p=[0.5, 0.3, 0.2]).tolist(),
    }


def batch_columns(rows: int = 2000, shift: float = 0.0, seed: int = 2) -> dict[str, list[Any]]:
    rng = np.random.default_rng(seed)
    return {
        "age": rng.normal(40 + shift * 10, 10, rows).round(3).tolist(),
        "income": rng.lognormal(10, 0.5, rows).round(2).tolist(),
        "country": rng.choice(["de", "fr", "us"], rows, p=[0.5, 0.3, 0.2]).tolist(),
    }


def as_csv(columns: dict[str, list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in zip(*columns.values(), strict=True):
        writer.writerow(["" if cell is None else cell for cell in row])
    return out.getvalue()


def post_reference(client: TestClient, headers: Headers, **body: Any) -> dict[str, Any]:
    response = client.post(f"{BASE}/reference", json={"columns": reference_columns(), **body},
                           headers=headers)  # fmt: skip
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def feature(answer: dict[str, Any], name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [f for f in answer["features"] if f["feature"] == name]
    assert len(found) == 1, found
    return found[0]


def test_a_reference_is_kept_compactly_and_versioned(client: TestClient, admin: Headers) -> None:
    first = post_reference(client, admin)
    age = feature(first, "age")
    assert first["version"] == 1
    assert first["rows"] == 5000
    assert age["type"] == "numeric"
    assert age["count"] == 4950
    assert age["null_rate"] == pytest.approx(50 / 5000)
    assert len(age["edges"]) == 9
    assert sum(age["bin_counts"]) == 4950
    assert age["sample_size"] == 4950  # under 10,000 values: all of them
    assert feature(first, "country")["categories"] == dict(
        zip(*np.unique(reference_columns()["country"], return_counts=True), strict=True)
    )
    big = client.post(f"{BASE}/reference", json={"columns": reference_columns(rows=25_000)},
                      headers=admin).json()  # fmt: skip
    assert big["version"] == 2
    assert feature(big, "age")["sample_size"] == 10_000
    overview = client.get(BASE, headers=admin).json()
    assert overview["reference"]["version"] == 2


def test_csv_and_multipart_references_equal_the_json_one(
    client: TestClient, admin: Headers
) -> None:
    from_json = post_reference(client, admin)
    headers = {**admin, "Content-Type": "text/csv"}
    text = as_csv(reference_columns())
    from_csv = client.post(f"{BASE}/reference", content=text, headers=headers).json()
    upload = client.post(
        f"{BASE}/reference", files={"file": ("reference.csv", text.encode())}, headers=admin
    ).json()
    assert [from_csv["version"], upload["version"]] == [2, 3]
    for answer in (from_csv, upload):
        assert answer["features"] == from_json["features"]


def test_a_batch_is_measured_against_the_reference(client: TestClient, admin: Headers) -> None:
    post_reference(client, admin)
    columns = batch_columns(shift=0.5)
    columns["income"][:100] = [None] * 100
    answer = client.post(f"{BASE}/batches", json={"columns": columns}, headers=admin)
    assert answer.status_code == 201, answer.text
    batch = answer.json()
    age, income, country = (feature(batch, n) for n in ("age", "income", "country"))
    reference = [v for v in reference_columns()["age"] if v is not None]
    expected = stats.ks_2samp(reference, columns["age"])
    assert age["ks_statistic"] == pytest.approx(expected.statistic, rel=1e-12)
    assert age["ks_pvalue"] == pytest.approx(expected.pvalue, rel=1e-9)
    assert age["psi"] > 0.2  # half a sigma: significant
    assert income["psi"] < 0.1  # same distribution: stable
    assert income["null_rate"] == pytest.approx(100 / 2000)
    assert income["count"] == 1900
    ref_counts = np.unique(reference_columns()["country"], return_counts=True)[1]
    batch_counts = np.unique(columns["country"], return_counts=True)[1]
    chi2 = stats.chi2_contingency(np.array([ref_counts, batch_counts]), correction=False)
    assert country["chi2_statistic"] == pytest.approx(chi2.statistic, rel=1e-9)
    assert country["chi2_pvalue"] == pytest.approx(chi2.pvalue, rel=1e-9)
    assert country["ks_statistic"] is None
    assert batch["features"][0]["feature"] == "age"  # most drifted first
    assert batch["rows"] == 2000
    assert batch["reference_version"] == 1


def test_a_retried_batch_is_stored_once(client: TestClient, admin: Headers) -> None:
    post_reference(client, admin)
    body = {"columns": batch_columns(), "batch_id": "2026-12-01T10"}
    first = client.post(f"{BASE}/batches", json=body, headers=admin).json()
    again = client.post(f"{BASE}/batches", json=body, headers=admin).json()
    assert (first["duplicate"], again["duplicate"]) == (False, True)
    assert again["id"] == first["id"]
    assert again["features"] == first["features"]
    assert client.get(BASE, headers=admin).json()["history"]["count"] == 3


def test_csv_batch_takes_its_fields_from_the_query(client: TestClient, admin: Headers) -> None:
    post_reference(client, admin)
    at = "2026-11-30T12:00:00Z"
    answer = client.post(
        f"{BASE}/batches?timestamp={at}&batch_id=csv-1",
        content=as_csv(batch_columns()),
        headers={**admin, "Content-Type": "text/csv"},
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["observed_at"] == at
    assert answer.json()["batch_id"] == "csv-1"
    from_json = client.post(f"{BASE}/batches", json={"columns": batch_columns()}, headers=admin)
    assert [f["psi"] for f in answer.json()["features"]] == pytest.approx(
        [f["psi"] for f in from_json.json()["features"]], rel=1e-12
    )


def _with(change: Callable[[dict[str, list[Any]]], object]) -> dict[str, Any]:
    columns = batch_columns(rows=10)
    change(columns)
    return {"json": {"columns": columns}}


def _set(name: str, row: int, value: Any) -> Callable[[dict[str, list[Any]]], object]:
    return lambda columns: columns[name].__setitem__(row, value)


BAD_BATCHES: list[tuple[dict[str, Any], list[str], str]] = [
    (_with(lambda c: c.update(height=[1.0] * 10)), ["columns", "height"], "not a feature"),
    (_with(lambda c: c.pop("income")), ["columns", "income"], "is missing"),
    (_with(_set("age", 3, "forty")), ["columns", "age"], "row 3: 'forty' is not a number"),
    (_with(_set("age", 4, True)), ["columns", "age"], "row 4: True is not a number"),
    (
        {"content": '{"columns": {"age": [1.0, NaN], "income": [1, 2], "country": ["de", "fr"]}}'},
        ["columns", "age"],
        "row 1: nan is not allowed",
    ),
    (
        {"content": "age,income,country\n1,2,de\n-inf,3,fr\n", "csv": True},
        ["columns", "age"],
        "row 1: '-inf' is not allowed",
    ),
    (
        {"content": "age,income,country\n1,x,de\n", "csv": True},
        ["columns", "income"],
        "row 0: 'x' is not a number",
    ),
    ({"json": {"columns": {"age": [], "income": [], "country": []}}}, ["columns"], "no rows"),
    ({"json": {"columns": {}}}, ["columns"], "no features"),
    (_with(lambda c: c["age"].pop()), ["columns", "age"], "has 9 values, other features 10"),
    (
        {"json": {"columns": batch_columns(rows=3), "extra": 1}},
        ["extra"],
        "unknown field 'extra': the fields are columns, timestamp, batch_id",
    ),
    ({"content": "{not json"}, ["body"], "not JSON"),
    ({"content": "age,income\n1,2,3\n", "csv": True}, ["body"], "line 2 has 3 cells"),
]


@pytest.mark.parametrize(
    ("request_", "loc", "reason"),
    BAD_BATCHES,
    ids=[
        "unknown-feature", "missing-feature", "string-in-numeric", "bool-in-numeric",
        "json-nan", "csv-inf", "csv-string-in-numeric", "empty", "no-features", "ragged",
        "extra-field", "not-json", "ragged-csv",
    ],
)  # fmt: skip
def test_a_bad_batch_names_the_feature_and_stores_nothing(
    client: TestClient, admin: Headers, request_: dict[str, Any], loc: list[str], reason: str
) -> None:
    post_reference(client, admin)
    kind = "text/csv" if request_.get("csv") else "application/json"
    if "json" in request_:
        answer = client.post(f"{BASE}/batches", json=request_["json"], headers=admin)
    else:
        headers = {**admin, "Content-Type": kind}
        answer = client.post(f"{BASE}/batches", content=request_["content"], headers=headers)
    assert answer.status_code == 422, answer.text
    errors = answer.json()["errors"]
    assert any(e["loc"] == loc and reason in e["msg"] for e in errors), errors
    assert client.get(BASE, headers=admin).json()["history"]["count"] == 0


def test_a_csv_header_of_100k_columns_named_twice_is_answered_in_one_pass(
    client: TestClient, admin: Headers
) -> None:
    """Each name was counted over the whole header: 100k columns took 9.4 s of CPU, and the
    answer listed all 50,000 names (bench/body_limit.py times it now)."""
    names = [f"c{i}" for i in range(50_000)] * 2
    text = ",".join(names) + "\n" + ",".join("1" for _ in names) + "\n"
    answer = client.post(f"{BASE}/reference", content=text,
                         headers={**admin, "Content-Type": "text/csv"})  # fmt: skip
    assert answer.status_code == 422, answer.text[:500]
    assert answer.json()["errors"] == [
        {"loc": ["columns"], "msg": "50,000 features; at most 1,000"},
        {"loc": ["body"], "msg": "the header names 50,000 names, among them c0, c1, c10, c100, "
         "c1000, c10000, c10001, c10002, c10003, c10004, more than once"},
    ]  # fmt: skip
    assert client.get(BASE, headers=admin).status_code == 404  # nothing stored


def test_a_batch_before_any_reference_is_refused(client: TestClient, admin: Headers) -> None:
    answer = client.post(f"{BASE}/batches", json={"columns": batch_columns()}, headers=admin)
    assert answer.status_code == 422
    assert "has no reference yet" in answer.json()["detail"]
    assert client.get(BASE, headers=admin).status_code == 404


def test_a_reference_feature_without_values_is_refused(client: TestClient, admin: Headers) -> None:
    columns = {"age": [None, None], "country": ["de", "fr"]}
    answer = client.post(f"{BASE}/reference", json={"columns": columns}, headers=admin)
    assert answer.status_code == 422
    assert answer.json()["errors"] == [{"loc": ["columns", "age"], "msg": answer.json()[
        "errors"][0]["msg"]}]  # fmt: skip
    assert "only nulls" in answer.json()["detail"]
    mixed = {"zip": [10115, "75001"]}
    answer = client.post(f"{BASE}/reference", json={"columns": mixed}, headers=admin)
    assert "declare its type" in answer.json()["detail"]
    declared = client.post(
        f"{BASE}/reference", json={"columns": mixed, "types": {"zip": "categorical"}}, headers=admin
    )
    assert declared.status_code == 201, declared.text
    assert feature(declared.json(), "zip")["categories"] == {"10115": 1, "75001": 1}


def test_external_measurements_all_or_none(client: TestClient, admin: Headers) -> None:
    post_reference(client, admin)
    now = datetime.now(UTC)
    good = {"feature": "age", "timestamp": now.isoformat(), "psi": 0.05, "ks_statistic": 0.02}
    unknown = {**good, "feature": "height"}
    answer = client.post(
        f"{BASE}/measurements", json={"measurements": [good, unknown]}, headers=admin
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["loc"] == ["measurements", 1, "feature"]
    no_statistic = {"feature": "age", "timestamp": now.isoformat(), "null_rate": 0.1}
    answer = client.post(f"{BASE}/measurements", json={"measurements": [no_statistic]},
                         headers=admin)  # fmt: skip
    assert answer.status_code == 422
    assert "at least one of psi" in answer.json()["detail"]
    assert client.get(BASE, headers=admin).json()["history"]["count"] == 0
    older = {**good, "timestamp": (now - timedelta(hours=1)).isoformat(), "psi": 0.4}
    answer = client.post(f"{BASE}/measurements", json={"measurements": [good, older]},
                         headers=admin)  # fmt: skip
    assert answer.json() == {"accepted": 2}
    overview = client.get(BASE, headers=admin).json()
    (latest,) = overview["latest"]
    assert (latest["psi"], latest["source"], latest["type"]) == (0.05, "external", "numeric")
    assert [m["psi"] for m in overview["history"]["data"]] == [0.05, 0.4]


def test_overview_lists_the_most_drifted_first_and_filters_history(
    client: TestClient, admin: Headers
) -> None:
    post_reference(client, admin)
    day = datetime.now(UTC) - timedelta(days=1)
    for hours, shift in enumerate((0.0, 1.0)):
        at = (day + timedelta(hours=hours)).isoformat()
        body = {"columns": batch_columns(shift=shift), "timestamp": at}
        assert client.post(f"{BASE}/batches", json=body, headers=admin).status_code == 201
    overview = client.get(BASE, headers=admin).json()
    assert overview["latest"][0]["feature"] == "age"
    psis = [m["psi"] for m in overview["latest"]]
    assert psis == sorted(psis, reverse=True)
    assert overview["history"]["count"] == 6
    since = (day + timedelta(minutes=30)).isoformat()
    recent = client.get(BASE, params={"from": since, "feature": "age"}, headers=admin).json()
    assert recent["history"]["count"] == 1
    assert recent["history"]["data"][0]["psi"] == overview["latest"][0]["psi"]


def test_writes_need_the_write_scope(
    client: TestClient, make_token: Callable[..., Headers]
) -> None:
    reader = make_token("read")
    answer = client.post(f"{BASE}/reference", json={"columns": {"a": [1.0]}}, headers=reader)
    assert answer.status_code == 403
    assert client.post(f"{BASE}/reference", json={"columns": {"a": [1.0]}}).status_code == 401
