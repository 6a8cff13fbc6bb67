"""Municipality pages, in Japanese and English."""

import pytest

pytestmark = pytest.mark.django_db


def test_search_page_finds_by_hiragana(client):
    response = client.get("/municipalities/", {"q": "ちづちょう"})
    assert response.status_code == 200
    assert "智頭町" in response.content.decode()


def test_search_page_lists_prefectures_by_region(client):
    html = client.get("/municipalities/").content.decode()
    assert html.index("北海道") < html.index("沖縄県")
    assert "九州・沖縄" in html


def test_search_page_rejects_an_overlong_query_next_to_the_field(client):
    response = client.get("/municipalities/", {"q": "あ" * 101})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="field-error"' in html and 'role="alert"' in html


def test_municipality_page_shows_facts_and_neighbours(client):
    html = client.get("/municipalities/212172/").content.decode()
    assert "飛騨市" in html and "ヒダシ" in html and "212172" in html
    assert "高山市" in html  # within 30 km


def test_prefecture_page_lists_its_municipalities(client):
    html = client.get("/prefectures/31/").content.decode()
    assert "智頭町" in html and "鳥取市" in html


def test_unknown_municipality_is_a_404_page(client):
    response = client.get("/municipalities/000000/")
    assert response.status_code == 404
    assert "見つかりません" in response.content.decode()


def test_pages_in_english(client):
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = client.get("/municipalities/212172/").content.decode()
    assert 'lang="en"' in html
    assert "Local government code" in html or "local government code" in html
    home = client.get("/").content.decode()
    assert "Sign up" in home
