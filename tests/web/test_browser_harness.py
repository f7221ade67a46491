"""The browser harness itself: a tiny app served for real, loaded in Debian's headless Chromium.

Each check is shown to pass on a good page and to fail on a bad one.
"""

from collections.abc import Awaitable, Callable, Iterator

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from playwright.sync_api import Browser, Page

from tests.support.browser import (
    PageLog,
    assert_clean,
    horizontal_overflow,
    launch,
    phone,
    screenshot,
    watch,
)
from tests.support.servers import free_port, serve_in_thread

pytestmark = pytest.mark.browser

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def html(body: str, title: str = "harness") -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title></head><body>{body}</body></html>"
    )


def make_app(unreachable: str) -> FastAPI:
    """``unreachable`` is a base URL where nothing listens: a request there fails outright."""
    app = FastAPI()
    app.state.paths = []

    @app.middleware("http")
    async def record(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        app.state.paths.append(request.url.path)
        return await call_next(request)

    pages = {
        "/ok": html(
            '<h1 id="title">Error budgets</h1><p>All SLOs are met.</p><a href="/ok2">Next</a>',
            title="ok",
        ),
        "/ok2": html("<h1>Second page</h1>", title="ok2"),
        "/broken": html(
            '<h1>Broken</h1><img src="/missing.png" alt="missing">'
            f'<img src="{unreachable}/gone.png" alt="gone">'
            '<script>throw new Error("boom from inline script")</script>',
            title="broken",
        ),
        "/narrow": html("<p>Fits on a phone.</p>"),
        "/wide": html('<div style="width: 2000px; height: 20px; background: #c00"></div>'),
        # Too wide, but under 4 x 390 px: a phone zooms out to fit it, window.innerWidth with it.
        "/zoomed": html('<table style="width: 1200px"><tr><td>budget</td></tr></table>'),
    }
    for path, text in pages.items():
        app.add_api_route(path, lambda text=text: HTMLResponse(text), methods=["GET"])
    return app


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return make_app(f"http://127.0.0.1:{free_port()}")


@pytest.fixture(scope="module")
def site(app: FastAPI) -> Iterator[str]:
    with serve_in_thread(app) as url:
        yield url


def test_ok_page_loads_navigates_and_is_clean(site: str, page: Page, page_log: PageLog) -> None:
    response = page.goto(f"{site}/ok")
    assert response is not None
    assert response.status == 200
    assert page.title() == "ok"
    assert page.locator("h1").inner_text() == "Error budgets"

    page.get_by_role("link", name="Next").click()
    page.wait_for_url(f"{site}/ok2")
    assert page.locator("h1").inner_text() == "Second page"
    assert_clean(page_log)


def test_screenshot_is_a_png_of_the_page(site: str, page: Page, page_log: PageLog) -> None:
    page.goto(f"{site}/ok")
    path = screenshot(page, "harness-ok")
    assert path.name == "harness-ok.png"
    assert path.parent.parts[-2:] == ("test-artifacts", "screenshots")
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > 5_000  # text rendered in a real font, not a blank image
    assert_clean(page_log)


def test_screenshot_name_stays_in_the_artifacts_folder(page: Page) -> None:
    with pytest.raises(ValueError, match="screenshot name"):
        screenshot(page, "../escape")


def test_broken_page_is_reported(site: str, page: Page, page_log: PageLog) -> None:
    page.goto(f"{site}/broken")  # returns on "load": both images settled, found or not

    assert any("boom from inline script" in error for error in page_log.errors)
    assert any("404" in error and "/missing.png" in error for error in page_log.errors)
    assert page_log.bad_responses == [f"404 GET {site}/missing.png"]
    assert len(page_log.failed_requests) == 1
    assert "/gone.png" in page_log.failed_requests[0]
    assert "ERR_CONNECTION_REFUSED" in page_log.failed_requests[0]

    with pytest.raises(AssertionError) as failure:
        assert_clean(page_log)
    message = str(failure.value)
    for problem in page_log.problems():
        assert problem in message
    assert "boom from inline script" in message
    assert "/missing.png" in message
    assert "/gone.png" in message


def test_chromiums_own_favicon_request_is_not_a_problem(
    browser: Browser, site: str, app: FastAPI
) -> None:
    """A new browser fetches /favicon.ico after its first page of a site (a 404 here) and logs
    a console error for it: recorded as ignored, not as a problem of the page."""
    fresh = launch(browser.browser_type)  # a new browser: the shared one may have asked already
    try:
        new_page = fresh.new_page()
        log = watch(new_page)
        new_page.goto(f"{site}/ok")
        for _ in range(50):
            if log.ignored:
                break
            new_page.wait_for_timeout(100)
    finally:
        fresh.close()
    assert "/favicon.ico" in app.state.paths
    assert len(log.ignored) == 1
    assert "/favicon.ico" in log.ignored[0]
    assert_clean(log)


def test_phone_viewport(browser: Browser, site: str) -> None:
    with phone(browser) as small:
        small.goto(f"{site}/narrow")
        size = small.evaluate("[window.innerWidth, window.innerHeight, window.devicePixelRatio]")
        assert size == [390, 844, 2]


def test_no_horizontal_overflow_on_a_simple_page(browser: Browser, site: str) -> None:
    with phone(browser) as small:
        log = watch(small)
        small.goto(f"{site}/narrow")
        assert horizontal_overflow(small) == 0
        assert_clean(log)


def test_wide_element_overflows_at_phone_width(browser: Browser, site: str) -> None:
    with phone(browser) as small:
        small.goto(f"{site}/wide")
        assert horizontal_overflow(small) > 1500
        screenshot(small, "harness-phone-wide")


def test_overflow_is_seen_when_the_phone_zooms_out(browser: Browser, site: str) -> None:
    """Content under four times the width makes Chromium zoom out until it fits, so that
    scrollWidth == innerWidth: measuring against innerWidth would miss this overflow."""
    with phone(browser) as small:
        small.goto(f"{site}/zoomed")
        widths = small.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] == widths[1]  # the trap
        assert horizontal_overflow(small) > 500
