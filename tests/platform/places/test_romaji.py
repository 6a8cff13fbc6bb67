"""Place names in English (issue 19): every prefecture and municipality has its romaji, English
pages name a place "Hida (飛騨市), Gifu", and romaji finds places in the API, the search page
and the admin; Japanese pages stay as they were, and the public cache keeps the two apart."""

from __future__ import annotations

import importlib
import re

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from accounts.models import Role
from core.public_cache import routes_forget
from notifications.models import Notification, Topic
from notifications.services import notification_send
from places.models import Municipality, Prefecture
from places.names import place_ref
from places.romaji import display, municipality_romaji, place_key
from places.services import reference_data
from tests.factories import client_for, person_with_role
from tests.matching.support import published_task
from tests.support import CHIZU, HIDA, page, register, resident

pytestmark = pytest.mark.django_db

HIDA_EN = 'Hida (<span lang="ja">飛騨市</span>)'
CHIZU_EN = 'Chizu (<span lang="ja">智頭町</span>)'


def english(path: str, **params) -> str:
    return page(client_for(language="en"), path, language="en", **params)


def japanese(path: str, **params) -> str:
    return page(client_for(language="ja"), path, **params)


def title_of(html: str) -> str:
    return re.search(r"<title>(.*?)</title>", html, re.S).group(1)


# --- The names ----------------------------------------------------------------------------


def test_every_prefecture_has_its_official_english_name():
    names = dict(Prefecture.objects.values_list("code", "romaji"))
    assert len(names) == 47 and all(names.values())
    assert [names[c] for c in ("01", "13", "26", "27", "28", "39", "44")] == [
        "Hokkaido",
        "Tokyo",
        "Kyoto",
        "Osaka",
        "Hyogo",
        "Kochi",
        "Oita",
    ]


def test_every_municipality_has_hepburn_with_its_kind_suffix():
    romaji = dict(Municipality.objects.values_list("name", "romaji"))
    assert all(
        re.fullmatch(r"[A-Z][a-z]+-(shi|cho|machi|son|mura|ku)", value)
        for value in Municipality.objects.values_list("romaji", flat=True)
    )
    assert romaji["飛騨市"] == "Hida-shi"
    assert romaji["智頭町"] == "Chizu-cho"  # チヅ: zu, not du
    assert romaji["白川村"] == "Shirakawa-mura"  # 村 read ムラ
    assert romaji["西粟倉村"] == "Nishiawakura-son"  # 村 read ソン
    assert romaji["大分市"] == "Oita-shi"  # passport style: オオ → o, no macron
    assert romaji["郡山市"] == "Koriyama-shi"
    assert romaji["千代田区"] == "Chiyoda-ku"
    assert romaji["四日市市"] == "Yokkaichi-shi"  # the suffix split by its reading
    assert romaji["新温泉町"] == "Shinonsen-cho"  # no apostrophe


def test_the_loader_derives_the_names_each_load():
    prefectures, municipalities = reference_data()
    assert {p.code: p.romaji for p in prefectures}["21"] == "Gifu"
    hida = next(m for m in municipalities if m.code == HIDA)
    assert hida.romaji == "Hida-shi"
    assert hida.search_text.endswith(" gifuhidashi")


def test_a_ward_of_a_designated_city_is_named_after_the_ward_then_its_city():
    romaji = municipality_romaji(
        "札幌市中央区", "サッポロシチュウオウク", city=("札幌市", "サッポロシ")
    )
    assert romaji == "Chuo-ku, Sapporo-shi"
    assert display(romaji) == "Chuo, Sapporo"
    assert display("Hida-shi") == "Hida" and display("Chizu-cho") == "Chizu"


def test_the_migration_gives_rows_loaded_before_it_their_names():
    before = dict(Municipality.objects.values_list("code", "search_text"))
    Prefecture.objects.update(romaji="")
    for m in Municipality.objects.filter(code__in=[HIDA, CHIZU]):
        m.romaji = ""
        m.search_text = " ".join(m.search_text.split(" ")[:3])
        m.save(update_fields=["romaji", "search_text"])
    migration = importlib.import_module("places.migrations.0002_romaji")
    migration.romanise(apps, None)
    assert Prefecture.objects.get(code="31").romaji == "Tottori"
    assert Municipality.objects.get(code=CHIZU).romaji == "Chizu-cho"
    assert dict(Municipality.objects.values_list("code", "search_text")) == before


def test_the_search_key_folds_romaji_and_kana_alike():
    assert place_key("Hida-shi") == place_key("HIDA SHI") == place_key("hidashi") == "hidashi"
    assert place_key("Ōita") == "oita"
    assert place_key("ひだし") == place_key("ﾋﾀﾞｼ") == "ヒダシ"


# --- The API ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("hida", HIDA),
        ("Hida", HIDA),
        ("Hida-shi", HIDA),
        ("HIDA SHI", HIDA),
        ("gifu hida", HIDA),
        ("chizu", CHIZU),
        ("Chizu-cho", CHIZU),
        ("ＣＨＩＺＵ", CHIZU),
    ],
)
def test_the_api_finds_a_town_by_its_romaji(client, query, code):
    body = client.get("/api/municipalities/", {"search": query}).json()
    assert body["results"][0]["code"] == code


def test_the_api_names_places_in_romaji(client):
    row = client.get("/api/municipalities/", {"search": "hida"}).json()["results"][0]
    assert (row["name"], row["romaji"], row["english_name"]) == ("飛騨市", "Hida-shi", "Hida")
    assert row["prefecture"] == {"code": "21", "name": "岐阜県", "romaji": "Gifu"}
    prefecture = client.get("/api/prefectures/31/").json()
    assert prefecture["romaji"] == "Tottori"


def test_the_task_list_names_the_town_in_romaji_without_another_query():
    published_task(CHIZU)
    api = Client()
    api.get("/api/tasks/")  # the first request of a process learns what it needs
    with CaptureQueriesContext(connection) as one:
        body = api.get("/api/tasks/").json()
    published_task(HIDA)
    with CaptureQueriesContext(connection) as two:
        body = api.get("/api/tasks/").json()
    assert len(two) == len(one)
    towns = {row["municipality"]["code"]: row["municipality"] for row in body["results"]}
    assert towns[CHIZU] == {
        "code": CHIZU,
        "name": "智頭町",
        "romaji": "Chizu-cho",
        "prefecture": "鳥取県",
        "prefecture_romaji": "Tottori",
    }
    detail = api.get(f"/api/tasks/{body['results'][0]['id']}/").json()
    assert detail["municipality"]["romaji"] in ("Chizu-cho", "Hida-shi")


def test_a_persons_profile_names_the_home_town_in_romaji():
    person = resident()
    api = Client()
    api.force_login(person)
    profile = api.get("/api/me/").json()["profile"]
    assert profile["home_municipality_romaji"] == "Setagaya-ku"


# --- Pages --------------------------------------------------------------------------------


def test_an_english_town_page_reads_romaji_then_kanji():
    html = english(f"/municipalities/{HIDA}/")
    assert title_of(html).startswith("Hida (飛騨市), Gifu")
    assert f"<h1>{HIDA_EN} " in html
    assert 'Gifu (<span lang="ja">岐阜県</span>)' in html
    assert 'Takayama (<span lang="ja">高山市</span>)' in html  # the neighbours too


def test_the_japanese_town_page_is_unchanged():
    html = japanese(f"/municipalities/{HIDA}/")
    assert title_of(html).startswith("岐阜県飛騨市")
    assert '<h1>飛騨市 <span class="kana">' in html
    assert "Hida" not in html and 'lang="ja">飛騨市' not in html


def test_the_prefecture_page_and_the_index_name_places_in_romaji():
    html = english("/prefectures/31/")
    assert title_of(html).startswith("Tottori (鳥取県)")
    assert CHIZU_EN in html
    index = english("/municipalities/")
    assert 'Hokkaido (<span lang="ja">北海道</span>)' in index
    assert '<option value="21">Gifu (岐阜県)</option>' in index
    assert "智頭町" not in japanese("/prefectures/21/") and "Gifu" not in japanese(
        "/prefectures/21/"
    )


@pytest.mark.parametrize("query", ["hida", "Hida-shi", "HIDA"])
def test_the_search_page_finds_a_town_by_romaji(query):
    html = english("/municipalities/", q=query)
    assert f"<strong>{HIDA_EN}</strong>" in html
    assert "<strong>飛騨市</strong>" in japanese("/municipalities/", q=query)


def test_the_board_and_a_task_name_the_town_in_romaji():
    task = published_task(CHIZU)
    board = english("/tasks/")
    assert f"{CHIZU_EN}, Tottori" in board  # the card: the town, then its prefecture
    detail = english(f"/tasks/{task.pk}/")
    assert f"{CHIZU_EN}, Tottori" in detail
    assert "鳥取県智頭町" in japanese(f"/tasks/{task.pk}/")
    assert "Chizu" not in japanese("/tasks/")


def test_a_persons_pages_name_their_towns_in_romaji():
    person = resident()
    registration = register(person, HIDA)
    browser = client_for(person, language="en")
    my_page = page(browser, "/me/", language="en")
    assert HIDA_EN in my_page
    detail = page(browser, f"/registrations/{registration.pk}/", language="en")
    assert "for Hida (飛騨市) |" in title_of(detail)
    assert HIDA_EN in detail
    assert "Hida" not in page(client_for(person), f"/registrations/{registration.pk}/")


def test_staff_pages_name_their_town_in_romaji():
    staff = person_with_role(Role.MUNICIPALITY_ADMIN, HIDA)
    html = page(client_for(staff, language="en"), "/staff/", language="en")
    assert f"{HIDA_EN}, Gifu" in html
    assert "岐阜県飛騨市" in page(client_for(staff), "/staff/")


# --- The admin ----------------------------------------------------------------------------


@pytest.mark.parametrize("term", ["ひだし", "ヒダシ", "ﾋﾀﾞｼ", "hida", "Hida-shi", "飛騨"])
def test_the_admin_finds_a_town_by_kana_or_romaji(term):
    operator = person_with_role(Role.NATIONAL_ADMIN, is_staff=True, is_superuser=True)
    response = client_for(operator).get("/admin/places/municipality/", {"q": term})
    assert response.status_code == 200
    assert f"/admin/places/municipality/{HIDA}/change/" in response.content.decode()


def test_the_admin_finds_a_prefecture_by_any_kana():
    operator = person_with_role(Role.NATIONAL_ADMIN, is_staff=True, is_superuser=True)
    for term in ("ぎふ", "ｷﾞﾌ", "gifu"):
        html = client_for(operator).get("/admin/places/prefecture/", {"q": term}).content
        assert b"/admin/places/prefecture/21/change/" in html


# --- The public cache ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", [f"/municipalities/{HIDA}/", "/prefectures/21/", "/municipalities/?q=hida"]
)
def test_the_public_cache_never_hands_one_language_the_others_page(settings, path):
    settings.PUBLIC_CACHE = True
    routes_forget()
    seen, queries = [], []
    for language in ("en", "en", "ja", "ja", "en", "ja"):  # repeats come from the cache
        with CaptureQueriesContext(connection) as captured:
            html = Client(HTTP_ACCEPT_LANGUAGE=language).get(path).content.decode()
        assert f'<html lang="{language}">' in html
        seen.append(HIDA_EN in html or 'Gifu (<span lang="ja">' in html)
        queries.append(len(captured))
    assert seen == [True, True, False, False, True, False]
    assert queries[0] and queries[2] and queries[1] == queries[3] == queries[4] == 0


def test_the_cached_api_answer_is_kept_per_language(settings):
    settings.PUBLIC_CACHE = True
    routes_forget()
    labels = []
    for language in ("en", "ja", "en", "ja"):
        body = Client(HTTP_ACCEPT_LANGUAGE=language).get("/api/municipalities/", {"search": "hida"})
        labels.append(body.json()["results"][0]["kind_label"])
    assert labels[0] == labels[2] != labels[1] == labels[3] == "市"


def test_statistics_pages_name_their_area_in_romaji():
    staff = person_with_role(Role.MUNICIPALITY_ADMIN, HIDA)
    html = page(client_for(staff, language="en"), f"/stats/municipalities/{HIDA}/", language="en")
    assert "Hida (飛騨市)" in title_of(html)
    assert 'Gifu (<span lang="ja">岐阜県</span>)' in html  # the crumbs
    assert f'<li aria-current="page">{HIDA_EN}</li>' in html
    assert "Hida" not in page(client_for(staff), f"/stats/municipalities/{HIDA}/")


def test_a_refusal_names_the_town_in_romaji():
    person = resident()
    refused = client_for(person, language="en").get(f"/tasks/new/{HIDA}/")
    assert refused.status_code == 403
    assert "Only staff of Hida (飛騨市) and approved hosts" in refused.content.decode()
    refused = client_for(person).get(f"/tasks/new/{HIDA}/")
    assert "飛騨市 のお手伝いを作れるのは" in refused.content.decode()


def test_a_notification_names_the_town_in_the_language_it_is_read_in():
    person = resident()
    chizu = Municipality.objects.get(code=CHIZU)
    for key, town in (("new", place_ref(chizu)), ("old", "智頭町")):  # old rows hold the name
        notification_send(
            recipients=[person.pk],
            kind="announcement",
            topic=Topic.ANNOUNCEMENTS,
            key=f"announcement:{key}",
            context={"municipality": town, "title": "冬", "body": "雪かき"},
            url="/",
        )
    new, old = (Notification.objects.get(key=f"announcement:{k}") for k in ("new", "old"))
    with translation.override("en"):
        assert "Chizu (智頭町)" in new.subject and "<span" not in new.subject
        assert "智頭町" in old.subject
    with translation.override("ja"):
        assert new.subject == old.subject
        assert new.subject.startswith("智頭町からのお知らせ")
