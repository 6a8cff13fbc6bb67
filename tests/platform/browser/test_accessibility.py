"""Accessibility as a test: axe-core (Deque's engine, bundled by the PyPI package
axe-playwright-python, so nothing is fetched at test time) runs in headless Chromium over the
main pages of every role — anonymous visitor, resident, host, town staff, prefecture staff,
national administrator — in Japanese (on a phone) and in English (on a desktop), and the
test fails on any critical or serious violation, listing each one's rule, page and target.

All of axe's rules run, its experimental ones too (``label-content-name-mismatch``, WCAG
2.5.3, is one of them)."""

from __future__ import annotations

import datetime
from urllib.parse import unquote

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.test import Client

from accounts.models import Role
from demo.population import board_generate, population_generate
from insights import services as insights
from matching import services as board
from tests.browser import RecordingPage
from tests.factories import PASSWORD, person_with_role, sign_in
from tests.matching.support import host_of, published_task, staff_of
from tests.support import HIDA, SIGNUP_DETAILS, register, resident

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("municipalities"),
    pytest.mark.xdist_group("accessibility"),
]

BLOCKING = ("critical", "serious")
AS_OF = datetime.date(2026, 11, 23)
# Japanese on a phone, English on a desktop: each language once, each layout once.
LANGUAGES = {
    "ja": {"locale": "ja-JP", "viewport": {"width": 390, "height": 844}},
    "en": {"locale": "en-US", "viewport": {"width": 1280, "height": 900}},
}
AXE = Axe()

# axe with every rule on (the experimental ones are off by default), reporting only what
# blocks: the rule, its impact and help, and each failing element's selector.
RUN_AXE = """async (blocking) => {
    const experimental = axe.getRules(['experimental']).map(rule => rule.ruleId);
    const rules = Object.fromEntries(experimental.map(id => [id, {enabled: true}]));
    const results = await axe.run(document, {resultTypes: ['violations'], rules});
    return results.violations
        .filter(violation => blocking.includes(violation.impact))
        .map(violation => ({
            rule: violation.id,
            impact: violation.impact,
            help: violation.help,
            targets: violation.nodes.map(node => node.target.join(' ')),
        }));
}"""


def violations_of(page: RecordingPage, language: str) -> list[dict]:
    """The critical and serious violations axe finds on the page as it is now (which is in
    ``language``)."""
    assert page.page.get_attribute("html", "lang") == language, page.page.url
    page.page.evaluate(AXE.axe_script)
    return page.page.evaluate(RUN_AXE, list(BLOCKING))


def report(found: list[dict]) -> str:
    """One line per failing element: where, which rule, how bad, and what the rule asks."""
    lines = [f"{len(found)} critical or serious accessibility violations:"]
    for item in found:
        lines.extend(
            f"  [{item['where']}] {item['rule']} ({item['impact']}): {target} — {item['help']}"
            for target in item["targets"]
        )
    return "\n".join(lines)


@pytest.fixture
def open_page(browser, live_server):
    """A page in ``language`` (its browser locale and the site's language cookie), signed in
    as ``user`` if given (the session cookie of a test client, second factor included)."""
    contexts = []

    def open_(language: str, user=None) -> RecordingPage:
        context = browser.new_context(device_scale_factor=1, **LANGUAGES[language])
        contexts.append(context)
        cookies = [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language}]
        if user is not None:
            client = Client()
            sign_in(client, user)
            cookie = client.cookies[settings.SESSION_COOKIE_NAME]
            cookies.append({"name": cookie.key, "value": cookie.value})
        context.add_cookies([{**cookie, "url": live_server.url} for cookie in cookies])
        return RecordingPage(context.new_page())

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def site():
    """A country of generated people and tasks (so the statistics draw their charts and
    maps), and in 飛騨市 a task, its host, its staff and a registered, signed-up resident."""
    population_generate(people=1_500, seed=19_701, batch=1_500, as_of=AS_OF)
    board_generate(tasks=80, signups=400, seed=19_702, batch=400, as_of=AS_OF)
    insights.counts_rebuild()
    town_staff = staff_of(HIDA)
    task = published_task(HIDA, staff=town_staff)
    person = resident()
    register(person, HIDA, share_name=True)
    board.signup_create(session=task.sessions.get(), person=person, details=SIGNUP_DETAILS)
    return {
        "task": task,
        "resident": person,
        "host": host_of(HIDA),
        "town staff": town_staff,
        "prefecture staff": person_with_role(Role.PREFECTURE_STAFF, "21"),
        "national administrator": person_with_role(Role.NATIONAL_ADMIN),
    }


def main_pages(task_id: int) -> dict[str, list[str]]:
    """The pages each role uses most."""
    return {
        "anonymous": [
            "/",
            "/tasks/",
            f"/tasks/{task_id}/",
            "/tasks/map/",
            "/municipalities/?q=ひだ",
            f"/municipalities/{HIDA}/",
            "/stats/",
            "/accounts/signup/",
            "/accounts/login/",
        ],
        "resident": [
            "/tasks/",
            f"/tasks/{task_id}/",
            "/me/",
            "/me/signups/",
            "/notifications/",
        ],
        "host": ["/host/", f"/tasks/new/{HIDA}/"],
        "town staff": [
            "/staff/",
            f"/staff/{HIDA}/registrants/",
            f"/staff/{HIDA}/tasks/",
            f"/stats/municipalities/{HIDA}/",
        ],
        "prefecture staff": ["/staff/", "/stats/prefectures/21/"],
        "national administrator": [
            "/stats/",
            "/stats/prefectures/21/",
            f"/stats/municipalities/{HIDA}/",
        ],
    }


def check(page: RecordingPage, url: str, language: str, where: str, found: list[dict]) -> None:
    response = page.page.goto(url)
    assert response.status == 200, url
    # Not sent to the login page.
    assert unquote(page.page.url) == url, f"{url} went to {page.page.url}"
    page.page.wait_for_load_state("networkidle")
    found.extend({**item, "where": where} for item in violations_of(page, language))


def test_the_main_pages_of_every_role_have_no_serious_violation(live_server, site, open_page):
    found: list[dict] = []
    pages = main_pages(site["task"].pk)
    for language in LANGUAGES:
        for role, paths in pages.items():
            page = open_page(language, site.get(role))
            for path in paths:
                url = f"{live_server.url}{path}"
                check(page, url, language, f"{role}, {language}, {path}", found)
            assert page.csp_violations == []
            assert page.external_requests() == []

        # A resident who logs in through the form: the page after it carries the site's
        # message ("ログインしました").
        page = open_page(language)
        page.page.goto(f"{live_server.url}/accounts/login/")
        page.page.fill("input[name=login]", site["resident"].email)
        page.page.fill("input[name=password]", PASSWORD)
        page.page.locator("form.login [type=submit], main form [type=submit]").first.click()
        page.page.wait_for_load_state("networkidle")
        assert page.page.locator(".messages").count() == 1
        found.extend(
            {**item, "where": f"resident, {language}, after logging in"}
            for item in violations_of(page, language)
        )

        # The API docs: Swagger UI draws the operations before axe looks.
        page = open_page(language)
        page.page.goto(f"{live_server.url}/api/docs/")
        page.page.wait_for_selector(".opblock", timeout=20_000)
        found.extend(
            {**item, "where": f"anonymous, {language}, /api/docs/"}
            for item in violations_of(page, language)
        )
        assert page.csp_violations == []
        assert page.external_requests() == []
    assert found == [], report(found)


def test_a_violation_is_found_and_reported(live_server, open_page):
    """The check can fail: an image without a text alternative and grey-on-grey text put
    into a page are reported with their rule, impact and target."""
    page = open_page("ja")
    page.page.goto(f"{live_server.url}/")
    page.page.evaluate(
        """() => {
            const img = document.createElement('img');
            img.id = 'no-alt';
            img.src = '/static/img/favicon.svg';
            const faint = document.createElement('p');
            faint.id = 'faint';
            faint.textContent = '読みにくい文字';
            faint.style.color = '#bbb';
            faint.style.background = '#ccc';
            document.querySelector('main').append(img, faint);
        }"""
    )
    page.page.wait_for_load_state("networkidle")
    found = [{**item, "where": "home"} for item in violations_of(page, "ja")]
    rules = {item["rule"]: item for item in found}
    assert rules["image-alt"]["impact"] == "critical"
    assert rules["image-alt"]["targets"] == ["#no-alt"]
    assert rules["color-contrast"]["targets"] == ["#faint"]
    assert "[home] image-alt (critical): #no-alt — Images must have alternative text" in (
        report(found)
    )
