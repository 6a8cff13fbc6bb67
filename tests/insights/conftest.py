"""What the statistics' tests share: the browser of the browser tests (tests/browser.py) and
the nation's tables, in the order of the API."""

from tests.browser import browser  # noqa: F401

NATIONAL_TABLES = [
    "summary",
    "series",
    "regions",
    "prefectures",
    "ranking",
    "flow",
    "tiers",
    "visiting",
    "types",
    "home_regions",
    "origins",
    "genders",
    "age_bands",
    "board",
    "funnel",
]
