"""A real headless Chromium (Debian's package) driven by Playwright, recording every request.

The fixtures are imported by the conftest.py of each folder of browser tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import sync_playwright

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    """Playwright's sync API keeps an event loop running in this thread, which Django takes
    for an async context; the database calls of these tests are ordinary synchronous ones,
    so Django's guard is lifted while (and only while) the browser is open."""
    executable = shutil.which("chromium")
    assert executable, "Chromium is missing: `make test` installs it (apt package chromium)."
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=FLAGS)
            yield browser
            browser.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


# Chromium reports what the Content-Security-Policy blocked on the console ("Refused to
# apply inline style because it violates the following Content Security Policy directive").
CSP_CONSOLE_MARK = "Content Security Policy"


class RecordingPage:
    """A page at phone size that remembers every URL it requested and every console message
    of a Content-Security-Policy violation (``csp_violations``)."""

    def __init__(self, page):
        self.page = page
        self.requests: list[str] = []
        self.csp_violations: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("console", self._console)

    def _console(self, message) -> None:
        if CSP_CONSOLE_MARK in message.text:
            self.csp_violations.append(f"{self.page.url}: {message.text}")

    def external_requests(self) -> list[str]:
        return [
            url
            for url in self.requests
            if urlsplit(url).scheme in ("http", "https", "ws", "wss")
            and urlsplit(url).hostname not in LOCAL_HOSTS
        ]

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def phone(browser):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=1, locale="ja-JP"
    )
    page = RecordingPage(context.new_page())
    yield page
    context.close()
    # Every browser test fails on a page that broke the site's Content-Security-Policy.
    assert page.csp_violations == [], page.csp_violations
