"""Who sees which statistics (Done-when 1): every stats endpoint for each role.

A national administrator opens every area and reads the counts as they are; staff of
岐阜県 their prefecture and its towns, staff of 飛騨市 their town, a resident and an
anonymous visitor only the nation — all of them the published figures, where a small
count is "x". Forbidden is a 403 in the API's one error shape; bad input a 400 or 404,
never a 500.
"""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from accounts.models import Role
from insights import services
from insights.errors import InsightsCode
from registry import services as registry
from tests.factories import person_with_role, sign_in
from tests.insights.conftest import NATIONAL_TABLES
from tests.matching.support import staff_of
from tests.support import AMA, HIDA, TAKAYAMA, api_as, error_of, register, resident

CHIYODA = "131016"  # 千代田区, 東京都
ROLES = ("national_admin", "prefecture_staff", "municipality_staff", "resident", "anonymous")
ALL = set(ROLES)
# Each area below the nation: who may open it, and a table of it to fetch alone.
AREAS = {
    "prefectures/21/": ({"national_admin", "prefecture_staff"}, "municipalities"),
    "prefectures/13/": ({"national_admin"}, "genders"),
    f"municipalities/{HIDA}/": (
        {"national_admin", "prefecture_staff", "municipality_staff"},
        "genders",
    ),
    f"municipalities/{TAKAYAMA}/": ({"national_admin", "prefecture_staff"}, "summary"),
    f"municipalities/{CHIYODA}/": ({"national_admin"}, "origins"),
}
# Figures that are not counts of people: never suppressed as small.
NOT_PEOPLE = {("board", "tasks"), ("board", "sessions"), ("board", "seats")}


@pytest.fixture
def viewers() -> dict:
    """The viewers, and the registrations they will look at (counted and published):
    飛騨市 12 (10 women, 2 men), 高山市 3, 千代田区 11 (people of 飛騨市), the resident's 1
    in 海士町. Small: 高山市, the nation's 2 men, …"""
    found = {
        "national_admin": person_with_role(Role.NATIONAL_ADMIN),
        "prefecture_staff": person_with_role(Role.PREFECTURE_STAFF, "21"),
        "municipality_staff": staff_of(HIDA),
        "resident": resident(),
        "anonymous": None,
    }
    register(found["resident"], AMA)
    for n in range(12):
        person = resident()
        registry.profile_update(user=person, gender="female" if n < 10 else "male")
        register(person, HIDA)
    for _n in range(3):
        register(resident(), TAKAYAMA)
    for _n in range(11):
        register(resident(home=HIDA), CHIYODA)
    services.counts_rebuild()
    return found


def tables_of(body: dict) -> dict[str, dict]:
    return {table["name"]: table for table in body["tables"]}


def rows_of(table: dict) -> dict[str, dict]:
    return {row["key"]: row["values"] for row in table["rows"]}


def public_columns(table: dict) -> list[str]:
    return [column["key"] for column in table["columns"]]


def assert_published(public: dict, counted: dict) -> int:
    """``public`` is the ``counted`` table as published: the same rows (the ranking leaves
    suppressed towns out), each figure the same or "x", and every count of 1 to 9 people
    "x". Returns how many figures are "x"."""
    suppressed = 0
    mine, theirs = rows_of(public), rows_of(counted)
    if public["name"] in ("ranking", "series"):
        assert set(mine) <= set(theirs)
    elif public["name"] != "series":  # the published series omits periods of all zeros
        assert list(mine) == list(theirs), public["name"]
    for key, values in mine.items():
        if public["name"] == "series" and "cumulative" not in public_columns(public):
            # The running count of each day is not published (weeks' and months' are).
            assert set(values) == set(theirs[key]) - {"cumulative"}
        else:
            assert set(values) == set(theirs[key])
        for column, value in values.items():
            raw = theirs[key][column]
            assert value is None or value == raw, (public["name"], key, column, value, raw)
            small = type(raw) is int and 0 < raw < 10
            if small and (public["name"], key) not in NOT_PEOPLE and column != "rank":
                assert value is None, (public["name"], key, column, raw)
            suppressed += value is None
    return suppressed


def assert_own(own: dict, counted: dict) -> None:
    """An area's own staff see the ``counted`` table (its totals) as the administrator does,
    but for the rows of other areas beside them, which are as published (and say so)."""
    assert list(rows_of(own)) == list(rows_of(counted)), own["name"]
    for row in own["rows"]:
        raw = rows_of(counted)[row["key"]]
        if row.get("basis") == "published":
            assert all(v is None or v == raw[c] for c, v in row["values"].items())
        else:
            assert row["values"] == raw, (own["name"], row["key"])


def assert_raw(table: dict) -> None:
    """Every figure a number: nothing suppressed (a rate over nothing is not applicable)."""
    for row in table["rows"]:
        for column, value in row["values"].items():
            applies = column not in row.get("not_applicable", ())
            assert (value is not None) is applies, (table["name"], row["key"], column)


def assert_csv_is(response, table: dict) -> None:
    """The table as CSV: UTF-8 with a byte order mark, a header of the column titles, the
    figures as in JSON with "x" where suppressed."""
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment; filename=")
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(text[1:])))
    assert lines[0] == ["key", "項目", *(c["title"] for c in table["columns"])]

    def shown(row: dict, column: str) -> str:
        if column in row.get("not_applicable", ()):
            return ""  # a rate over nothing
        value = row["values"][column]
        return "x" if value is None else str(value)

    expected = [
        [row["key"], row["label"], *(shown(row, c["key"]) for c in table["columns"])]
        for row in table["rows"]
    ]
    assert lines[1:] == expected


def assert_forbidden(response, *, as_csv: bool = False) -> None:
    if as_csv:
        assert response.status_code == 403
        lines = list(csv.reader(io.StringIO(response.content.decode("utf-8")[1:])))
        assert lines[0] == ["status", "code", "message"]
        assert lines[1][:2] == ["403", InsightsCode.STATISTICS_NOT_ALLOWED] and lines[1][2]
    else:
        error = error_of(response, 403, InsightsCode.STATISTICS_NOT_ALLOWED)
        assert error["message"] == "この統計を見る権限がありません。"


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_every_stats_endpoint_for_each_role(viewers, role):
    api, admin = api_as(viewers[role]), api_as(viewers["national_admin"])
    row_level = role == "national_admin"
    statuses, expected = {}, {}
    hidden = 0

    # The areas this viewer may open.
    areas = api.get("/api/stats/").json()
    assert areas["row_level"] is row_level
    assert areas["tables"]["national"] == NATIONAL_TABLES
    below = [t for t in NATIONAL_TABLES if t not in ("regions", "prefectures", "ranking", "flow")]
    assert areas["tables"]["prefecture"] == [*below[:2], "municipalities", *below[2:]]
    assert areas["tables"]["municipality"] == below
    opened = [(a["kind"], a["code"]) for a in areas["areas"]]
    prefectures = [("prefecture", f"{n:02d}") for n in range(1, 48)]
    assert (
        opened
        == {
            "national_admin": [("national", ""), *prefectures],  # their towns from their pages
            "prefecture_staff": [("national", ""), ("prefecture", "21")],
            "municipality_staff": [("national", ""), ("municipality", HIDA)],
            "resident": [("national", "")],
            "anonymous": [("national", "")],
        }[role]
    )

    # The nation: everyone, every table, as JSON and CSV, by day and month (and week for the
    # administrator: a week crosses the end of a month, so weeks are not published).
    weekly = api.get("/api/stats/national/?period=week")
    if not row_level:
        assert set(error_of(weekly, 400, "period_not_published")["fields"]) == {"period"}
    for period in ("day", "week", "month") if row_level else ("day", "month"):
        path = f"/api/stats/national/?period={period}"
        response = api.get(path)
        statuses[path], expected[path] = response.status_code, 200
        body = response.json()
        assert body["suppressed"] is not row_level and body["period"] == period
        assert body["threshold"] == 10
        assert [t["name"] for t in body["tables"]] == NATIONAL_TABLES
        counted = tables_of(admin.get(path).json())
        for name, table in tables_of(body).items():
            if row_level:
                assert_raw(table)
            else:
                hidden += assert_published(table, counted[name])
    national = tables_of(api.get("/api/stats/national/").json())
    for name in NATIONAL_TABLES:
        path = f"/api/stats/national/{name}/"
        response = api.get(path)
        statuses[path], expected[path] = response.status_code, 200
        assert response.json() == national[name]
        response = api.get(path, {"format": "csv"})
        statuses[path + "?format=csv"], expected[path + "?format=csv"] = response.status_code, 200
        assert_csv_is(response, national[name])
        suffix = "-month" if name == "series" else ""
        filename = f'attachment; filename="furusato-national-{name}{suffix}.csv"'
        assert response["Content-Disposition"] == filename

    # What is small is shown as it is to the administrator only: the nation's 2 men, and
    # the 10 women with them (the smallest other figure). The nation's 27 is hidden too (its
    # regions hold 海士町's one), so every part of the breakdown is, the 15 and the zero
    # included: beside a hidden total, a zero tells what the people counted are not.
    genders = {key: values["registrations"] for key, values in rows_of(national["genders"]).items()}
    if row_level:
        assert genders == {"female": 10, "male": 2, "other": 0, "unknown": 15}
    else:
        assert genders == dict.fromkeys(("female", "male", "other", "unknown"))
    csv_men = api.get("/api/stats/national/genders/", {"format": "csv"}).content.decode()
    assert ",男性,2\r\n" in csv_men if row_level else ",男性,x\r\n" in csv_men
    if not row_level:
        assert hidden > 10

    # Below the nation: open to some.
    for area, (may, table) in AREAS.items():
        allowed = role in may
        for path, as_csv in (
            (f"/api/stats/{area}", False),
            (f"/api/stats/{area}{table}/", False),
            (f"/api/stats/{area}{table}/?format=csv", True),
        ):
            response = api.get(path)
            statuses[path], expected[path] = response.status_code, 200 if allowed else 403
            if not allowed:
                assert_forbidden(response, as_csv=as_csv)
            elif as_csv:
                assert_csv_is(response, api.get(f"/api/stats/{area}{table}/").json())
        if not allowed:
            continue
        # Days and weeks are published for the nation only.
        response = api.get(f"/api/stats/{area}?period=day")
        if row_level:
            assert response.json()["suppressed"] is False and response.json()["period"] == "day"
        else:
            assert set(error_of(response, 400, "period_not_published")["fields"]) == {"period"}
        mine, counted = api.get(f"/api/stats/{area}").json(), admin.get(f"/api/stats/{area}").json()
        assert mine["area"] == counted["area"]
        for name, table in tables_of(mine).items():
            if row_level:
                assert_raw(table)
            elif table["basis"] == "counted":  # the area's own staff: its totals (issue 19)
                assert_own(table, tables_of(counted)[name])
            else:
                assert_published(table, tables_of(counted)[name])
    assert statuses == expected

    # 高山市's 3 registrations: a number to the administrator, "x" to its prefecture's staff
    # (who see no rows: only a town's own staff see its totals as counted, issue 19).
    if role in ("national_admin", "prefecture_staff"):
        towns = rows_of(api.get("/api/stats/prefectures/21/municipalities/").json())
        assert towns[TAKAYAMA]["registrations"] == (3 if row_level else None)
        summary = rows_of(api.get(f"/api/stats/municipalities/{TAKAYAMA}/summary/").json())
        assert summary["registrations"]["value"] == (3 if row_level else None)
        # (With 27 registrations in all, the published national total may be a complement.)
        assert summary["registrations_nation"]["value"] in ((27,) if row_level else (27, None))


# --- Bad input ------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["national_admin", "anonymous"])
def test_a_bad_period_is_a_400_with_a_message(role):
    user = person_with_role(Role.NATIONAL_ADMIN) if role == "national_admin" else None
    for path in (
        "/api/stats/national/?period=year",
        "/api/stats/national/series/?period=year",
        "/api/stats/national/series/?period=year&format=csv",
        "/api/stats/national/?period=day&period=year",
    ):
        response = api_as(user).get(path)
        assert response.status_code == 400, path
        if "csv" in path:
            continue
        error = error_of(response, 400)
        assert set(error["fields"]) == {"period"}
    assert api_as(user).get("/api/stats/national/?period=").json()["period"] == "month"  # default
    error = error_of(api_as(user).get("/api/stats/national/?period=year"), 400)
    assert error["message"] == "period は day・week・month のいずれかで指定してください。"
    assert error["fields"]["period"] == [error["message"]]
    english = error_of(api_as(user, "en").get("/api/stats/national/?period=year"), 400)
    assert english["message"] == "Set period to one of day, week or month."
    assert english["fields"]["period"] == [english["message"]]


@pytest.mark.django_db
def test_unknown_tables_and_areas_are_404s_never_500s():
    admin, anonymous = api_as(person_with_role(Role.NATIONAL_ADMIN)), api_as(None)
    for api in (admin, anonymous):
        for path in (
            "/api/stats/prefectures/99/",
            "/api/stats/prefectures/abc/",
            "/api/stats/prefectures/99/summary/",
            "/api/stats/municipalities/999999/",
            "/api/stats/municipalities/21/",
            "/api/stats/municipalities/999999/summary/?format=csv",
            "/api/stats/prefectures/%00/",
            "/api/stats/municipalities/%00/",
            "/api/stats/municipalities/%00/summary/",
            "/api/stats/municipalities/２１２１７２/",
        ):
            response = api.get(path)
            assert response.status_code == 404, (path, response.status_code)
            if "format=" not in path:
                assert error_of(response, 404, "not_found")["message"] == "見つかりませんでした。"
        # A table the area does not have: the message names the ones it has.
        for path, name in (
            ("/api/stats/national/nonsense/", "nonsense"),
            ("/api/stats/national/municipalities/", "municipalities"),  # a prefecture's table
        ):
            message = error_of(api.get(path), 404, "not_found")["message"]
            assert message.startswith(f"「{name}」という表はありません。表の名前: summary、")
        message = error_of(api.get("/api/stats/national/summary/?format=xml"), 404, "not_found")[
            "message"
        ]
        assert message == "形式（format）は json か csv で指定してください。"
    for path in (
        "/api/stats/prefectures/21/flow/",
        f"/api/stats/municipalities/{HIDA}/municipalities/",
    ):
        assert error_of(admin.get(path), 404, "not_found")
    english = error_of(api_as(None, "en").get("/api/stats/prefectures/99/"), 404, "not_found")
    assert english["message"] == "Not found."
    english = error_of(api_as(None, "en").get("/api/stats/national/nonsense/"), 404, "not_found")
    assert english["message"].startswith("There is no table “nonsense”. The tables: summary, ")
    # A forbidden area, in English.
    forbidden = error_of(
        api_as(None, "en").get("/api/stats/prefectures/21/"), 403, "statistics_not_allowed"
    )
    assert forbidden["message"] == "You don't have permission to view these statistics."
    # The whole dashboard is JSON only; as CSV it is a 406 that says so, as CSV.
    response = anonymous.get("/api/stats/national/", {"format": "csv"})
    assert response.status_code == 406 and response["Content-Type"].startswith("text/csv")
    assert "CSV は表ごとに取得できます" in response.content.decode("utf-8-sig")


@pytest.mark.django_db
def test_no_shared_cache_keeps_an_answer_that_depends_on_the_viewer(municipalities):
    """An administrator's figures are unsuppressed: neither the API nor the pages may be
    stored by a cache and served to someone else. An anonymous answer is the publication's,
    the same for everyone: a cache may keep it, asking again each time, and never serve it
    to a signed-in viewer or a token (Vary)."""
    admin = person_with_role(Role.NATIONAL_ADMIN)
    response = api_as(admin).get("/api/stats/national/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert {"Cookie", "Authorization"} <= {v.strip() for v in response["Vary"].split(",")}
    response = api_as(None).get("/api/stats/national/summary/", {"format": "csv"})
    assert response.status_code == 200 and response["ETag"]
    assert response["Cache-Control"] == "public, no-cache"
    assert {"Cookie", "Authorization"} <= {v.strip() for v in response["Vary"].split(",")}
    page = Client()
    sign_in(page, admin)
    assert "no-store" in page.get("/stats/")["Cache-Control"]
