"""The browser of the dashboards' browser tests (tests/browser.py)."""

from tests.browser import browser  # noqa: F401
