"""The browser and a phone-sized page that records its requests (tests/browser.py)."""

from tests.browser import browser, phone  # noqa: F401
