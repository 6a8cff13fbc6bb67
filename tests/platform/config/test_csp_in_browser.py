"""The site's Content-Security-Policy in a real browser: the main pages, the API docs and the
second-factor pages run with nothing blocked, so no inline script or style is left; a page
that broke the policy would be caught (the check itself is tested)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from tests.browser import RecordingPage, browser  # noqa: F401
from tests.factories import sign_in
from tests.matching.support import published_task
from tests.support import HIDA, register, resident

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("municipalities")]


@pytest.fixture
def open_page(browser, live_server):  # noqa: F811
    """A phone-sized page, signed in as ``user`` if given; fails its test at the end on any
    CSP violation the browser reported."""
    pages: list[tuple[object, RecordingPage]] = []

    def open_(user=None) -> RecordingPage:
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, device_scale_factor=1, locale="ja-JP"
        )
        if user is not None:
            client = Client()
            sign_in(client, user)
            cookie = client.cookies[settings.SESSION_COOKIE_NAME]
            context.add_cookies(
                [{"name": cookie.key, "value": cookie.value, "url": live_server.url}]
            )
        page = RecordingPage(context.new_page())
        pages.append((context, page))
        return page

    yield open_
    for context, _page in pages:
        context.close()


def visit(page: RecordingPage, url: str) -> None:
    response = page.page.goto(url)
    assert response.status == 200, url
    page.page.wait_for_load_state("networkidle")
    headers = response.headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"], url
    assert "publickey-credentials-get=(self)" in headers["permissions-policy"], url


def test_the_main_pages_break_no_content_security_policy(live_server, open_page):
    task = published_task(HIDA)
    person = resident()
    registration = register(person, HIDA, share_name=True)
    anonymous = open_page()
    for path in (
        "/",
        "/tasks/",
        f"/tasks/{task.pk}/",
        "/tasks/calendar/",
        "/tasks/map/",
        "/stats/",
        "/municipalities/212172/",
        "/accounts/login/",
        "/accounts/signup/",
    ):
        visit(anonymous, f"{live_server.url}{path}")
    assert anonymous.csp_violations == []

    signed_in = open_page(person)
    for path in (
        "/me/",
        f"/registrations/{registration.pk}/",
        f"/registrations/{registration.pk}/card/",  # the QR code, inline SVG
        "/notifications/",
        "/accounts/2fa/",
        "/accounts/2fa/webauthn/add/",  # allauth's WebAuthn scripts (or its reauthentication)
        "/accounts/2fa/totp/activate/",
    ):
        visit(signed_in, f"{live_server.url}{path}")
    assert signed_in.page.locator("svg").count() >= 0
    assert signed_in.csp_violations == []
    assert signed_in.external_requests() == [] and anonymous.external_requests() == []


def test_swagger_ui_runs_under_the_policy(live_server, open_page):
    page = open_page()
    visit(page, f"{live_server.url}/api/docs/")
    page.page.wait_for_selector(".opblock", timeout=20_000)  # its script ran and drew the API
    assert any("/api/docs/?" in url and "script" in url for url in page.requests)
    assert page.csp_violations == []


def test_an_inline_style_or_script_would_be_caught(live_server, open_page):
    page = open_page()
    visit(page, f"{live_server.url}/")
    page.page.evaluate(
        """() => {
            const style = document.createElement('style');
            style.textContent = 'body { color: red }';
            document.head.append(style);
            const script = document.createElement('script');
            script.textContent = 'window.ran = true';
            document.body.append(script);
        }"""
    )
    page.page.wait_for_timeout(200)  # the console messages arrive asynchronously
    assert page.page.evaluate("window.ran === undefined")
    assert any("style-src" in v for v in page.csp_violations), page.csp_violations
    assert any("script-src" in v for v in page.csp_violations), page.csp_violations
