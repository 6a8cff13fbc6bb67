"""/api/prefectures/ and /api/municipalities/: search by kanji, kana and code, filters, errors."""

import pytest

pytestmark = pytest.mark.django_db


def codes(response):
    return [row["code"] for row in response.json()["results"]]


@pytest.mark.parametrize(
    "query", ["ひだし", "ﾋﾀﾞｼ", "ヒダシ", "飛騨", "飛騨市", "212172", "２１２１７２", "岐阜県飛騨市"]
)
def test_search_finds_hida(client, query):
    response = client.get("/api/municipalities/", {"search": query})
    assert response.status_code == 200
    body = response.json()
    assert body["results"][0]["code"] == "212172"
    assert body["results"][0]["prefecture"] == {"code": "21", "name": "岐阜県", "romaji": "Gifu"}
    assert body["results"][0]["name"] == "飛騨市"


def test_exact_name_comes_first(client):
    # 府中市 exists in 東京都 and 広島県; both come before 府中町.
    response = client.get("/api/municipalities/", {"search": "府中"})
    rows = response.json()["results"]
    assert [(r["name"], r["prefecture"]["name"]) for r in rows[:2]] == [
        ("府中市", "東京都"),
        ("府中市", "広島県"),
    ]
    assert "府中町" in [r["name"] for r in rows[2:]]


def test_prefecture_filter_and_search_combine(client):
    response = client.get("/api/municipalities/", {"prefecture": "21"})
    body = response.json()
    assert body["count"] == 42  # 岐阜県 has 42 municipalities
    assert all(code.startswith("21") for code in codes(response))
    response = client.get("/api/municipalities/", {"prefecture": "21", "search": "たかやま"})
    assert codes(response) == ["212032"]
    response = client.get("/api/municipalities/", {"prefecture": "13", "search": "たかやま"})
    assert codes(response) == []


def test_region_filter(client):
    response = client.get("/api/municipalities/", {"region": "shikoku", "page_size": 200})
    assert response.json()["count"] == 95
    assert {c[:2] for c in codes(response)} == {"36", "37", "38", "39"}


def test_list_is_paginated(client):
    body = client.get("/api/municipalities/").json()
    assert body["count"] == 1741
    assert len(body["results"]) == 50
    assert body["next"].endswith("page=2")


def test_prefectures_in_jis_order(client):
    body = client.get("/api/prefectures/").json()
    assert body["count"] == 47
    assert body["results"][0]["name"] == "北海道"
    assert body["results"][-1] == {
        "code": "47",
        "lg_code": "470007",
        "name": "沖縄県",
        "kana": "オキナワケン",
        "romaji": "Okinawa",
        "region": "kyushu_okinawa",
        "region_label": "九州・沖縄",
    }


def test_detail_by_code(client):
    body = client.get("/api/municipalities/313289/").json()
    assert body["name"] == "智頭町"
    assert body["kind"] == "town"


def test_nearby_lists_distances_nearest_first(client):
    body = client.get("/api/municipalities/212172/nearby/", {"km": 30}).json()
    km = [row["distance_km"] for row in body["results"]]
    assert km == sorted(km) and all(0 < d <= 30 for d in km)
    assert body["results"][0]["code"] == "212032"


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/municipalities/", {"prefecture": "99"}, "prefecture"),
        ("/api/municipalities/", {"prefecture": "岐阜"}, "prefecture"),
        ("/api/municipalities/", {"region": "atlantis"}, "region"),
        ("/api/municipalities/", {"search": "あ" * 101}, "search"),
        ("/api/municipalities/212172/nearby/", {"km": "far"}, "km"),
        ("/api/municipalities/212172/nearby/", {"km": "0"}, "km"),
        ("/api/municipalities/212172/nearby/", {"km": "100000"}, "km"),
    ],
)
def test_bad_input_gets_a_clear_message_in_one_format(client, path, params, field):
    response = client.get(path, params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["status"] == 400 and error["code"] == "invalid"
    assert error["fields"][field]
    assert error["message"]


def test_bad_input_is_explained_in_english_too(client):
    response = client.get("/api/municipalities/", {"prefecture": "99"}, HTTP_ACCEPT_LANGUAGE="en")
    error = response.json()["error"]
    assert error["message"].isascii() and error["message"]
    assert "valid choice" in error["fields"]["prefecture"][0]


@pytest.mark.parametrize(
    "path",
    [
        "/api/municipalities/999999/",
        "/api/municipalities/abc/",
        "/api/prefectures/99/",
        "/api/no-such-thing/",
    ],
)
def test_unknown_things_are_404_in_the_same_format(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_api_is_read_only(client):
    response = client.post("/api/municipalities/", {"code": "999999"})
    assert response.status_code in (403, 405)
    assert "error" in response.json()
