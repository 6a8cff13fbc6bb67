"""The statistics pages in a real headless Chromium (Debian's package, driven by Playwright as
in tests/platform/browser/): the charts and the maps are drawn by the server as inline SVG,
no request leaves the machine, nothing is wider than a phone, and a screenshot of each page
is kept in test-artifacts/screenshots/ for a person to look at."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import Role
from demo.population import board_generate, population_generate
from insights import services
from tests.browser import RecordingPage
from tests.factories import person_with_role, sign_in

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("municipalities"),
    pytest.mark.xdist_group("insights-browser"),
]

AS_OF = datetime.date(2026, 11, 23)
PHONE = {"width": 390, "height": 844}
WIDE = {"width": 1280, "height": 900}


@pytest.fixture
def population():
    """Some thousands of people with registrations over three years, a board with sign-ups
    and attendance, and the counts brought up to date (as the periodic job does)."""
    population_generate(people=3_000, seed=6_101, batch=3_000, as_of=AS_OF)
    board_generate(tasks=150, signups=900, seed=6_102, batch=900, as_of=AS_OF)
    services.counts_rebuild()


@pytest.fixture
def open_page(browser, live_server):
    """A page at a viewport, signed in as ``user`` (the session cookie of a test client)."""
    contexts = []

    def open_(user=None, viewport=PHONE) -> RecordingPage:
        context = browser.new_context(viewport=viewport, device_scale_factor=1, locale="ja-JP")
        contexts.append(context)
        if user is not None:
            client = Client()
            sign_in(client, user)
            cookie = client.cookies[settings.SESSION_COOKIE_NAME]
            context.add_cookies(
                [{"name": cookie.key, "value": cookie.value, "url": live_server.url}]
            )
        return RecordingPage(context.new_page())

    yield open_
    for context in contexts:
        context.close()


def _load(page: RecordingPage, url: str) -> None:
    response = page.page.goto(url)
    assert response.status == 200, url
    assert page.page.url == url  # not sent to the login page


def _too_wide(page: RecordingPage, width: int) -> list[str]:
    """What reaches beyond the viewport: nothing on a phone (wide tables scroll in their box)."""
    return page.page.evaluate(
        """(width) => {
            const wide = [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > width + 1
                    && !e.closest('.table-scroll'))
                .map(e => e.tagName + '.' + (e.className.baseVal ?? e.className));
            const scroll = document.documentElement.scrollWidth;
            return scroll > width ? [`scrollWidth ${scroll}`, ...wide.slice(0, 10)] : wide;
        }""",
        width,
    )


def _charts_drawn(page: RecordingPage) -> dict:
    """How many charts of each kind are in the DOM, with the size the browser gave them."""
    return page.page.evaluate(
        """() => {
            const found = {};
            for (const svg of document.querySelectorAll('svg.chart')) {
                const kind = [...svg.classList].find(c => c.startsWith('chart-')).slice(6);
                const box = svg.getBoundingClientRect();
                if (box.width > 100 && box.height > 50 && svg.getAttribute('role') === 'img'
                    && svg.querySelector('title').textContent.trim()) {
                    found[kind] = (found[kind] || 0) + 1;
                }
            }
            return found;
        }"""
    )


def test_the_national_page_draws_its_charts_and_map_offline(live_server, population, open_page):
    admin = person_with_role(Role.NATIONAL_ADMIN)
    for user, name in ((admin, "national-admin"), (None, "national-anonymous")):
        page = open_page(user)
        _load(page, f"{live_server.url}/stats/")
        drawn = _charts_drawn(page)
        # The series, the tile map, regions, ranking, seven breakdowns and the funnel.
        assert drawn.get("line") == 1
        assert drawn.get("map") == 1
        assert drawn.get("bar", 0) >= 9
        assert drawn.get("funnel") == 1
        tiles = page.page.locator("svg.chart-map g.tile")
        assert tiles.count() == 47
        # Every tile is coloured: a step of the legend, or hatched where suppressed.
        assert page.page.locator("svg.chart-map g.tile.heat-0").count() < 47
        links = page.page.locator("svg.chart-map a[href^='/stats/prefectures/']").count()
        assert links == (47 if user is admin else 0)
        # The links lie in a layer over the image, exactly over it, and none inside it.
        assert page.page.locator("svg[role=img] a").count() == 0
        if user is admin:
            assert _layer_over_image(page, "chart-map")
        page.screenshot(f"stats-{name}")
        assert _too_wide(page, PHONE["width"]) == []
        assert page.requests, "the page was not recorded"
        assert any(url.endswith("/static/css/stats.css") for url in page.requests)
        assert page.external_requests() == []

    wide = open_page(admin, WIDE)
    _load(wide, f"{live_server.url}/stats/?period=week")
    assert _charts_drawn(wide).get("line") == 1
    wide.screenshot("stats-national-admin-wide")
    assert wide.external_requests() == []


def test_a_prefecture_page_draws_its_towns_as_dots_offline(live_server, population, open_page):
    admin = person_with_role(Role.NATIONAL_ADMIN)
    gifu = person_with_role(Role.PREFECTURE_STAFF, "21")
    for user, name in ((admin, "admin"), (gifu, "staff")):
        page = open_page(user)
        _load(page, f"{live_server.url}/stats/prefectures/21/")
        drawn = _charts_drawn(page)
        assert drawn.get("dots") == 1
        assert drawn.get("line") == 1
        assert drawn.get("funnel") == 1
        # All 42 towns of 岐阜県 are dots inside the picture, each linking to its page (from
        # a layer exactly over the image: nothing interactive inside role="img").
        dots = page.page.locator("svg.chart-dots.chart-hit a circle")
        assert dots.count() == 42
        assert page.page.locator("svg[role=img] a").count() == 0
        assert _layer_over_image(page, "chart-dots")
        inside = page.page.evaluate(
            """() => {
                const svg = document.querySelector('svg.chart-dots.chart-hit');
                const box = svg.viewBox.baseVal;
                return [...svg.querySelectorAll('a circle')].every(c =>
                    c.cx.baseVal.value >= 0 && c.cx.baseVal.value <= box.width &&
                    c.cy.baseVal.value >= 0 && c.cy.baseVal.value <= box.height);
            }"""
        )
        assert inside
        assert (
            page.page.locator("svg.chart-dots a[href='/stats/municipalities/212172/']").count() == 1
        )
        page.screenshot(f"stats-prefecture-21-{name}")
        assert _too_wide(page, PHONE["width"]) == []
        assert page.external_requests() == []

    # Anonymous: the login page, which loads nothing from elsewhere either.
    page = open_page()
    page.page.goto(f"{live_server.url}/stats/prefectures/21/")
    assert "/accounts/login/" in page.page.url
    assert page.external_requests() == []


def _layer_over_image(page: RecordingPage, kind: str) -> bool:
    """The layer of links lies exactly over the image it belongs to."""
    return page.page.evaluate(
        """(kind) => {
            const image = document.querySelector(`svg.${kind}[role=img]`).getBoundingClientRect();
            const layer = document.querySelector(`svg.${kind}.chart-hit`).getBoundingClientRect();
            return ['x', 'y', 'width', 'height'].every(k => Math.abs(image[k] - layer[k]) < 0.5);
        }""",
        kind,
    )


def test_a_municipality_page_on_a_wide_screen(live_server, population, open_page):
    hida = person_with_role(Role.MUNICIPALITY_EDITOR, "212172")
    page = open_page(hida, WIDE)
    _load(page, f"{live_server.url}/stats/municipalities/212172/")
    drawn = _charts_drawn(page)
    # The town's own staff: its totals as counted, the series and the funnel drawn; its
    # breakdowns as published (a small town: where all are suppressed, a sentence stands
    # in the chart's place).
    assert drawn.get("line") == 1 and drawn.get("funnel") == 1
    blank = page.page.locator(".chart-blank").count()
    assert sum(drawn.values()) + blank >= 9
    assert "dots" not in drawn and "map" not in drawn
    assert page.page.locator("#own-totals-note").count() == 1
    page.screenshot("stats-municipality-212172-staff-wide")
    assert page.external_requests() == []
