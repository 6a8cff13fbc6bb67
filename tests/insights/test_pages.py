"""The statistics pages (/stats/…) for each role: who may open which page (403 for staff of
elsewhere, the login page for anonymous visitors, 404 for an unknown code), what is shown as
"x" to viewers without row-level rights and what the national administrator sees unsuppressed,
the charts drawn on the page, the CSV links to the API, the series' periods, and the query
count of the national page."""

from __future__ import annotations

import html as markup
import re

import pytest
from django.test import Client

from accounts.models import Role
from insights import services
from tests.factories import client_for, person_with_role
from tests.insights.conftest import NATIONAL_TABLES
from tests.support import CHIZU, HIDA, TAKAYAMA, register, resident

pytestmark = pytest.mark.django_db

OSAKA = "271004"  # 大阪市: home of two of 飛騨市's registrants (近畿, a small cell)
GIFU, TOTTORI = "21", "31"

NATIONAL = "/stats/"
PREFECTURE = f"/stats/prefectures/{GIFU}/"
MUNICIPALITY = f"/stats/municipalities/{HIDA}/"
TAKAYAMA_PAGE = f"/stats/municipalities/{TAKAYAMA}/"
OTHER_PREFECTURE = f"/stats/prefectures/{TOTTORI}/"
OTHER_MUNICIPALITY = f"/stats/municipalities/{CHIZU}/"
PAGES = (NATIONAL, PREFECTURE, MUNICIPALITY, TAKAYAMA_PAGE, OTHER_PREFECTURE, OTHER_MUNICIPALITY)

AS_OF = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日\([月火水木金土日]\) \d{2}:\d{2}")


@pytest.fixture
def counted() -> None:
    """12 registrations with 飛騨市 (10 from 世田谷区, 2 from 大阪市), 3 with 高山市 and one
    with 智頭町 (鳥取県), counted as the nightly job does."""
    for _ in range(10):
        register(resident(), HIDA)
    for _ in range(2):
        register(resident(home=OSAKA), HIDA)
    for _ in range(3):
        register(resident(), TAKAYAMA)
    register(resident(), CHIZU)
    services.counts_rebuild()


@pytest.fixture
def people() -> dict:
    return {
        "admin": person_with_role(Role.NATIONAL_ADMIN),
        "gifu": person_with_role(Role.PREFECTURE_STAFF, GIFU),
        "hida": person_with_role(Role.MUNICIPALITY_EDITOR, HIDA),
        "resident": resident(),
        "anonymous": None,
    }


def get(client: Client, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, (path, response.status_code)
    return response.content.decode()


def cells(html: str, label: str, caption: str) -> list[str]:
    """The cells (as text) of the row ``label`` of the table captioned ``caption``."""
    caption, label = markup.escape(caption), markup.escape(label)
    table = re.search(rf"<caption[^>]*>{re.escape(caption)}.*?</table>", html, re.S)
    assert table, caption
    row = re.search(
        rf'<th scope="row">(?:<a [^>]*>)?{re.escape(label)}(?:</a>)?</th>(.*?)</tr>',
        table.group(0),
        re.S,
    )
    assert row, (caption, label)
    found = re.findall(r'<td class="num">(.*?)</td>', row.group(1), re.S)
    return [
        re.sub(r"<[^>]+>", "", re.sub(r'<span class="visually-hidden">.*?</span>', "", c))
        for c in found
    ]


def suppressed(html: str, label: str, caption: str) -> bool:
    return cells(html, label, caption)[0] == "x"


# --- Who may open which page -----------------------------------------------------------------

EXPECTED = {
    #            national pref 21 飛騨市 高山市 pref 31 智頭町
    "admin": (200, 200, 200, 200, 200, 200),
    "gifu": (200, 200, 200, 200, 403, 403),
    "hida": (200, 403, 200, 403, 403, 403),
    "resident": (200, 403, 403, 403, 403, 403),
    "anonymous": (200, 302, 302, 302, 302, 302),
}


@pytest.mark.parametrize("role", list(EXPECTED))
def test_each_role_opens_its_pages_and_no_other(counted, people, role):
    client = client_for(people[role])
    for path, status in zip(PAGES, EXPECTED[role], strict=True):
        response = client.get(path)
        assert response.status_code == status, (role, path, response.status_code)
        html = response.content.decode()
        if status == 200:
            assert '<html lang="ja">' in html
            assert AS_OF.search(html), path  # 集計時点: 2026年11月23日(月) 18:20
            # Every chart is drawn, or says why not (all its figures suppressed).
            drawn = html.count('<svg class="chart ')
            assert drawn + html.count('class="chart-blank') >= 9
            assert drawn == 0 or 'role="img"' in html
        elif status == 403:
            assert "この統計を見る権限がありません。" in html  # the site's 403 page
        else:
            assert response["Location"].startswith(f"/accounts/login/?next={path}")


@pytest.mark.parametrize("role", ["admin", "gifu", "anonymous"])
def test_an_unknown_code_is_not_found(counted, people, role):
    client = client_for(people[role])
    for path in (
        "/stats/prefectures/99/",
        "/stats/municipalities/999999/",
        "/stats/prefectures/x/",
        "/stats/prefectures/%00/",
        "/stats/municipalities/%00/",
    ):
        status = 302 if role == "anonymous" else 404
        assert client.get(path).status_code == status, (role, path)


def test_the_pages_answer_only_get(people):
    client = client_for(people["admin"])
    assert client.post(NATIONAL).status_code == 405
    assert client.post(PREFECTURE).status_code == 405


# --- What each viewer sees ---------------------------------------------------------------------


def test_anonymous_visitors_and_residents_see_published_national_figures(counted, people):
    for role in ("anonymous", "resident"):
        html = get(client_for(people[role]), NATIONAL)
        assert 'id="suppression-note"' in html
        assert "10人未満、または差し引きで分かるため" in html
        # 鳥取県 has one registration: "x" in the table and a hatched tile, never a 0.
        assert suppressed(html, "鳥取県", "都道府県別")
        tile = re.search(r'<g class="tile ([^"]+)" data-code="31">', html)
        assert tile and tile.group(1) == "heat-x"
        assert suppressed(html, "中国", "地方別")
        # Sums over many people are shown.
        assert re.search(r"<dt>登録数（延べ）</dt>\s*<dd>16</dd>", html)
        # Nobody may open the prefectures: no tile or row links to them.
        assert "/stats/prefectures/" not in html


def test_the_national_administrator_sees_every_figure_unsuppressed(counted, people):
    html = get(client_for(people["admin"]), NATIONAL)
    assert 'class="suppressed"' not in html
    assert "suppression-note" not in html
    assert "秘匿処理をしていない最新の集計値" in html
    assert cells(html, "鳥取県", "都道府県別") == ["1", "1"]
    assert cells(html, "岐阜県", "都道府県別") == ["15", "15"]
    tile = re.search(r'<g class="tile ([^"]+)" data-code="31">', html)
    assert tile and tile.group(1) != "heat-x"
    # Every prefecture links to its page, from the map and from the table.
    assert html.count('href="/stats/prefectures/') == 2 * 47
    # The ranking links each town to its page.
    assert cells(html, "岐阜県 飛騨市", "登録数の多い市区町村（上位20）") == ["1", "12"]
    assert f'href="/stats/municipalities/{HIDA}/"' in html

    html = get(client_for(people["admin"]), MUNICIPALITY)
    assert cells(html, "近畿", "登録者の住まいの地方別") == ["2"]
    assert cells(html, "関東", "登録者の住まいの地方別") == ["10"]


def test_prefecture_staff_see_their_prefecture_with_small_figures_suppressed(counted, people):
    client = client_for(people["gifu"])
    html = get(client, PREFECTURE)
    assert "<h1>岐阜県の統計</h1>" in html
    assert 'id="suppression-note"' in html
    # 高山市's three registrations are suppressed, on the table and on the map of dots.
    assert suppressed(html, "高山市", "市区町村別")
    dot = re.search(rf'<circle class="dot dot-(\w+)"[^>]*data-code="{TAKAYAMA}"', html)
    assert dot and dot.group(1) == "suppressed"
    # All 42 towns of 岐阜県 are dots, each linking to its page.
    assert len(re.findall(r'<a href="/stats/municipalities/21\d{4}/" tabindex="-1">', html)) == 42
    # The national page leads to the prefecture (its tile and its row), and only to it.
    national = get(client, NATIONAL)
    assert national.count(f'href="/stats/prefectures/{GIFU}/"') >= 3  # tile, row, "担当地域"
    assert f'href="/stats/prefectures/{TOTTORI}/"' not in national
    # Its towns' pages: 高山市's own figures suppressed there too.
    html = get(client, TAKAYAMA_PAGE)
    assert re.search(r"<dt>登録数（延べ）</dt>\s*<dd><span class=\"suppressed\">x", html)
    assert f'<a href="/stats/prefectures/{GIFU}/">岐阜県</a>' in html  # the breadcrumb


def test_municipality_staff_see_their_town_with_small_breakdowns_suppressed(counted, people):
    client = client_for(people["hida"])
    html = get(client, MUNICIPALITY)
    assert "<h1>飛騨市の統計</h1>" in html
    assert 'id="own-totals-note"' in html
    # Their town's 12: numbers (issue 19).
    assert re.search(r"<dt>登録数（延べ）</dt>\s*<dd>12</dd>", html)
    # Two registrants live in 近畿: fewer than 10, so "x" (and no bar drawn for it).
    assert suppressed(html, "近畿", "登録者の住まいの地方別")
    # The breakdowns are as published, where the town's 12 are hidden (高山市's 3 beside
    # them in 岐阜県's 15), so every part of them is, zeros included: a 0 beside a hidden
    # total tells what its few registrants are not (issue 14).
    assert cells(html, "北海道", "登録者の住まいの地方別") == ["x"]
    # Nothing shown beside it: no chart, a sentence instead of an empty drawing, and why.
    section = re.search(r'id="table-home_regions".*?</section>', html, re.S).group(0)
    assert "値が秘匿（x）のため、グラフはありません。" in section and "<svg" not in section
    assert "同意していない属性" in section
    # The prefecture is not theirs: its name is not a link.
    assert f'href="/stats/prefectures/{GIFU}/"' not in html
    # The statistics' front page leads to the town's.
    assert f'href="/stats/municipalities/{HIDA}/"' in get(client, "/stats/")


# --- CSV links, periods, the menu ----------------------------------------------------------------


def test_every_table_links_its_csv_in_the_api(counted, people):
    html = get(client_for(None), NATIONAL)
    for table in NATIONAL_TABLES:
        if table == "series":  # its link names its period
            continue
        assert f'href="/api/stats/national/{table}/?format=csv"' in html, table
    assert 'href="/api/stats/national/series/?format=csv&amp;period=month"' in html
    # The link answers with the same figures, "x" where suppressed.
    response = client_for(None).get("/api/stats/national/prefectures/?format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "31,鳥取県,x,x" in response.content.decode("utf-8-sig")

    html = get(client_for(people["gifu"]), PREFECTURE)
    assert f'href="/api/stats/prefectures/{GIFU}/municipalities/?format=csv"' in html
    html = get(client_for(people["hida"]), MUNICIPALITY)
    assert f'href="/api/stats/municipalities/{HIDA}/home_regions/?format=csv"' in html
    assert f'href="/api/stats/municipalities/{HIDA}/series/?format=csv&amp;period=month"' in html


def test_the_series_switches_periods_and_a_bad_period_is_explained(counted, people):
    admin = client_for(people["admin"])
    html = get(admin, NATIONAL + "?period=week")
    assert "週別の登録の推移" in html
    assert 'href="/api/stats/national/series/?format=csv&amp;period=week"' in html
    assert re.search(r'<a href="\?period=week#table-series" aria-current="page">', html)
    assert "日別の登録の推移" in get(admin, MUNICIPALITY + "?period=day")

    # Published days exist for the nation only (and weeks for no one but administrators).
    assert "日別の登録の推移" in get(client_for(None), NATIONAL + "?period=day")
    html = get(client_for(people["gifu"]), PREFECTURE + "?period=day")
    assert "月別の登録の推移" in html
    assert "公表している推移は、全国は日別と月別、都道府県・市区町村は月別です" in html
    assert "?period=day#" not in html  # no tabs to periods that are not published

    # A period that does not exist: the message names what this viewer can have.
    for bad in ("year", "", "%00", "<b>"):
        html = get(client_for(None), NATIONAL + f"?period={bad}")
        assert "月別の登録の推移" in html
        if bad:
            assert "公表している推移は、全国は日別と月別" in html
            assert "<b>" not in html.split('id="main"')[1]
    html = get(admin, NATIONAL + "?period=year")
    assert "期間の指定（period）は day（日別）・week（週別）・month（月別）のいずれかです。" in html


def test_the_pages_render_before_anything_is_counted_and_in_english(people):
    html = get(client_for(people["admin"]), NATIONAL)
    assert "まだ集計されていません。" in html
    html = get(client_for(people["gifu"], language="en"), PREFECTURE)
    assert '<html lang="en">' in html
    assert html.count('<svg class="chart ') >= 9


def test_the_menu_leads_to_the_statistics(people):
    for role in ("anonymous", "resident"):
        assert '<a href="/stats/">' in get(client_for(people[role]), "/")


# --- Cost ----------------------------------------------------------------------------------------


def test_the_national_page_costs_a_bounded_number_of_queries(
    counted, people, django_assert_max_num_queries
):
    """Session, user, roles, the state, the prefectures, the figures, the series, the ranking
    and its names, the flow, the inbox count; a few more for staff (their areas)."""
    admin, anonymous = client_for(people["admin"]), client_for(None)
    gifu = client_for(people["gifu"])
    with django_assert_max_num_queries(12):
        get(admin, NATIONAL)
    with django_assert_max_num_queries(7):
        get(anonymous, NATIONAL)
    with django_assert_max_num_queries(12):
        get(gifu, NATIONAL)
    with django_assert_max_num_queries(11):
        get(gifu, PREFECTURE)
    # More registrations in more places: the same number of queries.
    for code in ("011002", "131016", "401005", "472018"):
        for _ in range(10):
            register(resident(), code)
    services.counts_rebuild()
    with django_assert_max_num_queries(12):
        get(admin, NATIONAL)
    with django_assert_max_num_queries(7):
        get(anonymous, NATIONAL)
