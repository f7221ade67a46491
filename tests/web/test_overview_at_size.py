"""The SLA overview at a realistic size, in a real headless Chromium: 40 services of five SLOs
(200 SLOs, two days of one-minute buckets, twelve teams) seeded as evaluation leaves them.

Every number the page shows is checked against the API (each SLO's status, the alerts):
the tiles, the rows of the services listed, and the counts per team of those left out. The
filters are driven as a reader would: the team table's links, the search box, the state
select, paging. The page is the same whether it came from the kept copy or a fresh render.
"""

import random
import re
from collections import Counter
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page
from sqlalchemy import Engine

from slo_service.domain.blocks import Layout
from slo_service.services import listing
from tests.support import fleet
from tests.support.browser import PageLog, assert_clean, screenshot
from tests.web.test_pages_browser import links_answer, sign_in, site  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser
Headers = dict[str, str]
SERVICES, TEAMS = 40, 12
_FLAG = {"exhausted": "breached", "warning": "at-risk"}


@pytest.fixture
def seeded_fleet(db: Engine, client: TestClient, admin: Headers) -> dict[str, Any]:
    """The seeded fleet as the API tells it: each SLO (with its status) by id, and each
    service's SLO ids and team. Rolling windows only: their numbers hold still while the test
    runs (a calendar period's timeslice budget grows by the minute)."""
    rng, np_rng = random.Random(11), np.random.default_rng(11)
    for index in range(SERVICES):
        fleet.seed_service(db, index, slos_per_service=5, days=2, layout=Layout(60),
                           rng=rng, np_rng=np_rng, teams=TEAMS, windows=("30d", "7d"))  # fmt: skip
    answer = client.get("/api/v1/slos?limit=500", headers=admin).json()
    slos = {slo["id"]: slo for slo in answer["data"]}
    assert len(slos) == SERVICES * 5
    for slo_id, slo in slos.items():
        slo["status"] = client.get(f"/api/v1/slos/{slo_id}/status", headers=admin).json()
    alerts = client.get("/api/v1/alerts?limit=1000", headers=admin).json()["data"]
    return {"slos": slos, "alerts": [a for a in alerts if a["state"] == "firing"]}


def expected_services(data: dict[str, Any], client: TestClient, admin: Headers) -> dict[str, Any]:
    """Per service, from the API: its team, its SLOs' states, its flags."""
    firing = Counter(alert["service"] for alert in data["alerts"])
    found: dict[str, Any] = {}
    for slo in data["slos"].values():
        entry = found.setdefault(slo["service"], {"team": slo["labels"]["team"], "states": []})
        entry["states"].append(slo["status"]["state"])
    for service, entry in found.items():
        gate = client.get(f"/api/v1/gate?service={service}", headers=admin).json()
        entry["flags"] = listing.flags(entry["states"], frozen=gate["frozen"],
                                       alerts=firing[service])  # fmt: skip
    return found


def listed(page: Page) -> list[str]:
    return [h.split()[0] for h in page.locator("section.service h2").all_inner_texts()]


def test_the_overview_at_200_slos(
    page: Page, page_log: PageLog, site: str, client: TestClient, admin: Headers,  # noqa: F811
    seeded_fleet: dict[str, Any],
) -> None:  # fmt: skip
    slos, services = seeded_fleet["slos"], expected_services(seeded_fleet, client, admin)
    states = Counter(slo["status"]["state"] for slo in slos.values())
    sign_in(page, site, admin)

    # The tiles count every SLO.
    names = ("meeting", "at-risk", "breached", "frozen", "alerts")
    tiles = {name: int(page.locator(f"#tile-{name}").inner_text()) for name in names}
    frozen = sum(1 for entry in services.values() if "frozen" in entry["flags"])
    assert tiles == {"meeting": states["ok"], "at-risk": states["warning"],
                     "breached": states["exhausted"], "frozen": frozen,
                     "alerts": len(seeded_fleet["alerts"])}  # fmt: skip
    assert states["exhausted"] > 0  # the fleet has breached SLOs
    assert states["warning"] > 0  # and some at risk

    # First screen: the services needing attention, worst first; the others counted per team.
    attention = {s for s, e in services.items() if e["flags"] & listing.ATTENTION}
    assert set(listed(page)) == attention
    assert 0 < len(attention) < SERVICES
    heading = page.locator("h2#listed").inner_text()
    assert heading == f"{len(attention)} services need attention"
    for slo_id, slo in slos.items():
        row = page.locator(f'tr[data-slo-id="{slo_id}"]')
        if slo["service"] not in attention:
            assert row.count() == 0
            continue
        api = slo["status"]
        assert row.locator("td.attainment").inner_text() == f"{api['sli'] * 100:.3f}%"
        remaining = api["error_budget"]["remaining"]
        assert row.locator(".budget-text").inner_text() == f"{remaining * 100:.1f}%"
        # Its sparkline ends where its budget is.
        spark = row.locator("td.spark-col svg").get_attribute("aria-label") or ""
        assert f" to {remaining:.0%}, lowest" in spark, spark
    healthy = Counter(e["team"] for s, e in services.items() if s not in attention)
    table = page.locator("table.groups tbody tr")
    shown = {
        r.get_attribute("data-team"): int(r.locator("td.services").inner_text())
        for r in table.all()
    }
    assert shown == dict(healthy)
    slo_states = Counter(
        (services[slo["service"]]["team"], slo["status"]["state"])
        for slo in slos.values()
        if slo["service"] not in attention
    )
    for team in healthy:
        cells = page.locator(f'table.groups tr[data-team="{team}"]')
        assert int(cells.locator("td.meeting").inner_text()) == slo_states[(team, "ok")]
        assert int(cells.locator("td.no-data").inner_text()) == slo_states[(team, "no_data")]
    assert links_answer(page, site) == []
    screenshot(page, "overview-200")

    # A team's link opens its services, all of them.
    team = max(healthy, key=lambda t: (healthy[t], t))
    page.click(f'table.groups tr[data-team="{team}"] a')
    page.wait_for_url(re.compile(r".*team=.*state=all"))
    of_team = {s for s, e in services.items() if e["team"] == team}
    assert set(listed(page)) == of_team

    # The search box: services whose name has "-01" (model-010 ... model-019, model-001).
    page.goto(f"{site}/")
    page.fill("#q", "-01")
    page.select_option("#state", "all")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r".*q=-01"))
    assert sorted(listed(page)) == sorted(s for s in services if "-01" in s)

    # Paging through every service, worst first, without repeating or losing one.
    page.goto(f"{site}/?state=all")
    seen: list[str] = []
    pages = 0
    while True:
        pages += 1
        seen += listed(page)
        following = page.locator("nav.pager a[rel=next]")
        if following.count() == 0:
            break
        following.click()
        page.wait_for_url(re.compile(rf".*page={pages + 1}"))
    assert pages == -(-SERVICES // listing.PAGE_SIZE)
    assert sorted(seen) == sorted(services)
    assert_clean(page_log)

    # The site keeps what it rendered; the test client's app (another process's view of the
    # same database) renders afresh: the same page.
    for path in ("/", "/?state=all&page=2", "/?period=7d&team=team-3&state=all"):
        with httpx.Client(base_url=site, headers=admin, timeout=60) as http:
            first = http.get(path)
            again = http.get(path)
        fresh = client.get(path, headers=admin)
        assert first.status_code == again.status_code == fresh.status_code == 200
        assert again.content == first.content  # the kept copy
        assert main_of(again.text) == main_of(fresh.text), path


def main_of(html: str) -> str:
    found = re.search(r"<main>(.*)</main>", html, re.S)
    assert found
    return found.group(1)
