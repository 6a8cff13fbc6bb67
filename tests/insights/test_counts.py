"""The figures match an independent count (Done-when 2), and the incremental update agrees
with the full rebuild.

A generated population and board are counted; then people withdraw, change their profile
and register again through the registry's services, and attendance is marked through the
board's. Every figure of the national administrator's dashboards (the nation, some
prefectures, some municipalities; every table; by day, week and month) is compared with a
count written here in SQL over the raw rows — registry_registration, registry_profile,
places_*, matching_task/session/signup — not with anything of ``insights``.
"""

# ruff: noqa: S608 — the SQL here is assembled from constants of the test; values are parameters.

from __future__ import annotations

import datetime
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone

from accounts.models import Role
from core.errors import Conflict, Denied
from demo.population import board_generate, population_generate
from insights import services
from insights.models import BoardChange, Count, Published, State
from matching import services as board
from matching.models import Session, Signup
from places.models import Municipality, Region
from registry import flags
from registry import services as registry
from registry.models import AgeBand, Gender, Profile, Registration, RelationshipType, Tier
from tests.factories import person_with_role
from tests.support import HIDA, SETAGAYA, TAKAYAMA, api_as, register, resident

pytestmark = pytest.mark.xdist_group("insights-counts")

TIME_ZONE = "Asia/Tokyo"
NON_VISITING = flags.bit(RelationshipType, RelationshipType.NON_VISITING)
# 三大都市圏 (MLIT's surveys), by prefecture code.
METRO = {
    "tokyo": ("11", "12", "13", "14"),
    "nagoya": ("21", "23", "24"),
    "osaka": ("26", "27", "28", "29"),
}
METRO_KEYS = ["tokyo", "nagoya", "osaka", "other"]
KEYS = {
    "tiers": list(Tier.values),
    "visiting": ["visiting", "non_visiting"],
    "types": list(RelationshipType.values),
    "home_regions": list(Region.values),
    "origins": METRO_KEYS,
    "genders": [*Gender.values, "unknown"],
    "age_bands": [*AgeBand.values, "unknown"],
}
PUBLIC = "t.status IN ('published', 'closed', 'completed')"  # tasks the public sees
PERIOD_KEY = {"day": "YYYY-MM-DD", "week": 'IYYY-"W"IW', "month": "YYYY-MM"}


def sql(query: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def metro(column: str) -> str:
    whens = " ".join(
        f"WHEN {column} IN ({', '.join(repr(c) for c in codes)}) THEN '{name}'"
        for name, codes in METRO.items()
    )
    return f"CASE {whens} ELSE 'other' END"


# Every registration with where it is, where its person lives, and who they are.
REGISTRATIONS = f"""
    SELECT r.id, r.person_id, r.status = 'active' AS active, r.tier, r.types,
           m.code AS municipality, m.prefecture_id AS prefecture, p.region,
           hm.prefecture_id AS home_prefecture, hp.region AS home_region,
           pr.gender, pr.birth_year, r.share_age_band,
           (r.registered_at AT TIME ZONE '{TIME_ZONE}')::date AS registered_on,
           (r.withdrawn_at AT TIME ZONE '{TIME_ZONE}')::date AS withdrawn_on
    FROM registry_registration r
    JOIN places_municipality m ON m.code = r.municipality_id
    JOIN places_prefecture p ON p.code = m.prefecture_id
    JOIN places_municipality hm ON hm.code = r.home_municipality_id
    JOIN places_prefecture hp ON hp.code = hm.prefecture_id
    LEFT JOIN registry_profile pr ON pr.user_id = r.person_id
"""
# A town learns the age band only of those who agreed to tell it (share_age_band).
AGE_BAND = f"""CASE WHEN birth_year IS NULL OR NOT share_age_band THEN 'unknown'
    WHEN y - birth_year < 20 THEN 'under_20' WHEN y - birth_year < 30 THEN '20s'
    WHEN y - birth_year < 40 THEN '30s' WHEN y - birth_year < 50 THEN '40s'
    WHEN y - birth_year < 60 THEN '50s' WHEN y - birth_year < 70 THEN '60s'
    ELSE '70_plus' END
    FROM (SELECT *, EXTRACT(YEAR FROM now() AT TIME ZONE '{TIME_ZONE}')::int AS y FROM x) aged"""
BREAKDOWN = {
    "tiers": "tier FROM x",
    "visiting": f"CASE WHEN types = {NON_VISITING} THEN 'non_visiting' ELSE 'visiting' END FROM x",
    "home_regions": "home_region FROM x",
    "origins": f"{metro('home_prefecture')} FROM x",
    "genders": "COALESCE(NULLIF(gender, ''), 'unknown') FROM x",
    "age_bands": AGE_BAND,
}


class Expected:
    """An area's tables as a national administrator must see them, counted in SQL."""

    def __init__(self, kind: str, code: str = ""):
        self.kind, self.code = kind, code
        column = {"national": "TRUE", "prefecture": "prefecture", "municipality": "municipality"}
        self.where = f"{column[kind]} = %s" if code else "TRUE"
        self.task_where = {
            "national": "TRUE",
            "prefecture": "t.prefecture_id = %s",
            "municipality": "t.municipality_id = %s",
        }[kind]
        self.params = (code,) if code else ()

    def of(self, query: str, extra=()) -> list[tuple]:
        """``query`` over ``x``: the area's registrations."""
        return sql(
            f"WITH x AS (SELECT * FROM ({REGISTRATIONS}) AS r WHERE {self.where}) {query}",
            (*self.params, *extra),
        )

    def tables(self, period: str) -> dict[str, list[tuple[str, dict]]]:
        registrations, people = self.of(
            "SELECT COUNT(*), COUNT(DISTINCT person_id) FROM x WHERE active"
        )[0]
        summary = [("registrations", {"value": registrations})]
        if self.kind == "municipality":
            prefecture = Municipality.objects.get(code=self.code).prefecture_id
            summary += [
                ("people", {"value": registrations}),
                (
                    "registrations_prefecture",
                    {"value": Expected("prefecture", prefecture).registrations()},
                ),
                ("registrations_nation", {"value": Expected("national").registrations()}),
            ]
        else:
            summary.append(("people", {"value": people}))
        tables = {"summary": summary, "series": self.series(period)}
        if self.kind == "national":
            tables["regions"] = self.children(
                "region", [(r, r) for r in Region.values], people=True
            )
            codes = [(c, c) for (c,) in sql("SELECT code FROM places_prefecture ORDER BY code")]
            tables["prefectures"] = self.children("prefecture", codes, people=True)
            tables["ranking"] = self.ranking()
            tables["flow"] = self.flow()
        if self.kind == "prefecture":
            codes = sql(
                "SELECT code, code FROM places_municipality WHERE prefecture_id = %s ORDER BY code",
                (self.code,),
            )
            tables["municipalities"] = self.children("municipality", codes, people=False)
        for name, keys in KEYS.items():
            if name == "types":
                rows = self.of(
                    "SELECT k, COUNT(*) FROM x JOIN (VALUES "
                    + ", ".join(f"('{key}', {1 << i})" for i, key in enumerate(keys))
                    + ") AS bits (k, bit) ON x.types & bits.bit <> 0 WHERE active GROUP BY k"
                )
            else:
                rows = self.of(
                    f"SELECT k, COUNT(*) FROM (SELECT active, {BREAKDOWN[name]}) AS y (active, k)"
                    " WHERE active GROUP BY k"
                )
            counts = dict(rows)
            assert set(counts) <= set(keys), counts
            tables[name] = [(key, {"registrations": counts.get(key, 0)}) for key in keys]
        tables["board"] = self.board()
        tables["funnel"] = self.funnel()
        return tables

    def registrations(self) -> int:
        return self.of("SELECT COUNT(*) FROM x WHERE active")[0][0]

    def series(self, period: str) -> list[tuple[str, dict]]:
        """New and withdrawn registrations per period, from the area's first to today's,
        and the registrations at the end of each."""
        key = f"to_char(c.day, '{PERIOD_KEY[period]}')"
        rows = self.of(
            f""", moves AS (
                SELECT registered_on AS day, 1 AS new, 0 AS gone FROM x
                UNION ALL SELECT withdrawn_on, 0, 1 FROM x WHERE withdrawn_on IS NOT NULL),
            calendar AS (
                SELECT generate_series(
                    MIN(day), (now() AT TIME ZONE '{TIME_ZONE}')::date, interval '1 day'
                )::date AS day FROM moves)
            SELECT {key}, COALESCE(SUM(m.new), 0), COALESCE(SUM(m.gone), 0),
                   SUM(COALESCE(SUM(m.new), 0) - COALESCE(SUM(m.gone), 0)) OVER (ORDER BY {key})
            FROM calendar c LEFT JOIN moves m ON m.day = c.day GROUP BY {key} ORDER BY {key}"""
        )
        return [(k, {"new": n, "withdrawn": g, "cumulative": c}) for k, n, g, c in rows]

    def children(self, column: str, children, *, people: bool) -> list[tuple[str, dict]]:
        counts = {
            k: (n, p)
            for k, n, p in sql(
                f"""SELECT {column}, COUNT(*), COUNT(DISTINCT person_id) FROM ({REGISTRATIONS}) AS x
                WHERE active AND {self.where} GROUP BY {column}""",
                self.params,
            )
        }
        rows = []
        for key, area in children:
            n, p = counts.get(area, (0, 0))
            rows.append(
                (key, {"registrations": n, "people": p} if people else {"registrations": n})
            )
        return rows

    def ranking(self) -> list[tuple[str, dict]]:
        top = sql(
            f"""SELECT municipality, COUNT(*) FROM ({REGISTRATIONS}) AS x WHERE active
            GROUP BY municipality ORDER BY COUNT(*) DESC, municipality LIMIT 20"""
        )
        # Equal figures share a rank: 1 + how many towns have more.
        return [
            (code, {"rank": 1 + sum(1 for _c, m in top if m > n), "registrations": n})
            for code, n in top
        ]

    def flow(self) -> list[tuple[str, dict]]:
        counts = {
            (d, o): n
            for d, o, n in sql(
                f"""SELECT {metro("prefecture")}, {metro("home_prefecture")}, COUNT(*)
                FROM ({REGISTRATIONS}) AS x WHERE active GROUP BY 1, 2"""
            )
        }
        return [(d, {o: counts.get((d, o), 0) for o in METRO_KEYS}) for d in METRO_KEYS]

    def board(self) -> list[tuple[str, dict]]:
        """Public tasks (published, closed, completed) of the area, their scheduled
        sessions, the confirmed sign-ups of those, their attendance."""
        live = f"""matching_signup u JOIN matching_session s ON s.id = u.session_id
            JOIN matching_task t ON t.id = s.task_id
            WHERE {PUBLIC} AND s.status = 'scheduled' AND u.status = 'confirmed'
            AND {self.task_where}"""
        p = self.params
        tasks = sql(
            f"SELECT COUNT(*) FROM matching_task t WHERE {PUBLIC} AND {self.task_where}", p
        )[0][0]
        sessions, seats = sql(
            f"""SELECT COUNT(*), COALESCE(SUM(s.capacity), 0) FROM matching_session s
            JOIN matching_task t ON t.id = s.task_id
            WHERE {PUBLIC} AND s.status = 'scheduled' AND {self.task_where}""",
            p,
        )[0]
        signups, attended, no_show = sql(
            f"""SELECT COUNT(*), COUNT(*) FILTER (WHERE u.attendance = 'attended'),
            COUNT(*) FILTER (WHERE u.attendance = 'no_show') FROM {live}""",
            p,
        )[0]
        participants, repeaters = sql(
            f"""SELECT COUNT(*), COUNT(*) FILTER (WHERE n >= 2) FROM (
                SELECT u.person_id, COUNT(*) AS n FROM {live} AND u.attendance = 'attended'
                GROUP BY u.person_id) AS y""",
            p,
        )[0]
        marked = attended + no_show
        figures = {
            "tasks": tasks,
            "sessions": sessions,
            "seats": seats,
            "signups": signups,
            "attended": attended,
            "no_show": no_show,
            "participants": participants,
            "repeaters": repeaters,
            "fill_rate": round(100 * signups / seats, 1) if seats else None,
            "no_show_rate": round(100 * no_show / marked, 1) if marked else None,
        }
        return [(key, {"value": value}) for key, value in figures.items()]

    def funnel(self) -> list[tuple[str, dict]]:
        """People registered with the area; of them, those with a confirmed sign-up for a
        task there; who took part there; who took part there twice or more."""
        stages = self.of(
            f""", took AS (
                SELECT u.person_id, COUNT(*) FILTER (WHERE u.attendance = 'attended') AS n
                FROM matching_signup u JOIN matching_session s ON s.id = u.session_id
                JOIN matching_task t ON t.id = s.task_id
                WHERE {PUBLIC} AND s.status = 'scheduled' AND u.status = 'confirmed'
                AND {self.task_where} GROUP BY u.person_id)
            SELECT COUNT(*), COUNT(took.person_id), COUNT(*) FILTER (WHERE took.n >= 1),
                   COUNT(*) FILTER (WHERE took.n >= 2)
            FROM (SELECT DISTINCT person_id FROM x WHERE active) AS registered
            LEFT JOIN took ON took.person_id = registered.person_id""",
            self.params,
        )[0]
        registered = stages[0]
        return [
            (stage, {"people": n, "share": round(100 * n / registered, 1) if registered else None})
            for stage, n in zip(
                ("registered", "signed_up", "took_part", "again"), stages, strict=True
            )
        ]


def dashboards_match(api, areas: list[tuple[str, str]]) -> int:
    """Every table of every area, by day, week and month, against the SQL; the figures compared."""
    compared = 0
    path = {
        "national": "national/",
        "prefecture": "prefectures/{}/",
        "municipality": "municipalities/{}/",
    }
    for kind, code in areas:
        expected_area = Expected(kind, code)
        for period in ("day", "week", "month"):
            response = api.get(f"/api/stats/{path[kind].format(code)}?period={period}")
            assert response.status_code == 200
            body = response.json()
            assert body["suppressed"] is False and body["period"] == period
            got = {
                t["name"]: [(row["key"], row["values"]) for row in t["rows"]]
                for t in body["tables"]
            }
            expected = expected_area.tables(period)
            assert set(got) == set(expected), (kind, code)
            for name, rows in expected.items():
                assert got[name] == rows, (kind, code, period, name)
                compared += sum(len(values) for _key, values in rows)
    return compared


def cells() -> dict[tuple[str, str, str], int]:
    return {
        (a, m, k): v for a, m, k, v in Count.objects.values_list("area", "measure", "key", "value")
    }


def published_cells() -> dict[tuple[str, str, str], int | None]:
    rows = Published.objects.values_list("area", "measure", "key", "value")
    return {(a, m, k): v for a, m, k, v in rows}


def nonzero(found: dict) -> dict:
    return {cell: value for cell, value in found.items() if value}


@pytest.mark.slow  # a world of people counted over and over: minutes
@pytest.mark.django_db
def test_every_figure_matches_a_count_over_the_raw_rows_and_the_update_matches_the_rebuild(
    settings,
):
    settings.DEMO_CONTENT_ALLOWED = True
    # The generated past reaches back months; marks there stay open (not the window's test).
    settings.MATCHING_ATTENDANCE_CORRECTION_DAYS = 3650
    population_generate(people=3000, seed=73)
    board_generate(tasks=300, signups=3000, seed=73)
    assert services.counts_update()  # never counted: a full count
    assert State.now().counted_at is not None

    # Changes through the services: withdrawals, new registrations, new ages and genders,
    # attendance marked.
    registrations = list(
        Registration.objects.select_related("person", "municipality").order_by("pk")
    )
    for registration in registrations[::40]:
        registry.registration_withdraw(registration=registration, actor=registration.person)
    this_year = timezone.localdate().year
    profiles = list(
        Profile.objects.filter(birth_year__lte=this_year - 25).select_related("user").order_by("pk")
    )
    hida = Municipality.objects.get(code=HIDA)
    taken = set(
        Registration.objects.filter(municipality=hida, status="active").values_list(
            "person_id", flat=True
        )
    )
    added = 0
    for profile in profiles[::60]:
        if profile.user_id not in taken and profile.home_municipality_id != HIDA:
            register(profile.user, HIDA)
            added += 1
    genders = ["female", "male", "other", ""]
    for n, profile in enumerate(profiles[7::50]):
        registry.profile_update(
            user=profile.user, gender=genders[n % 4], birth_year=this_year - 20 - (n * 7) % 60
        )
    unmarked = list(
        Signup.objects.filter(
            status="confirmed", attendance="", session__starts_at__lt=timezone.now()
        )
        .select_related("session__task")
        .order_by("pk")[:6]
    )
    assert len(unmarked) == 6 and added > 10
    for n, signup in enumerate(unmarked):
        staff = person_with_role(Role.MUNICIPALITY_EDITOR, signup.session.task.municipality_id)
        board.attendance_mark(signup=signup, actor=staff, attendance=["attended", "no_show"][n % 2])
    # Who says neither gender nor (any more) year of birth counts as "unknown".
    nobody = resident()
    register(nobody, HIDA)
    registry.profile_update(user=nobody, gender="", birth_year=None)
    result = services.counts_update()
    assert result["registrations"] > 100 and result["board"] > 0

    # The areas: the nation; 岐阜県, 東京都, 沖縄県 (九州・沖縄) and the busiest board's
    # prefecture; 飛騨市, the largest town, the busiest board's, a town with a withdrawal,
    # an empty one.
    top = Expected("national").ranking()[0][0]
    busiest = sql(
        """SELECT t.municipality_id, t.prefecture_id FROM matching_signup u
        JOIN matching_session s ON s.id = u.session_id JOIN matching_task t ON t.id = s.task_id
        WHERE u.attendance = 'attended' GROUP BY 1, 2 ORDER BY COUNT(*) DESC, 1 LIMIT 1"""
    )[0]
    withdrawn = registrations[40].municipality_id
    empty = sql(
        """SELECT code FROM places_municipality m WHERE NOT EXISTS (
            SELECT 1 FROM registry_registration r WHERE r.municipality_id = m.code)
        AND NOT EXISTS (SELECT 1 FROM matching_task t WHERE t.municipality_id = m.code)
        ORDER BY code LIMIT 1"""
    )[0][0]
    areas = [("national", "")]
    areas += [("prefecture", code) for code in dict.fromkeys(["21", "13", "47", busiest[1]])]
    areas += [
        ("municipality", code) for code in dict.fromkeys([HIDA, top, busiest[0], withdrawn, empty])
    ]
    admin = api_as(person_with_role(Role.NATIONAL_ADMIN))
    assert dashboards_match(admin, areas) > 5000

    # Idempotent: a second update changes no count, nor any published figure.
    counted, published = cells(), published_cells()
    services.counts_update()
    assert cells() == counted and published_cells() == published
    # The update agrees with a full rebuild from the raw rows: the same cells, but for
    # those the update brought down to 0 (the rebuild writes no zeros); the same figures
    # published.
    services.counts_rebuild()
    rebuilt = cells()
    assert nonzero(rebuilt) == nonzero(counted) == rebuilt
    assert counted.keys() - rebuilt.keys() == {cell for cell, value in counted.items() if not value}
    assert published_cells() == published
    assert dashboards_match(admin, areas[:2]) > 1000


@pytest.mark.django_db
def test_an_event_read_twice_is_counted_once(clock):
    """The feed is read with an overlap (a late commit is never missed): events of the last
    minutes are read again by the next run; and a run that lost its mark reads them all
    again. Each registration still counts once."""
    people = [resident(home=SETAGAYA) for _n in range(12)]
    for person in people:
        register(person, HIDA)
    services.counts_update()
    first = cells()
    assert first[(f"M{HIDA}", "reg", "")] == 12 and first[("JP", "people", "")] == 12

    late = resident()
    register(late, HIDA)
    for _run in range(3):  # its event is young: every run reads it again
        services.counts_update()
        assert cells()[(f"M{HIDA}", "reg", "")] == 13
    registry.registration_withdraw(
        registration=Registration.objects.get(person=people[0]), actor=people[0]
    )
    services.counts_update()
    after = cells()
    assert after[(f"M{HIDA}", "reg", "")] == 12 and after[("JP", "people", "")] == 12
    today = timezone.localdate().isoformat()
    assert after[(f"M{HIDA}", "new", today)] == 13 and after[(f"M{HIDA}", "gone", today)] == 1

    # Every event read again from the start, as after a lost mark: nothing changes.
    State.objects.filter(id=1).update(
        event_mark=0, profile_mark=timezone.now() - datetime.timedelta(days=1)
    )
    services.counts_update()
    assert cells() == after


@pytest.mark.django_db(transaction=True)
def test_a_registration_committed_after_a_rebuild_began_is_counted_by_the_next_update(
    clock, municipalities
):
    """A transaction still open while the rebuild reads has written its event below later
    ones; the rebuild's mark stays below it, so the next update reads it."""
    early, late = resident(), resident()
    register(resident(), HIDA)
    # Their profiles changed long ago: only the registrations' events tell of them.
    Profile.objects.update(updated_at=timezone.now() - datetime.timedelta(hours=1))
    services.counts_rebuild()
    written, release = threading.Event(), threading.Event()

    def slow() -> None:
        try:
            with transaction.atomic():
                register(early, HIDA)  # its event takes the lower id...
                written.set()
                release.wait(30)  # ...and commits after the rebuild
        finally:
            connection.close()

    thread = threading.Thread(target=slow)
    thread.start()
    try:
        assert written.wait(30)
        register(late, TAKAYAMA)  # committed, with a higher event id
        services.counts_rebuild()
    finally:
        release.set()
        thread.join(30)
    services.counts_update()
    active = Registration.objects.filter(status="active").count()
    assert active == 3 and cells()[("JP", "reg", "")] == 3
    assert published_cells()[("JP", "reg", "")] is None  # three people: fewer than ten


def published_figures() -> dict[tuple[str, str], int | None]:
    """Every figure of the anonymous reader's national dashboard, by table and row/column."""
    body = api_as(None).get("/api/stats/national/").json()
    return {
        (table["name"], f"{row['key']}/{column}"): value
        for table in body["tables"]
        for row in table["rows"]
        for column, value in row["values"].items()
    }


@pytest.mark.django_db
def test_the_figures_are_published_once_a_day_and_one_newcomer_cannot_be_read_off_them(clock):
    """Two publications compared: one person's registration (where, which tier, their
    gender, where they live) must not show as a change of one in any figure."""
    with override_settings(INSIGHTS_PUBLISH_SECONDS=24 * 60 * 60):
        for n in range(60):
            register(resident(home=SETAGAYA if n % 2 else "011002"), HIDA)
        services.counts_rebuild()  # never published: published now
        before = published_figures()
        assert before[("summary", "registrations/value")] == 60

        newcomer = resident(home=SETAGAYA)
        register(newcomer, HIDA)
        result = services.counts_update()
        assert result["registrations"] == 1 and result["published"] is False
        assert published_figures() == before  # counted, not yet published
        assert cells()[("JP", "reg", "")] == 61

        # A day later, the next update publishes.
        State.objects.update(published_as_of=timezone.now() - datetime.timedelta(days=1))
        assert services.counts_update()["published"] is True
        after = published_figures()
        moved = {
            name: (before[name], value)
            for name, value in after.items()
            if value is not None
            and before.get(name) is not None
            and value != before[name]
            and "rate" not in name[1]
            and "share" not in name[1]  # percentages, not people
        }
        assert all(abs(new - old) >= 10 for old, new in moved.values()), moved
        assert after[("summary", "registrations/value")] is None  # 61: a change of one
        # Ten more, and the total may be shown again.
        for _n in range(9):
            register(resident(home=SETAGAYA), HIDA)
        State.objects.update(published_as_of=timezone.now() - datetime.timedelta(days=1))
        services.counts_update()
        assert published_figures()[("summary", "registrations/value")] == 70


def board_cells() -> dict[tuple[str, str, str], int]:
    return {
        cell: value for cell, value in cells().items() if cell[1] in ("board", "funnel") and value
    }


@pytest.mark.django_db
def test_the_board_and_the_funnel_follow_every_change_from_their_feed_and_match_the_rebuild(
    settings,
):
    """Sign-ups, cancellations, attendance, a cancelled session and task, registrations and
    withdrawals: the next update brings the board's and the funnel's cells to what a full
    rebuild counts, from the board's change feed (triggers), without recounting it whole."""
    settings.DEMO_CONTENT_ALLOWED = True
    settings.MATCHING_ATTENDANCE_CORRECTION_DAYS = 3650
    population_generate(people=1500, seed=18)
    board_generate(tasks=150, signups=1500, seed=18)
    services.counts_rebuild()
    assert not BoardChange.objects.exists()
    rebuilt = board_cells()
    assert services.counts_update()["board"] == 0  # nothing changed

    now = timezone.now()
    open_sessions = list(
        Session.objects.filter(
            status="scheduled",
            task__status="published",
            starts_at__gt=now + datetime.timedelta(days=3),
        )
        .select_related("task")
        .order_by("pk")[:12]
    )
    assert len(open_sessions) == 12
    made = []
    for n, session in enumerate(open_sessions[:8]):
        person = resident()
        if n % 2 == 0:  # registered with the task's town: the funnel counts them
            register(person, session.task.municipality_id)
        try:
            made.append(board.signup_create(session=session, person=person))
        except (ValidationError, Conflict, Denied):
            continue
    assert len(made) >= 4
    board.signup_cancel(signup=made[0], actor=made[0].person)
    unmarked = list(
        Signup.objects.filter(status="confirmed", attendance="", session__starts_at__lt=now)
        .select_related("session__task")
        .order_by("pk")[:4]
    )
    for n, signup in enumerate(unmarked):
        staff = person_with_role(Role.MUNICIPALITY_EDITOR, signup.session.task.municipality_id)
        board.attendance_mark(signup=signup, actor=staff, attendance=["attended", "no_show"][n % 2])
    # Someone who took part registers with the town (the funnel), another withdraws.
    attended = Signup.objects.filter(attendance="attended").select_related("session__task")
    joiner = next(
        s
        for s in attended.order_by("pk")
        if not Registration.objects.filter(
            person_id=s.person_id, municipality_id=s.session.task.municipality_id
        ).exists()
    )
    register(joiner.person, joiner.session.task.municipality_id)
    leaving = Registration.objects.filter(
        status="active", person_id__in=attended.values("person_id")
    ).first()
    registry.registration_withdraw(registration=leaving, actor=leaving.person)
    # A session and a task called off.
    for session in open_sessions[8:10]:
        staff = person_with_role(Role.MUNICIPALITY_EDITOR, session.task.municipality_id)
        board.session_cancel(session=session, actor=staff, reason="雨天のため")
    task = open_sessions[11].task
    staff = person_with_role(Role.MUNICIPALITY_EDITOR, task.municipality_id)
    board.task_cancel(task=task, actor=staff, reason="都合により")
    assert BoardChange.objects.exists()

    result = services.counts_update()
    assert result["board"] > 0
    assert not BoardChange.objects.exists()
    counted = board_cells()
    assert counted != rebuilt
    services.counts_rebuild()
    assert board_cells() == counted
    assert services.counts_update()["board"] == 0
