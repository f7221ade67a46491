"""Headless Chromium for the page tests: Debian's /usr/bin/chromium driven by Playwright.

The test command installs the ``chromium`` package with apt; the ``playwright`` pip package
brings only its Node driver (never run ``playwright install``: it downloads a browser). Each
launch gets a fresh temporary profile: Playwright passes its own ``--user-data-dir`` and removes
it when the browser closes.

Fixtures (``tests/web/conftest.py`` imports them for the tests under ``tests/web``):
``browser`` (one per package: see its docstring), ``page`` (a fresh 1280x800 context and page
per test) and ``page_log`` (what went wrong on that page: see ``PageLog`` and ``assert_clean``).
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    BrowserType,
    ConsoleMessage,
    Error,
    Page,
    Request,
    Response,
    ViewportSize,
    sync_playwright,
)

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps trying to reach Google's hosts, which
# this machine's closed network refuses.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = ViewportSize(width=1280, height=800)
PHONE = ViewportSize(width=390, height=844)
TIMEOUT_MS = 15_000  # loopback pages: fail a hung wait well before Playwright's 30 s default
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"


@dataclass
class PageLog:
    """What went wrong on a page, one readable line per problem."""

    errors: list[str] = field(default_factory=list)  # console errors and uncaught exceptions
    failed_requests: list[str] = field(default_factory=list)  # no response at all
    bad_responses: list[str] = field(default_factory=list)  # status >= 400
    ignored: list[str] = field(default_factory=list)  # Chromium's own noise, see _is_noise

    def problems(self) -> list[str]:
        return [*self.errors, *self.failed_requests, *self.bad_responses]


def _is_noise(message: ConsoleMessage) -> bool:
    """Chromium fetches /favicon.ico by itself after the first page of a site loads, and logs
    the 404 as a console error (with no response event). That happens once per browser, so it
    would fail whichever test loads a page first."""
    url = message.location.get("url", "")
    return urlsplit(url).path == "/favicon.ico" and message.text.startswith(
        "Failed to load resource"
    )


def watch(page: Page, log: PageLog | None = None) -> PageLog:
    """Record ``page``'s console errors, page errors, failed requests and responses >= 400 in
    ``log`` (a new one by default), and return it. Call it before the page navigates."""
    log = PageLog() if log is None else log

    def on_console(message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        where = message.location.get("url", "")
        line = f"console error: {message.text}" + (f" ({where})" if where else "")
        (log.ignored if _is_noise(message) else log.errors).append(line)

    def on_page_error(error: Error) -> None:
        log.errors.append(f"page error: {error.message}")

    def on_request_failed(request: Request) -> None:
        log.failed_requests.append(f"{request.method} {request.url}: {request.failure}")

    def on_response(response: Response) -> None:
        if response.status >= 400:
            log.bad_responses.append(f"{response.status} {response.request.method} {response.url}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    page.on("requestfailed", on_request_failed)
    page.on("response", on_response)
    return log


def assert_clean(log: PageLog) -> None:
    """Fail, listing every problem, unless the page logged none."""
    problems = log.problems()
    if problems:
        listing = "\n".join(f"  {problem}" for problem in problems)
        raise AssertionError(f"{len(problems)} problem(s) on the page:\n{listing}")


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page PNG as test-artifacts/screenshots/<name>.png (kept as a test artifact)."""
    if not re.fullmatch(r"[\w.-]+", name):
        raise ValueError(f"screenshot name {name!r}: letters, digits, '_', '-' and '.' only")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    return path


def launch(chromium: BrowserType) -> Browser:
    """Debian's Chromium, headless, with a fresh temporary profile: ``launch(p.chromium)`` of a
    started Playwright, or ``launch(browser.browser_type)`` for a second browser (one thread
    can run only one sync Playwright)."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"Chromium not found at {CHROMIUM}: apt-get install chromium")
    return chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)


@contextmanager
def phone(browser: Browser) -> Iterator[Page]:
    """A page in a new phone-sized context (390x844 CSS px, device scale 2, mobile), closed on
    exit. Pages should declare ``<meta name="viewport" content="width=device-width">``: without
    it a mobile browser lays them out 980 px wide."""
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def horizontal_overflow(page: Page) -> int:
    """How many CSS px the page is wider than its layout viewport: > 0 scrolls sideways.

    Measured against ``documentElement.clientWidth``, not ``window.innerWidth``: on a mobile
    viewport Chromium zooms out to fit content that is too wide (down to a quarter), which widens
    ``innerWidth`` with it, so ``scrollWidth - innerWidth`` reads 0 for a 1200 px table at 390 px.
    """
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return int(overflow)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One browser for the tests of a package (tests/web). Not for the session: while the sync
    Playwright runs, its event loop belongs to the main thread and ``asyncio.run()`` there fails
    ("cannot be called from a running event loop"), so it must not outlive the browser tests."""
    playwright = sync_playwright().start()
    try:
        chromium = launch(playwright.chromium)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@pytest.fixture
def page_log() -> PageLog:
    """The problems logged by the ``page`` fixture's page."""
    return PageLog()


@pytest.fixture
def page(browser: Browser, page_log: PageLog) -> Iterator[Page]:
    """A page in a fresh 1280x800 context, its problems recorded in ``page_log``."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        new_page = context.new_page()
        watch(new_page, page_log)
        yield new_page
    finally:
        context.close()
