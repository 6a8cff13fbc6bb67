"""Pages render in a real browser with no request leaving the machine; screenshots are kept
in test-artifacts/screenshots/."""

import pytest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("municipalities")]


def test_api_docs_render_offline(live_server, phone):
    phone.page.goto(f"{live_server.url}/api/docs/")
    # Swagger UI fetched the schema and drew its operations.
    phone.page.wait_for_selector(".opblock", timeout=20_000)
    assert phone.page.locator("text=/api/municipalities/").count() > 0
    phone.screenshot("api-docs")
    assert any(url.endswith("/api/schema/") for url in phone.requests)
    assert phone.external_requests() == []


@pytest.mark.parametrize(
    ("path", "name", "text"),
    [
        ("/", "home", "住んでいなくても"),
        ("/municipalities/?q=ひだし", "municipality-search", "飛騨市"),
        ("/municipalities/212172/", "municipality-hida", "ヒダシ"),
        ("/accounts/signup/", "signup", "パスワード"),
    ],
)
def test_pages_render_on_a_phone_with_local_assets_only(live_server, phone, path, name, text):
    response = phone.page.goto(f"{live_server.url}{path}")
    assert response.status == 200
    assert text in phone.page.content()
    # Narrow screen first: nothing wider than the phone.
    width = phone.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    phone.screenshot(name)
    assert phone.external_requests() == []
