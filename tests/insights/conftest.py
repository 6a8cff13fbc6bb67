"""What the statistics' tests share: the browser of the browser tests (tests/browser.py),
the nation's tables, in the order of the API, and a settle period of none.

Published figures count only registrations INSIGHTS_SETTLE_DAYS old (7 by default) of people
with a verified e-mail address. The tests here register people today and read the published
figures at once, so they settle at once (0 days); their people are verified
(``UserFactory``). ``tests/insights/test_padding.py`` is about the rule: it sets the period.
"""

import pytest

from tests.browser import browser  # noqa: F401


@pytest.fixture(autouse=True)
def _settled_at_once(settings):
    settings.INSIGHTS_SETTLE_DAYS = 0


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
