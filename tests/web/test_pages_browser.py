"""The SLA pages in a real headless Chromium against a real server (both backends): signing
in through the form, the numbers equal the API's, no console errors, every link answers,
print and phone layouts, text contrast; screenshots are kept under test-artifacts/."""

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page
from sqlalchemy import Engine

from slo_service.app import create_app
from slo_service.config import Settings
from tests.api.test_gate import HEALTHY, LOW, SPENT, model
from tests.support.browser import (
    VIEWPORT,
    PageLog,
    assert_clean,
    horizontal_overflow,
    phone,
    screenshot,
    watch,
)
from tests.support.servers import serve_in_thread

pytestmark = pytest.mark.browser
Headers = dict[str, str]

CONTRAST = """(selector) => {
  const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = getComputedStyle(el).backgroundColor;
      if (!c.startsWith('rgba(0, 0, 0, 0)') && c !== 'transparent') return rgb(c);
    }
    return [255, 255, 255];
  };
  return [...document.querySelectorAll(selector)].map((el) => {
    const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(background(el))];
    return [el.textContent.trim(), (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)];
  });
}"""


@pytest.fixture
def site(db: Engine, closed_port_url: str) -> Iterator[str]:
    settings = Settings(
        database_url=db.url.render_as_string(hide_password=False),
        prometheus_url=closed_port_url,
        scheduler=False,
    )
    with serve_in_thread(create_app(settings, engine=db)) as url:
        yield url


@pytest.fixture
def seeded(client: TestClient, admin: Headers) -> dict[str, int]:
    return {
        "churn": model(client, admin, "churn", SPENT),
        "fraud": model(client, admin, "fraud", LOW),
        "search": model(client, admin, "search", HEALTHY),
    }


def sign_in(page: Page, site: str, headers: Headers, path: str = "/") -> None:
    page.goto(f"{site}{path}")
    assert page.url.startswith(f"{site}/login?next=")
    page.fill("#token", headers["Authorization"].removeprefix("Bearer "))
    page.click("button[type=submit]")
    page.wait_for_url(f"{site}{path}")


def status(client: TestClient, admin: Headers, slo_id: int) -> dict[str, Any]:
    answer: dict[str, Any] = client.get(f"/api/v1/slos/{slo_id}/status", headers=admin).json()
    return answer


def links_answer(page: Page, site: str) -> list[str]:
    """Every link of the page on this site, fetched: those that do not answer 2xx."""
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    broken = []
    for href in sorted(set(hrefs)):
        if href.startswith("/"):
            answer = page.request.get(f"{site}{href}")
            if not answer.ok:
                broken.append(f"{href}: {answer.status}")
    return broken


def test_the_overview_in_a_browser(
    page: Page, page_log: PageLog, site: str, client: TestClient, admin: Headers,
    seeded: dict[str, int],
) -> None:  # fmt: skip
    sign_in(page, site, admin)
    assert page.locator("h1").inner_text() == "Are we meeting our SLAs?"
    names = ("meeting", "at-risk", "breached", "frozen")
    tiles = {name: page.locator(f"#tile-{name}").inner_text() for name in names}
    assert tiles == {"meeting": "1", "at-risk": "1", "breached": "1", "frozen": "1"}
    services = page.locator("section.service h2").all_inner_texts()
    assert [s.split()[0] for s in services] == ["churn", "fraud"]  # those that need attention
    assert page.locator('table.groups tr[data-team=""] td.meeting').inner_text() == "1"
    page.click("#tile-meeting")  # the tile opens the services it counts
    page.wait_for_url(re.compile(r".*state=healthy"))
    assert page.locator("section.service h2").all_inner_texts()[0].split()[0] == "search"
    page.goto(f"{site}/?state=all")
    for slo_id in seeded.values():
        api = status(client, admin, slo_id)
        row = page.locator(f'tr[data-slo-id="{slo_id}"]')
        assert row.locator("td.attainment").inner_text() == f"{api['sli'] * 100:.3f}%"
        remaining = api["error_budget"]["remaining"]
        assert row.locator(".budget-text").inner_text() == f"{remaining * 100:.1f}%"
    # Colour is never the only signal: each row says its state in words.
    assert (
        page.locator(f'tr[data-slo-id="{seeded["churn"]}"] .status')
        .inner_text()
        .startswith("✕ Breached")
    )
    assert links_answer(page, site) == []
    assert_clean(page_log)
    assert screenshot(page, "overview").stat().st_size > 10_000


def test_from_the_overview_to_an_slo_and_the_report(
    page: Page, page_log: PageLog, site: str, client: TestClient, admin: Headers,
    seeded: dict[str, int],
) -> None:  # fmt: skip
    sign_in(page, site, admin)
    page.click(f'tr[data-slo-id="{seeded["fraud"]}"] th a')
    page.wait_for_url(f"{site}/slos/{seeded['fraud']}")
    api = status(client, admin, seeded["fraud"])
    assert page.locator("#sli").inner_text() == f"{api['sli'] * 100:.3f}%"
    assert page.locator("#budget").inner_text() == f"{api['error_budget']['remaining'] * 100:.1f}%"
    assert page.locator("svg.time-chart").count() == 2
    assert "objective 99.000%" in page.locator("svg.time-chart").first.inner_html()
    assert links_answer(page, site) == []
    screenshot(page, "slo")
    page.click("nav >> text=Monthly report")
    page.wait_for_url(re.compile(r".*/reports/monthly$"))
    month = page.locator("#month").input_value()
    page.fill("#month", month)
    assert links_answer(page, site) == []
    csv_link = page.locator("text=Download CSV").get_attribute("href")
    answer = page.request.get(f"{site}{csv_link}")
    assert answer.ok
    assert answer.headers["content-type"].startswith("text/csv")
    page.emulate_media(media="print")
    assert page.locator("header.top").is_hidden()
    assert page.locator("form.no-print").is_hidden()
    screenshot(page, "report-print")
    assert_clean(page_log)


def test_phone_width_and_contrast(
    browser: Browser, site: str, admin: Headers, seeded: dict[str, int]
) -> None:
    with phone(browser) as small:
        log = watch(small)
        sign_in(small, site, admin)
        assert horizontal_overflow(small) <= 0  # tables scroll inside their box, not the page
        assert small.locator("#tile-breached").is_visible()
        screenshot(small, "overview-phone")
        ratios = small.evaluate(CONTRAST, ".badge, .tile .what, td, th, .period")
        low = [(text, round(ratio, 2)) for text, ratio in ratios if text and ratio < 4.5]
        assert low == [], low  # WCAG AA for body text
        small.goto(f"{site}/slos/{seeded['churn']}")
        assert horizontal_overflow(small) <= 0
        assert_clean(log)


def session_cookie(page: Page, site: str) -> str | None:
    found = [c["value"] for c in page.context.cookies(site) if c["name"] == "slo_session"]
    return found[0] if found else None


def test_the_pages_keep_to_their_content_security_policy(
    browser: Browser, site: str, admin: Headers, seeded: dict[str, int]
) -> None:
    """Every page loads under its policy without a violation (Chromium reports each on the
    console), and the policy is in force: an inline style is refused."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        log = watch(page)
        sign_in(page, site, admin)
        for path in ("/", "/?period=7d", f"/slos/{seeded['churn']}", "/reports/monthly", "/login"):
            response = page.goto(f"{site}{path}")
            assert response is not None
            assert "default-src 'self'" in response.headers["content-security-policy"], path
            assert response.headers["x-frame-options"] == "DENY", path
        assert_clean(log)

        ink = page.evaluate("getComputedStyle(document.body).color")
        violation = "Content Security Policy"
        with page.expect_console_message(lambda message: violation in message.text):
            page.evaluate(
                """() => { const s = document.createElement('style');
                           s.textContent = 'body { color: rgb(255, 0, 0) }';
                           document.head.appendChild(s); }"""
            )
        assert page.evaluate("getComputedStyle(document.body).color") == ink
        assert any(violation in error for error in log.errors), log.errors
    finally:
        context.close()


def test_sign_in_keeps_a_session_and_sign_out_ends_it(
    page: Page, page_log: PageLog, site: str, admin: Headers, seeded: dict[str, int]
) -> None:
    sign_in(page, site, admin)
    cookie = session_cookie(page, site)
    assert cookie is not None
    assert admin["Authorization"].removeprefix("Bearer ") not in cookie
    assert {c["name"]: c["httpOnly"] for c in page.context.cookies(site)}["slo_session"]
    page.click("form.signout button")
    page.wait_for_url(f"{site}/login")
    assert session_cookie(page, site) is None
    page.goto(f"{site}/slos/{seeded['churn']}")
    assert page.url.startswith(f"{site}/login?next=")
    assert_clean(page_log)


def test_another_sites_form_cannot_sign_the_browser_in(
    browser: Browser, site: str, make_token: Callable[..., Headers], seeded: dict[str, int]
) -> None:
    """Login CSRF from a page on another origin (another loopback port), posted by a real
    browser: refused, and the browser stays signed out."""
    mallory = make_token("read", name="mallory")["Authorization"].removeprefix("Bearer ")
    evil = FastAPI()
    form = (
        f'<!doctype html><html lang="en"><head><title>win</title></head><body>'
        f'<form method="post" action="{site}/login"><input name="token" value="{mallory}">'
        '<input name="next" value="/"><input name="csrf" value="guess">'
        '<button id="go" type="submit">win a prize</button></form></body></html>'
    )
    evil.add_api_route("/", lambda: HTMLResponse(form), methods=["GET"])
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(f"{site}/login")  # the reader's own CSRF cookie is there: no help to evil
        with serve_in_thread(evil) as elsewhere:
            page.goto(elsewhere)
            with page.expect_response(f"{site}/login") as answer:
                page.click("#go")
        assert answer.value.status == 403
        assert "another site" in answer.value.text()
        assert session_cookie(page, site) is None
        page.goto(f"{site}/")
        assert page.url.startswith(f"{site}/login?next=")
    finally:
        context.close()
