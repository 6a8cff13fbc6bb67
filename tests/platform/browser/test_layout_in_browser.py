"""The layout in a real headless Chromium (issue 19, Done when 5): the header is one row on
a phone and on a desktop with the whole menu reachable, and the staff's registrants table
shows all its columns at 1280 px. Screenshots are kept in test-artifacts/screenshots/."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import Role
from registry import flags
from registry import services as registry_services
from registry.models import Category, Skill
from tests.browser import RecordingPage
from tests.factories import person_with_role, sign_in
from tests.support import HIDA, register, resident

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("municipalities")]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def open_page(browser, live_server):
    """A page at a viewport in a language, signed in as ``user`` (a test client's session)."""
    contexts = []

    def open_(user=None, viewport=PHONE, language="ja") -> RecordingPage:
        context = browser.new_context(
            viewport=viewport,
            device_scale_factor=1,
            locale="ja-JP" if language == "ja" else "en-US",
        )
        contexts.append(context)
        cookies = [
            {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}
        ]
        if user is not None:
            client = Client()
            sign_in(client, user)
            session = client.cookies[settings.SESSION_COOKIE_NAME]
            cookies.append({"name": session.key, "value": session.value, "url": live_server.url})
        context.add_cookies(cookies)
        return RecordingPage(context.new_page())

    yield open_
    for context in contexts:
        context.close()


def _go(page: RecordingPage, url: str) -> None:
    response = page.page.goto(url)
    assert response.status == 200, url
    assert page.page.url == url  # not sent to the login page


def _wait_for_open_menus(page: RecordingPage, count: int, timeout: float = 5) -> None:
    """Until ``count`` of the header's menus are open (menu.js closes the other one on the
    ``toggle`` event, a moment after the keypress). Polled from here: the page's CSP forbids
    the string evaluation that ``wait_for_function`` uses."""
    deadline = time.monotonic() + timeout
    script = "document.querySelectorAll('.site-header details[open]').length"
    while (found := page.page.evaluate(script)) != count:
        assert time.monotonic() < deadline, f"{found} menus open, not {count}"
        time.sleep(0.05)


def _header_rows(page: RecordingPage) -> int:
    """How many rows the header's visible items (brand, links, menus' summaries) take: a
    new row starts with an item whose top is below the bottom of an item before it."""
    return page.page.evaluate(
        """() => {
            const boxes = [...document.querySelectorAll(
                '.site-header .brand, .site-header .nav > li')]
                .filter(e => e.checkVisibility())
                .map(e => e.getBoundingClientRect())
                .sort((a, b) => a.top - b.top);
            let rows = 0, bottom = -Infinity;
            for (const box of boxes) {
                if (box.top >= bottom) { rows += 1; bottom = box.bottom; }
                else { bottom = Math.max(bottom, box.bottom); }
            }
            return rows;
        }"""
    )


def _header_height(page: RecordingPage) -> float:
    return page.page.evaluate(
        "document.querySelector('.site-header').getBoundingClientRect().height"
    )


def _reachable_links(page: RecordingPage) -> set[str]:
    """The paths of the header's links and forms a person can reach now (displayed)."""
    return set(
        page.page.evaluate(
            """() => [...document.querySelectorAll('.site-header a, .site-header form')]
                .filter(e => e.checkVisibility())
                .map(e => new URL(e.href || e.action).pathname)"""
        )
    )


@pytest.fixture
def hida_staff():
    return person_with_role(Role.MUNICIPALITY_EDITOR, HIDA)


@pytest.fixture
def registrants():
    """People of 飛騨市 who shared everything, with long addresses and many skills."""
    for number in range(3):
        person = resident(
            email=f"a-rather-long-address-{number}@example-municipality-mail.jp",
            family_name="長谷川",
            given_name="久美子",
            family_name_kana="ハセガワ",
            given_name_kana="クミコ",
        )
        registry_services.profile_update(
            user=person,
            skills=flags.full_mask(Skill),
            interests=flags.full_mask(Category),
        )
        register(
            person,
            HIDA,
            share_name=True,
            share_contact=True,
            share_age_band=True,
            share_skills=True,
        )


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_header_is_one_row_on_a_phone_and_on_a_desktop(
    live_server, open_page, hida_staff, language
):
    for viewport, name in ((PHONE, "phone"), (DESKTOP, "desktop")):
        anonymous = open_page(viewport=viewport, language=language)
        _go(anonymous, f"{live_server.url}/")
        assert _header_rows(anonymous) == 1, (name, "anonymous")
        staff = open_page(hida_staff, viewport=viewport, language=language)
        _go(staff, f"{live_server.url}/")
        assert _header_rows(staff) == 1, (name, "staff")
        assert _header_height(staff) < 80
        width = staff.page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], (name, width)
        assert "/me/" not in _reachable_links(staff)  # behind the menu until it is opened
        staff.screenshot(f"header-{name}-{language}")

        # The whole menu is reachable by keyboard: focus on each summary, Enter opens it
        # (and closes the other one), Escape closes it again.
        summaries = staff.page.locator(".site-header summary:visible")
        reachable = _reachable_links(staff)
        for index in range(summaries.count()):
            summaries.nth(index).focus()
            staff.page.keyboard.press("Enter")
            _wait_for_open_menus(staff, 1)
            reachable |= _reachable_links(staff)
        staff.screenshot(f"header-{name}-{language}-open")
        staff.page.keyboard.press("Escape")
        _wait_for_open_menus(staff, 0)
        for path in (
            "/tasks/",
            "/municipalities/",
            "/stats/",
            "/notifications/",
            "/staff/",
            f"/stats/municipalities/{HIDA}/",  # the staff member's own figures
            "/me/",
            "/me/signups/",
            "/notifications/settings/",
            "/accounts/email/",
            "/accounts/password/change/",
            "/accounts/2fa/",
            "/accounts/logout/",
        ):
            assert path in reachable, (name, path)
        assert staff.external_requests() == []


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_registrants_table_shows_every_column_at_1280_px(
    live_server, open_page, hida_staff, registrants, language
):
    desktop = open_page(hida_staff, viewport=DESKTOP, language=language)
    _go(desktop, f"{live_server.url}/staff/{HIDA}/registrants/")
    clipped = desktop.page.evaluate(
        """() => {
            const box = document.querySelector('.table-scroll').getBoundingClientRect();
            const table = document.querySelector('.table-scroll table');
            const out = [...table.querySelectorAll('thead th')]
                .filter(th => th.getBoundingClientRect().right > box.right + 1
                    || th.getBoundingClientRect().left < box.left - 1)
                .map(th => th.textContent.trim());
            if (table.scrollWidth > table.parentElement.clientWidth + 1) out.push('scrolls');
            return out;
        }"""
    )
    assert clipped == []
    columns = desktop.page.locator(".table-scroll thead th").count()
    assert columns == 12
    # The page uses the width of the screen, not the 60rem column of reading pages.
    main_width = desktop.page.evaluate("document.querySelector('main').clientWidth")
    assert main_width > 1200
    desktop.screenshot(f"registrants-desktop-{language}")

    # On a phone the table scrolls inside its labelled box, never the page.
    phone = open_page(hida_staff, viewport=PHONE, language=language)
    _go(phone, f"{live_server.url}/staff/{HIDA}/registrants/")
    assert phone.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    region = phone.page.locator(".table-scroll[role=region]")
    assert region.get_attribute("aria-label") and region.get_attribute("tabindex") == "0"
    phone.screenshot(f"registrants-phone-{language}")
    assert desktop.external_requests() == [] and phone.external_requests() == []
