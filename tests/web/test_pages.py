"""The SLA pages as HTML, on both backends: the numbers equal the API's for seeded data, the
period selector, the SLO page, the monthly report and its CSV, and signing in."""

import csv
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from slo_service.api.state import state_of
from tests.api.test_gate import HEALTHY, LOW, SPENT, model
from tests.web.test_sign_in import form_csrf

Headers = dict[str, str]


def seed(client: TestClient, admin: Headers) -> dict[str, int]:
    return {
        "churn": model(client, admin, "churn", SPENT),
        "fraud": model(client, admin, "fraud", LOW),
        "search": model(client, admin, "search", HEALTHY),
    }


def status(client: TestClient, admin: Headers, slo_id: int) -> dict[str, Any]:
    answer: dict[str, Any] = client.get(f"/api/v1/slos/{slo_id}/status", headers=admin).json()
    return answer


def row_of(html: str, slo_id: int) -> str:
    found = re.search(rf'<tr class="row [^"]*" data-slo-id="{slo_id}">(.*?)</tr>', html, re.S)
    assert found, f"no row for SLO {slo_id}"
    return found.group(1)


def cell(row: str, name: str) -> str:
    found = re.search(rf'<td class="{name}"[^>]*>(.*?)</td>', row, re.S)
    assert found, name
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def listed(html: str) -> list[str]:
    """The services the overview lists, in order."""
    return re.findall(r'<section class="service" id="service-([a-z0-9-]+)"', html)


def groups(html: str) -> dict[str, dict[str, str]]:
    """The table of services left out, per team: its counts by column."""
    return {
        team: dict(re.findall(r'<td class="([a-z-]+)">([^<]*)</td>', row))
        for team, row in re.findall(r'<tr data-team="([^"]*)">(.*?)</tr>', html, re.S)
    }


def percent(value: float, digits: int) -> str:
    return f"{value * 100:.{digits}f}%"


def test_the_overview_shows_the_apis_numbers_worst_first(
    client: TestClient, admin: Headers
) -> None:
    ids = seed(client, admin)
    first = client.get("/", headers=admin).text
    assert listed(first) == ["churn", "fraud"]  # breached, at risk: the healthy one is counted
    assert '<h2 id="listed">2 services need attention</h2>' in first
    no_team = {"services": "1", "meeting": "1", "at-risk": "0", "breached": "0", "no-data": "0"}
    assert groups(first) == {"": no_team}  # one service, its SLO meeting
    html = client.get("/?state=all", headers=admin).text
    assert listed(html) == ["churn", "fraud", "search"]  # worst first
    assert "other service" not in html
    for service, slo_id in ids.items():
        api = status(client, admin, slo_id)
        row = row_of(html, slo_id)
        assert cell(row, "attainment") == percent(api["sli"], 3), service
        remaining = api["error_budget"]["remaining"]
        assert percent(remaining, 1) in cell(row, "budget"), service
        assert cell(row, "burn") == f"{api['burn_rates']['1h']:.1f}\u00d7", service
    assert "Breached" in row_of(html, ids["churn"])
    assert "freezes deploys" in row_of(html, ids["churn"])
    assert "At risk" in row_of(html, ids["fraud"])
    assert "Meeting" in row_of(html, ids["search"])
    alerts = client.get("/api/v1/alerts", headers=admin).json()["count"]
    tiles = dict(re.findall(r'<span class="num" id="tile-([a-z-]+)">(\d+)</span>', html))
    assert tiles == {"meeting": "1", "at-risk": "1", "breached": "1", "frozen": "1",
                     "alerts": str(alerts)}  # fmt: skip
    assert alerts > 0


def test_the_period_selector(client: TestClient, admin: Headers) -> None:
    ids = seed(client, admin)
    week = client.get("/?period=7d", headers=admin).text
    api = status(client, admin, ids["fraud"])  # a 7-day window: the same numbers
    assert cell(row_of(week, ids["fraud"]), "attainment") == percent(api["sli"], 3)
    assert 'aria-current="true">last 7 days' in week
    last = client.get("/?period=last-month&state=all", headers=admin).text
    if datetime.now(UTC).day > 1:  # the events are from the last hour: none last month
        assert cell(row_of(last, ids["fraud"]), "attainment") == "—"
        assert "No data" in row_of(last, ids["fraud"])
    bad = client.get("/?period=fortnight", headers=admin)
    assert bad.status_code == 422
    assert "one of window, 7d, 30d, this-month, last-month" in bad.json()["detail"]


def test_the_slo_page(client: TestClient, admin: Headers) -> None:
    ids = seed(client, admin)
    api = status(client, admin, ids["churn"])
    html = client.get(f"/slos/{ids['churn']}", headers=admin).text
    assert f'<dd id="sli">{percent(api["sli"], 3)}</dd>' in html
    assert f'<dd id="budget">{percent(api["error_budget"]["remaining"], 1)}</dd>' in html
    assert html.count("<svg") >= 2  # the SLI and the budget charts
    assert "objective 99.000%" in html
    assert "good and total pushed to POST /api/v1/events" in html
    firing = {(a["long_window"]) for a in api["alerts"]}
    assert html.count('<tr class="firing">') == len(firing)
    assert client.get("/slos/churn:availability", headers=admin).status_code == 200
    assert client.get("/slos/99999", headers=admin).status_code == 404


def test_the_monthly_report_and_its_csv(client: TestClient, admin: Headers) -> None:
    ids = seed(client, admin)
    month = datetime.now(UTC).strftime("%Y-%m")
    if datetime.now(UTC).day == 1 and datetime.now(UTC).hour < 1:
        pytest.skip("the seeded events may straddle the month boundary")
    html = client.get(f"/reports/monthly?month={month}", headers=admin).text
    assert "2 of 3 SLOs met their objective; 1 missed it." in html
    assert listed(html) == ["churn"]  # the services that missed, first
    met_counts = {"services": "2", "meeting": "2", "breached": "0", "no-data": "0"}
    assert groups(html) == {"": met_counts}  # two services met, no team
    met = client.get(f"/reports/monthly?month={month}&state=healthy", headers=admin).text
    assert listed(met) == ["fraud", "search"]
    assert 'id="listed">2 services: met every objective' in met
    bad = client.get(f"/reports/monthly?month={month}&state=breached", headers=admin)
    assert bad.status_code == 422
    assert "one of attention, healthy, no-data, all" in bad.json()["detail"]
    answer = client.get(f"/reports/monthly.csv?month={month}", headers=admin)
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert f'filename="sla-report-{month}.csv"' in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["service"] for r in rows] == ["churn", "fraud", "search"]
    alerts = client.get("/api/v1/alerts", headers=admin).json()["data"]
    for row in rows:
        api = status(client, admin, ids[row["service"]])
        assert float(row["attainment"]) == pytest.approx(api["sli"], rel=1e-12)
        assert float(row["good"]) == api["good"]
        assert row["met"] == ("met" if api["sli"] >= 0.99 else "missed")
        spent = (1 - api["sli"]) / 0.01
        assert float(row["budget_consumed"]) == pytest.approx(spent, rel=1e-9)
        assert int(row["alerts"]) == sum(1 for a in alerts if a["service"] == row["service"])
    assert client.get("/reports/monthly?month=2026-13", headers=admin).status_code == 422


def test_pages_need_a_read_token_and_sign_in_sets_it(
    client: TestClient, make_token: Callable[..., Headers]
) -> None:
    away = client.get("/reports/monthly?month=2026-11", follow_redirects=False)
    assert away.status_code == 303
    assert away.headers["location"] == "/login?next=%2Freports%2Fmonthly%3Fmonth%3D2026-11"
    form = client.get("/login?next=/reports/monthly").text
    assert 'name="next" value="/reports/monthly"' in form
    csrf = form_csrf(form)
    wrong = client.post("/login", data={"token": "slo_nope", "next": "/", "csrf": csrf})
    assert wrong.status_code == 401
    assert "unknown API token" in wrong.text
    token = make_token("read")["Authorization"].removeprefix("Bearer ")
    signed = client.post("/login", data={"token": token, "next": "//evil.example/",
                         "csrf": csrf}, follow_redirects=False)  # fmt: skip
    assert signed.status_code == 303
    assert signed.headers["location"] == "/"  # never off the site
    assert "httponly" in signed.headers["set-cookie"].lower()
    assert client.get("/", follow_redirects=False).status_code == 200  # the cookie is sent


def test_the_overview_is_kept_for_its_ttl(client: TestClient, admin: Headers) -> None:
    seed(client, admin)
    first = client.get("/", headers=admin).text
    model(client, admin, "zeta", HEALTHY)  # a new service, within the 10 s the copy is kept
    assert client.get("/", headers=admin).text == first
    assert "service-zeta" in client.get("/?state=all", headers=admin).text  # another filter
    state_of(client.app).pages_cache.put("window", b"")
    cache = state_of(client.app).pages_cache
    assert cache.get("window", ttl=0) is None  # SLO_PAGES_CACHE_SECONDS=0: never kept
