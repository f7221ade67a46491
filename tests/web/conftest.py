"""The browser fixtures (Debian's headless Chromium via Playwright) for the tests in tests/web."""

from tests.support.browser import browser, page, page_log  # noqa: F401
