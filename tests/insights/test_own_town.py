"""A town's own figures (issue 19): 飛騨市's staff open /stats/municipalities/212172/ and see
their town's totals as counted — registrations, people, new and withdrawn by month, their
tasks' sign-ups and attendance, the funnel — as numbers with their charts, as they already
see its registrants row by row; breakdowns that would tell an attribute a registrant did not
agree to tell the town stay as published (fewer than 10: "x"), with a sentence that says
why. Prefecture staff see their prefecture and its towns the same way, national
administrators every area; everyone else exactly what they saw before. Every figure set
says its basis and its time, the summary and the funnel agree, the charts hold nothing
interactive inside ``role="img"``, and the anonymous caches never keep a staff member's
page or answer."""

from __future__ import annotations

import html as markup
import re

import pytest
from django.test import override_settings

from accounts.models import Role
from core.public_cache import routes_forget
from insights import services
from insights.models import Count
from matching import services as board
from tests.factories import client_for, person_with_role
from tests.insights.test_pages import cells
from tests.matching.support import move_to_past, published_task
from tests.support import CHIZU, HIDA, TAKAYAMA, api_as, register, resident
from tests.workers import RedisServer

pytestmark = pytest.mark.django_db

OSAKA = "271004"  # 大阪市: home of two of 飛騨市's registrants (近畿, a small cell)
GIFU = "21"
TOWN = f"/stats/municipalities/{HIDA}/"
TAKAYAMA_PAGE = f"/stats/municipalities/{TAKAYAMA}/"
PREFECTURE = f"/stats/prefectures/{GIFU}/"
TOWN_API = f"/api/stats/municipalities/{HIDA}/"

# The words of each language the tests read.
WORDS = {
    "ja": {
        "registrations": "登録数（延べ）",
        "people": "登録者数（実人数）",
        "prefecture_row": "岐阜県の登録数（延べ）",
        "home": "登録者の住まいの地方別",
        "kinki": "近畿",
        "kanto": "関東",
        "board": "お手伝いの活動",
        "signups": "参加確定の申込",
        "attended": "出席した申込",
        "no_show": "連絡なく欠席した申込",
        "funnel": "登録から参加まで（実人数）",
        "registered": "登録している人",
        "signed_up": "うち、そのまちのお手伝いに申し込んだ人",
        "took_part": "うち、参加した人",
        "counted": "集計値（秘匿処理なし）",
        "published": "公表値（秘匿処理済み）",
        "own_note": "飛騨市の担当の職員として、登録数・登録者数・月別の推移・"
        "お手伝いの申込と参加は、秘匿処理をしていない集計値で表示しています。",
        "why": "この内訳は、登録者がまちに伝えることに同意していない属性（年代・性別・"
        "住まい・関わり方など）を明かすおそれがあるため、担当の職員にも公表値で示し、"
        "10人未満の数値は「x」にしています。",
        "as_of": "時点",
        "month": r"\d{4}年\d{1,2}月",
    },
    "en": {
        "registrations": "Registrations (total ties)",
        "people": "Registrants (unique people)",
        "prefecture_row": "岐阜県: registrations (total ties)",
        "home": "By registrants' region of residence",
        "kinki": "Kinki",
        "kanto": "Kanto",
        "board": "Task activity",
        "signups": "Confirmed sign-ups",
        "attended": "Sign-ups attended",
        "no_show": "No-shows (absent without notice)",
        "funnel": "From registration to participation (unique people)",
        "registered": "Registered people",
        "signed_up": "of whom signed up for a task in the municipality",
        "took_part": "of whom took part",
        "counted": "Counted figures (not suppressed)",
        "published": "Published figures (suppressed)",
        "own_note": "As staff of Hida (飛騨市), you see registrations, registrants, the monthly "
        "series and sign-ups and attendance of its tasks as counted, without suppression.",
        "why": "This breakdown could reveal attributes registrants have not agreed to tell the "
        "town (age, gender, home, ways of involvement …), so its staff see it as published: "
        "figures below 10 are shown as “x”.",
        "as_of": "As of",
        "month": r"\d{1,2}/\d{4}",
    },
}


@pytest.fixture
def town() -> dict:
    """12 registrations with 飛騨市 (10 from 世田谷区, 2 from 大阪市), 3 with 高山市, one with
    智頭町; a 飛騨市 task whose session 4 of its registrants signed up for, 3 attended and 1
    missed without notice; counted and published as the nightly job does."""
    hida = [resident() for _ in range(10)] + [resident(home=OSAKA) for _ in range(2)]
    for person in hida:
        register(person, HIDA)
    for _ in range(3):
        register(resident(), TAKAYAMA)
    register(resident(), CHIZU)
    staff = person_with_role(Role.MUNICIPALITY_EDITOR, HIDA)
    task = published_task(HIDA, staff=staff, capacity=10)
    session = task.sessions.get()
    signups = [board.signup_create(session=session, person=p) for p in hida[:4]]
    move_to_past(session)
    for signup, mark in zip(signups, ["attended", "attended", "attended", "no_show"], strict=True):
        board.attendance_mark(signup=signup, actor=staff, attendance=mark)
    services.counts_rebuild(publish=True)
    return {
        "hida": staff,
        "gifu": person_with_role(Role.PREFECTURE_STAFF, GIFU),
        "admin": person_with_role(Role.NATIONAL_ADMIN),
        "chizu": person_with_role(Role.MUNICIPALITY_EDITOR, CHIZU),
        "takayama": person_with_role(Role.MUNICIPALITY_EDITOR, TAKAYAMA),
        "resident": hida[0],
    }


def get(client, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, (path, response.status_code)
    return response.content.decode()


def section(html: str, name: str) -> str:
    found = re.search(rf'<section [^>]*aria-labelledby="table-{name}">.*?</section>', html, re.S)
    assert found, name
    return found.group(0)


def card(html: str, label: str) -> str:
    """The figure of the summary's card ``label``."""
    found = re.search(rf"<dt>{re.escape(markup.escape(label))}</dt>\s*<dd>(.*?)</dd>", html, re.S)
    assert found, label
    return re.sub(r"<[^>]+>", "", re.sub(r'<span class="visually-hidden">.*?</span>', "", found[1]))


def basis_of(block: str) -> tuple[str, str]:
    """A figure set's basis and the datetime of its "as of"."""
    found = re.search(
        r'<p class="stat-basis"[^>]*>\s*<span class="stat-basis-kind">(.*?)</span>\s*'
        r'<span class="stat-basis-time">.*?<time datetime="([^"]+)">',
        block,
        re.S,
    )
    assert found, block[:300]
    return found[1], found[2]


# --- The town's own staff -------------------------------------------------------------------


@pytest.mark.parametrize("language", ["ja", "en"])
def test_town_staff_see_their_own_totals_as_numbers_with_a_chart(town, language):
    w = WORDS[language]
    html = get(client_for(town["hida"], language=language), TOWN)
    assert f'<html lang="{language}">' in html
    assert 'id="own-totals-note"' in html and w["own_note"] in html
    # Their registrations and people: numbers, not "x".
    assert card(html, w["registrations"]) == "12"
    assert card(html, w["people"]) == "12"
    # The prefecture's figure beside them is not theirs: as published, and it says so.
    prefecture_card = re.search(
        rf"<dt>{re.escape(w['prefecture_row'])}</dt>.*?</div>", html, re.S
    ).group(0)
    assert w["published"] in prefecture_card
    # New and withdrawn by month, with the line chart drawn.
    series = section(html, "series")
    assert basis_of(series)[0] == w["counted"]
    assert "chart-blank" not in series and '<svg class="chart chart-line"' in series
    rows = re.findall(r'<th scope="row">([^<]+)</th>(.*?)</tr>', series, re.S)
    month = [r for r in rows if re.fullmatch(w["month"], r[0])][-1]
    assert re.findall(r'<td class="num">(\d+)</td>', month[1]) == ["12", "0", "12"]
    # Their tasks' sign-ups and attendance.
    assert cells(html, w["signups"], w["board"]) == ["4"]
    assert cells(html, w["attended"], w["board"]) == ["3"]
    assert cells(html, w["no_show"], w["board"]) == ["1"]
    # The funnel: numbers, its first step the summary's own figure, with its chart.
    funnel = section(html, "funnel")
    assert cells(funnel, w["registered"], w["funnel"])[0] == "12"
    assert cells(funnel, w["signed_up"], w["funnel"])[0] == "4"
    assert cells(funnel, w["took_part"], w["funnel"])[0] == "3"
    assert '<svg class="chart chart-funnel"' in funnel
    # A breakdown: as published for them too, its small figures "x", and why.
    home = section(html, "home_regions")
    assert basis_of(home)[0] == w["published"]
    assert cells(home, w["kinki"], w["home"]) == ["x"]  # 2 people
    assert w["why"] in home


def test_town_staff_read_the_same_figures_in_the_api_and_its_csv(town):
    api = api_as(town["hida"])
    data = api.get(TOWN_API).json()
    assert data["own_totals"] is True and data["suppressed"] is True
    tables = {t["name"]: t for t in data["tables"]}
    summary = {r["key"]: r for r in tables["summary"]["rows"]}
    assert summary["registrations"]["values"]["value"] == 12
    assert tables["summary"]["basis"] == "counted" and tables["summary"]["as_of"]
    assert summary["registrations_prefecture"]["basis"] == "published"
    assert tables["funnel"]["basis"] == "counted" and tables["funnel"]["as_of"]
    assert tables["age_bands"]["basis"] == "published"
    home = {r["key"]: r["values"]["registrations"] for r in tables["home_regions"]["rows"]}
    assert home["kinki"] is None
    csv = api.get(TOWN_API + "board/?format=csv").content.decode("utf-8-sig")
    assert "signups,参加確定の申込,4" in csv


def test_a_breakdown_of_fewer_than_ten_stays_suppressed_however_the_total_is(town, settings):
    """A town large enough that its total is published: its staff see 関東's 10 and the
    breakdown's small figures still "x" (the 2 of 近畿 and the complement beside them)."""
    for _ in range(10):
        register(resident(), TAKAYAMA)
    services.counts_rebuild(publish=True)
    html = get(client_for(town["hida"]), TOWN)
    home = section(html, "home_regions")
    assert cells(home, "近畿", "登録者の住まいの地方別") == ["x"]
    assert cells(home, "関東", "登録者の住まいの地方別") in (["10"], ["x"])
    ages = section(html, "age_bands")
    assert basis_of(ages)[0] == "公表値（秘匿処理済み）"
    assert all(
        value in ("x", "0") or int(value) >= settings.INSIGHTS_MIN_CELL
        for value in re.findall(r'<td class="num">(?:<span class="suppressed">)?([^<]+)<', ages)
    )


# --- Prefecture staff, national administrators, everyone else --------------------------------


@pytest.mark.parametrize("language", ["ja", "en"])
def test_prefecture_staff_read_their_prefectures_figures_as_published(town, language):
    """Prefecture staff see no registrant rows: they read the published figures. A true
    total of their prefecture or of one of its towns beside the published tables would undo
    those tables' complementary suppression (tests/insights/test_disclosure.py)."""
    w = WORDS[language]
    client = client_for(town["gifu"], language=language)
    html = get(client, PREFECTURE)
    assert 'id="own-totals-note"' not in html
    assert basis_of(section(html, "municipalities"))[0] == w["published"]
    takayama = re.search(rf'<circle class="dot dot-(\w+)"[^>]*data-code="{TAKAYAMA}"', html)
    assert takayama and takayama.group(1) == "suppressed"
    assert card(get(client, TAKAYAMA_PAGE), w["registrations"]) == "x"


def test_national_administrators_see_every_figure_as_counted(town):
    html = get(client_for(town["admin"]), TOWN)
    assert cells(section(html, "home_regions"), "近畿", "登録者の住まいの地方別") == ["2"]
    assert 'class="suppressed"' not in html
    assert "この内訳は、登録者がまちに伝えることに" not in html


@pytest.mark.parametrize("language", ["ja", "en"])
def test_everyone_else_sees_what_they_saw_before(town, language):
    # Other towns' staff and residents may not open the town's page; visitors sign in first.
    for role in ("chizu", "takayama", "resident"):
        get(client_for(town[role], language=language), TOWN, status=403)
    response = client_for(None, language=language).get(TOWN)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert api_as(town["chizu"]).get(TOWN_API).status_code == 403
    # 高山市's staff on their own page: their own figures; 飛騨市's staff may not open it.
    assert (
        card(
            get(client_for(town["takayama"], language=language), TAKAYAMA_PAGE),
            WORDS[language]["registrations"],
        )
        == "3"
    )
    get(client_for(town["hida"], language=language), TAKAYAMA_PAGE, status=403)
    # The nation's page is nobody's own but the national administrators': published for
    # the town's staff, as for everyone.
    national = get(client_for(town["hida"], language=language), "/stats/")
    assert 'id="suppression-note"' in national and 'id="own-totals-note"' not in national


# --- Bases, times, agreement ----------------------------------------------------------------


@pytest.mark.parametrize("role", ["hida", "admin"])
def test_every_figure_set_shows_its_basis_and_time_and_the_funnel_agrees(town, role):
    """The summary's people and the funnel's first step are one figure read once: the
    funnel kept its own copy of it (``insights_count`` funnel/registered, copied when the
    registrations were counted, replaced when the board was recounted), so a page read
    between the two — the rebuild commits the registrations before it recounts the board,
    at national scale minutes apart — showed two figures for the same people ("7
    registrations" and "8 registered people"), and the funnel had no time of its own."""
    Count.objects.filter(area=f"M{HIDA}", measure="funnel", key="registered").update(value=13)
    html = get(client_for(town[role]), TOWN)
    for name in ("series", "tiers", "home_regions", "age_bands", "funnel", "board"):
        kind, moment = basis_of(section(html, name) if name != "board" else _board(html))
        assert kind and moment, name
    summary = re.search(r'<section aria-labelledby="table-summary">.*?</section>', html, re.S)
    assert basis_of(summary.group(0))
    assert card(html, "登録者数（実人数）") == "12"
    assert cells(section(html, "funnel"), "登録している人", "登録から参加まで（実人数）")[0] == "12"
    data = api_as(town[role]).get(TOWN_API).json()
    tables = {t["name"]: t for t in data["tables"]}
    people = next(r for r in tables["summary"]["rows"] if r["key"] == "people")
    registered = next(r for r in tables["funnel"]["rows"] if r["key"] == "registered")
    assert people["values"]["value"] == registered["values"]["people"] == 12
    assert all(table["as_of"] for table in data["tables"])


def _board(html: str) -> str:
    return re.search(r'<section [^>]*aria-labelledby="table-board">.*?</section>', html, re.S)[0]


@pytest.mark.parametrize("role", ["hida", None])
def test_published_figures_agree_and_carry_the_publication_time(town, role):
    """The nation's page is published for everyone but national administrators: its
    summary and its funnel are of one publication, at one time."""
    html = get(client_for(town[role] if role else None), "/stats/")
    summary = re.search(r'<section aria-labelledby="table-summary">.*?</section>', html, re.S)[0]
    funnel = section(html, "funnel")
    assert basis_of(summary) == basis_of(funnel)
    assert basis_of(summary)[0] == "公表値（秘匿処理済み）"
    people = card(html, "登録者数（実人数）")
    assert people == cells(funnel, "登録している人", "登録から参加まで（実人数）")[0] == "16"


# --- Charts: nothing interactive inside role="img" ------------------------------------------


def test_no_link_sits_inside_an_image(town):
    for user, path in (
        (town["admin"], "/stats/"),
        (town["gifu"], PREFECTURE),
        (town["hida"], TOWN),
        (None, "/stats/"),
    ):
        html = get(client_for(user), path)
        images = re.findall(r'<svg [^>]*role="img".*?</svg>', html, re.S)
        assert images
        for image in images:
            assert "<a " not in image and "tabindex" not in image, path
    # The links of the maps are still there for a pointer, over the image, hidden from
    # assistive technology (the tables beside them hold the same links).
    html = get(client_for(town["admin"]), "/stats/")
    layer = re.search(
        r'<svg class="chart chart-map chart-hit"[^>]*aria-hidden="true".*?</svg>', html, re.S
    )
    assert layer and layer[0].count('href="/stats/prefectures/') == 47
    html = get(client_for(town["gifu"]), PREFECTURE)
    layer = re.search(
        r'<svg class="chart chart-dots chart-hit"[^>]*aria-hidden="true".*?</svg>', html, re.S
    )
    assert layer and len(re.findall(r'href="/stats/municipalities/21\d{4}/"', layer[0])) == 42


# --- The anonymous caches keep no staff member's figures -------------------------------------


@pytest.fixture
def shared_cache(settings):
    """A redis-server of the test's own as the shared cache, with the public cache on (the
    board's and the statistics' alike)."""
    server = RedisServer().start()
    settings.PUBLIC_CACHE = True
    routes_forget()
    try:
        with override_settings(
            CACHES={
                "default": {
                    "BACKEND": "core.cache.ResilientRedisCache",
                    "LOCATION": f"redis://127.0.0.1:{server.port}/0",
                    "KEY_PREFIX": "furusato",
                }
            }
        ):
            yield server
    finally:
        routes_forget()
        server.close()


def _chizu_row(html: str) -> list[str]:
    return cells(html, "鳥取県", "都道府県別")


@pytest.mark.parametrize("staff_first", [True, False])
def test_no_staff_page_is_kept_for_anyone_else(town, shared_cache, staff_first):
    """The same URLs asked by staff and by visitors, in both orders: a visitor never gets a
    staff member's figures, and a staff member never a visitor's copy."""
    admin, hida, visitor = client_for(town["admin"]), client_for(town["hida"]), client_for(None)

    def as_staff() -> None:
        national = admin.get("/stats/")
        assert national.status_code == 200 and "ETag" not in national
        assert _chizu_row(national.content.decode()) == ["1", "1"]  # counted
        own = hida.get(TOWN)
        assert own.status_code == 200 and "no-store" in own["Cache-Control"]
        assert card(own.content.decode(), "登録数（延べ）") == "12"
        answer = api_as(town["hida"]).get(TOWN_API + "summary/")
        assert answer.status_code == 200 and "ETag" not in answer
        assert answer.json()["rows"][0]["values"]["value"] == 12
        answer = api_as(town["admin"]).get("/api/stats/national/prefectures/")
        assert next(r for r in answer.json()["rows"] if r["key"] == "31")["values"] == {
            "registrations": 1,
            "people": 1,
        }

    def as_visitor() -> None:
        for _ in range(2):  # a miss, then the cache (and its front door)
            national = visitor.get("/stats/")
            assert national.status_code == 200 and "ETag" in national
            assert _chizu_row(national.content.decode()) == ["x", "x"]  # published
            assert "秘匿処理をしていない" not in national.content.decode()
            assert visitor.get(TOWN).status_code == 302
            assert api_as(None).get(TOWN_API + "summary/").status_code in (401, 403)
            answer = api_as(None).get("/api/stats/national/prefectures/")
            assert answer.status_code == 200
            row = next(r for r in answer.json()["rows"] if r["key"] == "31")
            assert row["values"] == {"registrations": None, "people": None}

    for step in (as_staff, as_visitor) if staff_first else (as_visitor, as_staff):
        step()
    # And once more the other way round, now that both are in the caches.
    for step in (as_visitor, as_staff) if staff_first else (as_staff, as_visitor):
        step()


def test_the_statistics_name_places_in_romaji_in_english(town):
    """The tables of places (prefectures, a prefecture's towns, the ranking) name them as
    every English page does: "Gifu (岐阜県)", "Hida (飛騨市), Gifu"; Japanese as before."""
    admin = town["admin"]

    def rows(language: str, path: str, name: str) -> dict[str, str]:
        data = api_as(admin, language=language).get(path).json()
        table = next(t for t in data["tables"] if t["name"] == name)
        return {row["key"]: row["label"] for row in table["rows"]}

    assert rows("en", "/api/stats/national/", "prefectures")[GIFU] == "Gifu (岐阜県)"
    assert rows("en", "/api/stats/national/", "ranking")[HIDA] == "Hida (飛騨市), Gifu"
    assert rows("en", f"/api/stats/prefectures/{GIFU}/", "municipalities")[HIDA] == "Hida (飛騨市)"
    assert rows("ja", "/api/stats/national/", "prefectures")[GIFU] == "岐阜県"
    assert rows("ja", "/api/stats/national/", "ranking")[HIDA] == "岐阜県 飛騨市"
