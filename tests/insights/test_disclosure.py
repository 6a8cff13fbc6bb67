"""No suppressed figure can be worked out (Done-when 3), and the suppression rule on tiny
hand-made problems.

The big tests play an outsider: staff of 岐阜県, who may read the published national
dashboard (by day, week and month), their prefecture's and each of its municipalities'. They
writes down every linear relation such a reader knows between the figures on those pages (a
total is the sum of its parts, a prefecture's cell the sum of its municipalities', the
nation's the sum of the prefectures', a cumulative count moves by the new less the
withdrawn, the end of a week is the end of its Sunday, …), treat every "x" as an unknown
and prove with exact rational elimination that no unknown is fixed by them: the unit vector
of a suppressed figure is not in the row space of the unknowns' coefficients. The relations
are checked against the national administrator's unsuppressed figures first, so the test
cannot pass by writing down relations that are not true.
"""

from __future__ import annotations

import datetime
import itertools
from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from accounts.models import Role
from demo.population import board_generate, population_generate
from insights import disclosure, services
from insights.disclosure import Problem
from insights.models import Count, Published
from places.models import Municipality, Prefecture
from registry import services as registry
from registry.models import Registration
from tests.factories import person_with_role
from tests.support import HIDA, api_as, register, resident

pytestmark = pytest.mark.xdist_group("insights-disclosure")

THRESHOLD = 10
GIFU = "21"
# 三大都市圏 as the published "origins" and "flow" tables name them (the outsider knows them).
METRO = {
    "tokyo": {"11", "12", "13", "14"},
    "nagoya": {"21", "23", "24"},
    "osaka": {"26", "27", "28", "29"},
}
PARTITIONS = ("tiers", "visiting", "home_regions", "origins", "genders", "age_bands")
BREAKDOWNS = (*PARTITIONS, "types")
BOARD_ADDITIVE = ("tasks", "sessions", "seats", "signups", "attended", "no_show")


def metro_of(prefecture: str) -> str:
    return next((name for name, codes in METRO.items() if prefecture in codes), "other")


# --- Exact linear algebra ---------------------------------------------------------------------


class Elimination:
    """Rows over the rationals kept reduced: every pivot column appears in its own row only.
    Then a unit vector e_i is in the row space exactly when column i is a pivot whose row
    has no other entry (a combination giving e_i must take 1 × i's row and 0 × the others).
    Pivots are chosen where they cause the least fill-in; any choice gives the same answer.
    """

    def __init__(self) -> None:
        self.rows: dict[int, dict[int, Fraction]] = {}
        self.holding: dict[int, set[int]] = defaultdict(set)  # column → pivots of rows with it

    def add(self, row: dict[int, Fraction]) -> None:
        row = {c: Fraction(v) for c, v in row.items() if v}
        for column in [c for c in row if c in self.rows]:
            factor = row.pop(column)
            for c, v in self.rows[column].items():
                if c == column:
                    continue
                value = row.get(c, 0) - factor * v
                if value:
                    row[c] = value
                else:
                    row.pop(c, None)
        if not row:
            return  # a combination of the rows already there
        pivot = min(row, key=lambda c: (len(self.holding[c]), c))
        scale = 1 / row[pivot]
        row = {c: v * scale for c, v in row.items()}
        for other in list(self.holding[pivot]):
            target = self.rows[other]
            factor = target.pop(pivot)
            self.holding[pivot].discard(other)
            for c, v in row.items():
                if c == pivot:
                    continue
                value = target.get(c, 0) - factor * v
                if value:
                    if c not in target:
                        self.holding[c].add(other)
                    target[c] = value
                elif c in target:
                    del target[c]
                    self.holding[c].discard(other)
        self.rows[pivot] = row
        for c in row:
            self.holding[c].add(pivot)

    def determined(self) -> set[int]:
        return {pivot for pivot, row in self.rows.items() if len(row) == 1}


def determined_unknowns(relations, known: dict) -> set:
    """The unknowns (variables not in ``known``) that the relations fix, by exact elimination."""
    columns: dict = {}
    elimination = Elimination()
    for terms in relations:
        row: dict[int, Fraction] = defaultdict(Fraction)
        for var, coefficient in terms:
            if var not in known:
                row[columns.setdefault(var, len(columns))] += coefficient
        elimination.add(row)
    names = {index: var for var, index in columns.items()}
    return {names[index] for index in elimination.determined()}


def test_the_elimination_finds_what_is_determined_and_only_that():
    """The tool of the big test, on systems whose answer is known (so it can fail)."""
    # a + b = 5, b + c = 7, a + c = 6: a triangle fixes all three.
    triangle = [[("a", 1), ("b", 1)], [("b", 1), ("c", 1)], [("a", 1), ("c", 1)]]
    assert determined_unknowns(triangle, {}) == {"a", "b", "c"}
    # A 2×2 table with known margins: the cycle a − b − d + c leaves every cell free.
    table = [
        [("a", 1), ("b", 1), ("r1", -1)],
        [("c", 1), ("d", 1), ("r2", -1)],
        [("a", 1), ("c", 1), ("k1", -1)],
        [("b", 1), ("d", 1), ("k2", -1)],
    ]
    margins = {"r1": 22, "r2": 70, "k1": 32, "k2": 60}
    assert determined_unknowns(table, margins) == set()
    # Two such cycles joined by one cell: the bridge is fixed (sum of two rows less two columns).
    bridge = [
        [("a", 1), ("b", 1), ("x", 1), ("r2", -1)],
        [("c", 1), ("d", 1), ("r1", -1)],
        [("a", 1), ("c", 1), ("k1", -1)],
        [("b", 1), ("d", 1), ("k2", -1)],
        [("e", 1), ("f", 1), ("r3", -1)],
        [("g", 1), ("h", 1), ("r4", -1)],
        [("e", 1), ("g", 1), ("x", 1), ("k3", -1)],
        [("f", 1), ("h", 1), ("k4", -1)],
    ]
    known = dict.fromkeys(("r1", "r2", "r3", "r4", "k1", "k2", "k3", "k4"), 1)
    assert determined_unknowns(bridge, known) == {"x"}
    # A chain with one end known fixes everything along it.
    chain = [[("c1", 1), ("n1", -1)], [("c2", 1), ("c1", -1), ("n2", -1)], [("c2", 1)]]
    assert determined_unknowns(chain, {"n2": 3}) == {"c1", "c2", "n1"}


# --- The outsider's relations -----------------------------------------------------------------


def days_from(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    return [first + datetime.timedelta(days=n) for n in range((last - first).days + 1)]


def week_key(day: datetime.date) -> str:
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"


class Reader:
    """Every figure on the pages read, under a name of the test's own, with the relations a
    reader of those pages knows. A figure is an ``int``, or None where the page shows "x".
    Names that are on no page (the rest of the country, who signed up without an attendance
    mark, …) are unknowns of the relations too; they are never negative."""

    def __init__(
        self,
        national: dict[str, dict],
        prefecture: dict,
        municipalities: dict[str, dict],
        *,
        region_of: dict[str, str],
    ):
        self.values: dict[tuple, int | None] = {}
        self.relations: list[list[tuple[tuple, int]]] = []
        self.today = timezone.localdate()
        prefecture_code = prefecture["area"]["code"]
        own = f"P{prefecture_code}"
        areas = {"JP": national["month"], own: prefecture} | {
            f"M{c}": d for c, d in municipalities.items()
        }

        # Periods: months from the nation's first; with its daily and weekly series, those.
        first = min(r["key"] for r in self.table(national["month"], "series")["rows"])
        self.days = days_from(datetime.date.fromisoformat(f"{first}-01"), self.today)
        self.months = sorted({d.isoformat()[:7] for d in self.days})
        daily = "day" in national
        if daily:
            first = min(r["key"] for r in self.table(national["day"], "series")["rows"])
            self.days = days_from(datetime.date.fromisoformat(first), self.today)
            assert sorted({d.isoformat()[:7] for d in self.days}) == self.months
        self.weeks = sorted({week_key(d) for d in self.days})

        for area, page in areas.items():
            self.summary(area, page)
            for name in BREAKDOWNS:
                for row in self.table(page, name)["rows"]:
                    self.see((area, name, row["key"]), row["values"]["registrations"])
            for row in self.table(page, "board")["rows"]:
                if row["key"] not in ("fill_rate", "no_show_rate"):  # rates of the figures
                    self.see((area, "board", row["key"]), row["values"]["value"])
            for row in self.table(page, "funnel")["rows"]:
                self.see((area, "funnel", row["key"]), row["values"]["people"])
        if daily:
            self.series("JP", "day", national["day"], [d.isoformat() for d in self.days])
            if "week" in national:  # (published figures have no weeks)
                self.series("JP", "week", national["week"], self.weeks)
        for area, page in areas.items():
            self.series(area, "month", page, self.months)
        for row in self.table(national["month"], "regions")["rows"]:
            self.see((f"R{row['key']}", "reg"), row["values"]["registrations"])
            self.see((f"R{row['key']}", "people"), row["values"]["people"])
        for row in self.table(national["month"], "prefectures")["rows"]:
            self.see((f"P{row['key']}", "reg"), row["values"]["registrations"])
            self.see((f"P{row['key']}", "people"), row["values"]["people"])
        for row in self.table(prefecture, "municipalities")["rows"]:
            self.see((f"M{row['key']}", "reg"), row["values"]["registrations"])
        ranked = defaultdict(list)
        for row in self.table(national["month"], "ranking")["rows"]:
            self.see((f"M{row['key']}", "reg"), row["values"]["registrations"])
            ranked[row["key"][:2]].append(f"M{row['key']}")
        for row in self.table(national["month"], "flow")["rows"]:
            for origin, value in row["values"].items():
                self.see(("flow", row["key"], origin), value)

        # Each partition adds up to the area's registrations.
        for area, page in areas.items():
            for name in PARTITIONS:
                keys = [row["key"] for row in self.table(page, name)["rows"]]
                self.relation([((area, "reg"), 1), *(((area, name, k), -1) for k in keys)])
        # A prefecture's additive figures are its municipalities' sums; the nation's are
        # the prefecture's plus the rest of the country's (on no page: unknown).
        additive = [("reg",)]
        for name in BREAKDOWNS:
            additive += [(name, row["key"]) for row in self.table(prefecture, name)["rows"]]
        additive += [("board", key) for key in BOARD_ADDITIVE]
        additive += [(m, t) for t in self.months for m in ("new", "gone", "cum")]
        kids = [f"M{c}" for c in municipalities]
        for measure in additive:
            self.relation([((own, *measure), 1), *(((kid, *measure), -1) for kid in kids)])
            if measure[0] != "origins":
                self.relation(
                    [(("JP", *measure), 1), ((own, *measure), -1), (("rest", *measure), -1)]
                )
        # The rest of the country: its partitions add up to the other prefectures' total.
        others = [f"P{c}" for c in region_of if c != prefecture_code]
        for name in PARTITIONS:
            if name == "origins":
                continue
            keys = [row["key"] for row in self.table(prefecture, name)["rows"]]
            self.relation(
                [*((("rest", name, k), 1) for k in keys), *(((p, "reg"), -1) for p in others)]
            )
        # Origins by the metropolitan area of the tie: the flow table shows those sums.
        origins = [row["key"] for row in self.table(prefecture, "origins")["rows"]]
        own_metro = metro_of(prefecture_code)
        for group in ("tokyo", "nagoya", "osaka", "other"):
            members = [p for p in others if metro_of(p[1:]) == group]
            self.relation(
                [
                    *((("rest", group, "origins", o), 1) for o in origins),
                    *(((p, "reg"), -1) for p in members),
                ]
            )
            for origin in origins:
                mine = [((own, "origins", origin), -1)] if group == own_metro else []
                self.relation(
                    [(("flow", group, origin), 1), (("rest", group, "origins", origin), -1), *mine]
                )
        for origin in origins:
            rest = [
                (("rest", g, "origins", origin), -1) for g in ("tokyo", "nagoya", "osaka", "other")
            ]
            self.relation([(("JP", "origins", origin), 1), ((own, "origins", origin), -1), *rest])
        # Prefectures add up to regions and to the nation; ranked towns to their prefecture.
        prefectures = [f"P{c}" for c in region_of]
        self.relation([(("JP", "reg"), 1), *(((p, "reg"), -1) for p in prefectures)])
        for region in set(region_of.values()):
            members = [f"P{c}" for c, r in region_of.items() if r == region]
            self.relation([((f"R{region}", "reg"), 1), *(((p, "reg"), -1) for p in members)])
        for code, towns in ranked.items():
            if code != prefecture_code:
                self.relation(
                    [
                        ((f"P{code}", "reg"), 1),
                        *(((m, "reg"), -1) for m in towns),
                        (("towns", code), -1),
                    ]
                )
        # The nation's weeks and months are sums of its days; a period ends with its last day.
        by_week, by_month = defaultdict(list), defaultdict(list)
        for day in self.days:
            by_week[week_key(day)].append(day.isoformat())
            by_month[day.isoformat()[:7]].append(day.isoformat())
        weekly = by_week.items() if "week" in national else ()
        for key, days in (*weekly, *by_month.items()) if daily else ():
            for measure in ("new", "gone"):
                self.relation(
                    [(("JP", measure, key), 1), *((("JP", measure, d), -1) for d in days)]
                )
            self.relation([(("JP", "cum", key), 1), (("JP", "cum", days[-1]), -1)])
        # Board: signed up = attended + no-show + not marked; participants = repeaters + once.
        # Funnel: each stage is the next plus those who stopped there; the first is the
        # area's registered people (a town's registrations: one per person).
        for area in areas:
            self.relation(
                [
                    ((area, "board", "signups"), 1),
                    ((area, "board", "attended"), -1),
                    ((area, "board", "no_show"), -1),
                    ((area, "unmarked"), -1),
                ]
            )
            self.relation(
                [
                    ((area, "board", "participants"), 1),
                    ((area, "board", "repeaters"), -1),
                    ((area, "once"), -1),
                ]
            )
            people = (area, "reg") if area.startswith("M") else (area, "people")
            self.relation([((area, "funnel", "registered"), 1), (people, -1)])
            stages = ["registered", "signed_up", "took_part", "again"]
            for upper, lower in itertools.pairwise(stages):
                self.relation(
                    [
                        ((area, "funnel", upper), 1),
                        ((area, "funnel", lower), -1),
                        ((area, "stopped", lower), -1),
                    ]
                )

    @staticmethod
    def table(page: dict, name: str) -> dict:
        return next(t for t in page["tables"] if t["name"] == name)

    def see(self, var: tuple, value) -> None:
        """One figure; the same figure on two pages must read the same (or be "x" on both)."""
        if var in self.values:
            assert self.values[var] == value, (
                f"{var}: {self.values[var]} on one page, {value} on another"
            )
        self.values[var] = value

    def relation(self, terms: list[tuple[tuple, int]]) -> None:
        self.relations.append(terms)

    def summary(self, area: str, page: dict) -> None:
        rows = {row["key"]: row["values"]["value"] for row in self.table(page, "summary")["rows"]}
        self.see((area, "reg"), rows["registrations"])
        if area.startswith("M"):
            self.see((area, "reg"), rows["people"])  # a town's registrations are its people
            self.see(
                (f"P{page['area']['prefecture']['code']}", "reg"), rows["registrations_prefecture"]
            )
            self.see(("JP", "reg"), rows["registrations_nation"])
        else:
            self.see((area, "people"), rows["people"])

    def series(self, area: str, period: str, page: dict, periods: list[str]) -> None:
        """The series by ``period``: every period from the first to today is known, a period
        without a row being all zero; the cumulative count moves by the new less the
        withdrawn and ends at the registrations."""
        table = self.table(page, "series")
        assert page["period"] == period
        rows = {row["key"]: row["values"] for row in table["rows"]}
        assert set(rows) <= set(periods), sorted(set(rows) - set(periods))[:5]
        previous = None
        for key in periods:
            values = rows.get(key, {"new": 0, "withdrawn": 0, "cumulative": 0})
            self.see((area, "new", key), values["new"])
            self.see((area, "gone", key), values["withdrawn"])
            if "cumulative" in values:  # (each day's running count is not published)
                self.see((area, "cum", key), values["cumulative"])
            step = [((area, "cum", key), 1), ((area, "new", key), -1), ((area, "gone", key), 1)]
            self.relation(step + ([(previous, -1)] if previous else []))
            previous = (area, "cum", key)
        self.relation([(previous, 1), ((area, "reg"), -1)])

    def unknowns_solved(self) -> dict[tuple, int]:
        """All figures known (the administrator's pages): the names on no page, solved from
        the relations that hold one of them only."""
        values = dict(self.values)
        assert None not in values.values()
        progress = True
        while progress:
            progress = False
            for terms in self.relations:
                missing = [(v, k) for v, k in terms if v not in values]
                if len(missing) == 1:
                    var, coefficient = missing[0]
                    rest = sum(k * values[v] for v, k in terms if v in values)
                    assert rest % coefficient == 0
                    values[var] = -rest // coefficient
                    progress = True
        return values


def pages(api, code: str) -> tuple[dict[str, dict], dict, dict[str, dict]]:
    """The national dashboard by day, week and month, the prefecture's and its towns'."""

    def get(path: str) -> dict:
        response = api.get(path)
        assert response.status_code == 200, response.content[:300]
        return response.json()

    # (Weeks are not published: a week crosses the end of a month.)
    national = {p: get(f"/api/stats/national/?period={p}") for p in ("day", "month")}
    prefecture = get(f"/api/stats/prefectures/{code}/")
    towns = [row["key"] for row in Reader.table(prefecture, "municipalities")["rows"]]
    return national, prefecture, {town: get(f"/api/stats/municipalities/{town}/") for town in towns}


@dataclass
class Gifu:
    """What staff of 岐阜県 read (``pages``), and the administrator's figures as truth."""

    published: tuple
    counted: tuple
    ranked_further: dict[tuple, int]  # towns the public ranking reaches below the top 20
    region_of: dict[str, str]  # prefecture code → region

    def reader(self, *, daily: bool) -> Reader:
        national, prefecture, towns = self.published
        if not daily:
            national = {"month": national["month"]}
        return Reader(national, prefecture, towns, region_of=self.region_of)

    def truth(self) -> dict[tuple, int]:
        """Every figure and every name of the relations, unsuppressed; the relations hold."""
        truth = Reader(*self.counted, region_of=self.region_of)
        values = truth.unknowns_solved() | self.ranked_further
        for terms in truth.relations:
            assert sum(k * values[v] for v, k in terms) == 0, terms
        return values


@pytest.fixture(scope="module")
def gifu(django_db_setup, django_db_blocker) -> Gifu:
    """2,000 generated people (about 5,000 registrations, 130 of them in 岐阜県's 42 towns),
    a board, some withdrawals; counted and published; read, then rolled back."""
    with (
        django_db_blocker.unblock(),
        # Settled at once: the published basis is then every registration (all verified).
        override_settings(
            DEMO_CONTENT_ALLOWED=True, INSIGHTS_MIN_CELL=THRESHOLD, INSIGHTS_SETTLE_DAYS=0
        ),
        transaction.atomic(),
    ):
        population_generate(people=2000, seed=61)
        board_generate(tasks=400, signups=3000, seed=61)
        # Some withdrawals (through the registry), so that the series have withdrawn figures.
        registrations = Registration.objects.select_related("person", "municipality")
        for registration in registrations.order_by("pk")[::37]:
            registry.registration_withdraw(registration=registration, actor=registration.person)
        services.counts_rebuild()
        staff = person_with_role(Role.PREFECTURE_STAFF, GIFU)
        admin = person_with_role(Role.NATIONAL_ADMIN)
        found = Gifu(
            pages(api_as(staff), GIFU),
            pages(api_as(admin), GIFU),
            ranked_further={},
            region_of=dict(Prefecture.objects.values_list("code", "region")),
        )
        counted = {
            f"M{row['key']}" for row in Reader.table(found.counted[0]["month"], "ranking")["rows"]
        }
        for row in Reader.table(found.published[0]["month"], "ranking")["rows"]:
            if f"M{row['key']}" not in counted:
                area = f"M{row['key']}"
                found.ranked_further[(area, "reg")] = Count.objects.get(
                    area=area, measure="reg", key=""
                ).value
        assert Municipality.objects.filter(prefecture_id=GIFU).count() == 42
        transaction.set_rollback(True)
    return found


def under_a_hidden_total(var: tuple, values: dict[tuple, int | None]) -> bool:
    """Whether a hidden figure may be 0, as a reader knows the rule: under a hidden total
    (an area's registrations, for its breakdowns and its series; the funnel's first stage,
    for the others) every part is hidden, zeros included. Elsewhere a hidden figure is ≥ 1."""
    area, name, *_key = var
    if name in (*BREAKDOWNS, "new", "gone", "cum"):
        return values.get((area, "reg"), 0) is None
    if name == "funnel":
        return values.get((area, "funnel", "registered"), 0) is None or (
            area.startswith("M") and values.get((area, "reg"), 0) is None
        )
    return False


def leaks(reader: Reader, truth: dict[tuple, int]) -> list[str]:
    """The suppressed figures the reader's relations fix, with their values."""
    known = {v: n for v, n in reader.values.items() if n is not None}
    hidden = {v for v, n in reader.values.items() if n is None}
    fixed = determined_unknowns(reader.relations, known) & hidden
    return [
        f"{' '.join(v)} = {truth[v]}"
        for v in sorted(fixed, key=lambda v: (truth[v] >= THRESHOLD, v))
    ]


@pytest.mark.slow  # the module's Gifu world takes about a minute to build
@pytest.mark.django_db  # the test database, for the module's fixture
def test_the_published_figures_are_the_counted_ones_with_many_small_ones_hidden(gifu):
    truth = gifu.truth()
    reader = gifu.reader(daily=True)
    assert reader.values
    for var, value in reader.values.items():
        assert value is None or value == truth[var], (var, value, truth[var])
    hidden = {v for v, n in reader.values.items() if n is None}
    # A zero is shown as 0, but under a hidden total (issue 14): there every part is hidden.
    zeros = {v for v in hidden if truth[v] == 0}
    assert all(under_a_hidden_total(v, reader.values) for v in zeros), sorted(zeros)[:10]
    assert zeros, "some town's zeros are hidden with its total"
    small = {v for v in hidden if truth[v] < THRESHOLD}
    assert len(small) > 100, len(small)
    assert {v[0] for v in small} >= {"JP", f"P{GIFU}"}  # the national and prefecture pages
    assert sum(1 for v in small if v[0].startswith("M")) > 50  # and the towns'
    assert {v[1] for v in small} >= {*PARTITIONS, "reg", "new", "board", "funnel"}


@pytest.mark.slow  # the module's Gifu world takes about a minute to build
@pytest.mark.django_db  # the test database, for the module's fixture
def test_no_suppressed_figure_of_the_prefecture_and_its_towns_can_be_worked_out(gifu):
    """From the national dashboard by month, the prefecture's and its towns' pages."""
    found = leaks(gifu.reader(daily=False), gifu.truth())
    assert not found, f"{len(found)} suppressed figures can be worked out: {found[:20]}"


@pytest.mark.slow  # the module's Gifu world takes about a minute to build
@pytest.mark.django_db  # the test database, for the module's fixture
def test_the_nations_daily_and_weekly_series_give_no_suppressed_figure_away(gifu):
    """The same with the nation's series by day and by week, which everyone may read."""
    found = leaks(gifu.reader(daily=True), gifu.truth())
    assert not found, f"{len(found)} suppressed figures can be worked out: {found[:20]}"


@pytest.mark.slow  # the module's Gifu world takes about a minute to build
@pytest.mark.django_db  # the test database, for the module's fixture
def test_no_relation_leaves_its_suppressed_figures_their_least_values(gifu):
    """A suppressed figure is at least 1 (a zero is shown) but under a hidden total, where
    it may be 0 as a name on no page may. A relation whose unknowns all count the same way
    must leave them a sum above the least they can be, or each of them would be fixed (all
    ones)."""
    reader = gifu.reader(daily=True)
    known = {v: n for v, n in reader.values.items() if n is not None}
    checked = 0
    for terms in reader.relations:
        unknown = [(v, k) for v, k in terms if v not in known]
        if not any(reader.values.get(v, 0) is None for v, _k in unknown):
            continue
        if len({k for _v, k in unknown}) != 1 or abs(unknown[0][1]) != 1:
            continue  # unknowns that count both ways: no bound from this relation alone
        total = -unknown[0][1] * sum(k * known[v] for v, k in terms if v in known)
        least = sum(
            1
            for v, _k in unknown
            if v in reader.values and not under_a_hidden_total(v, reader.values)
        )
        # (All of them 0, where the relation's shown side is 0 and each may be 0: a hidden
        # zero under a hidden total, when a shown 0 above it says nobody at all.)
        assert total > least or total == least == 0, (terms, total, least)
        checked += 1
    assert checked > 100


# --- The rule on tiny problems ----------------------------------------------------------------


def one_way(parts: dict[str, int], *, people: bool = True) -> Problem:
    problem = Problem()
    total = problem.cell(("A", "reg", ""), sum(parts.values()), people=people)
    cells = [problem.cell(("A", "tier", key), value, people=people) for key, value in parts.items()]
    problem.relation([(total, 1), *((cell, -1) for cell in cells)])
    return problem


def test_one_small_cell_gets_one_complement_the_smallest():
    problem = one_way({"a": 3, "b": 12, "c": 15, "d": 40})
    hidden = disclosure.suppress(problem, threshold=10)
    assert hidden == {("A", "tier", "a"), ("A", "tier", "b")}
    known = {c: v for c, v in problem.values.items() if c not in hidden}
    assert determined_unknowns(problem.equations, known) == set()


def test_small_cells_that_would_all_be_ones_take_a_complement():
    """Ten hidden 1s under a shown total and a shown 30: their sum, 10, reaches the
    threshold, but a hidden figure is at least 1, so each of them would be 1."""
    ones = {f"a{n}": 1 for n in range(10)}
    hidden = disclosure.suppress(one_way({**ones, "b": 30}), threshold=10)
    assert hidden == {("A", "tier", key) for key in [*ones, "b"]}
    # Ten 1s and a 2: eleven figures summing to 12 leave each of them 1 or 2: not pinned.
    hidden = disclosure.suppress(one_way({**ones, "c": 2, "b": 30}), threshold=10)
    assert hidden == {("A", "tier", key) for key in [*ones, "c"]}


def test_two_small_cells_protect_each_other_only_when_their_sum_is_wide_enough():
    assert disclosure.suppress(one_way({"a": 4, "b": 7, "c": 30}), threshold=10) == {
        ("A", "tier", "a"),
        ("A", "tier", "b"),
    }
    # 2 + 3 < 10: the reader learns they are small but also that they sum to 5 ... a third
    # figure is hidden with them.
    hidden = disclosure.suppress(one_way({"a": 2, "b": 3, "c": 30, "d": 50}), threshold=10)
    assert hidden == {("A", "tier", "a"), ("A", "tier", "b"), ("A", "tier", "c")}


def test_a_two_by_two_table_with_margins():
    """Rows and columns add up to margins shown in full: one small cell takes its row, its
    column and the opposite corner with it, and none of the four can be worked out."""
    problem = Problem()
    cell = {
        name: problem.cell(("T", "cell", name), value)
        for name, value in (("a", 2), ("b", 20), ("c", 30), ("d", 40))
    }
    margin = {
        name: problem.cell(("T", "margin", name), value)
        for name, value in (("r1", 22), ("r2", 70), ("k1", 32), ("k2", 60))
    }
    for m, x, y in (("r1", "a", "b"), ("r2", "c", "d"), ("k1", "a", "c"), ("k2", "b", "d")):
        problem.relation([(margin[m], 1), (cell[x], -1), (cell[y], -1)])
    hidden = disclosure.suppress(problem, threshold=10)
    assert hidden == set(cell.values())
    relations = problem.equations
    known = {c: v for c, v in problem.values.items() if c not in hidden}
    assert determined_unknowns(relations, known) == set()


def test_zero_cells_are_not_suppressed_nor_chosen_as_complements():
    problem = one_way({"a": 3, "z": 0, "b": 12, "c": 50})
    hidden = disclosure.suppress(problem, threshold=10)
    assert hidden == {("A", "tier", "a"), ("A", "tier", "b")}


def test_figures_that_count_no_people_are_never_suppressed_as_small():
    problem = one_way({"a": 3, "b": 30}, people=False)
    assert disclosure.suppress(problem, threshold=10) == set()


@pytest.mark.parametrize(("threshold", "hidden"), [(3, set()), (4, {"a", "b"})])
def test_the_threshold_is_honoured(threshold, hidden):
    problem = one_way({"a": 3, "b": 12, "c": 20})
    assert disclosure.suppress(problem, threshold=threshold) == {("A", "tier", k) for k in hidden}


@pytest.mark.django_db
@pytest.mark.parametrize(("threshold", "shown"), [(3, True), (4, False)])
def test_the_threshold_setting_is_honoured_by_the_publication(settings, threshold, shown):
    """Three people registered with 飛騨市: published as 3 below a threshold of 3 or less."""

    settings.INSIGHTS_MIN_CELL = threshold
    for _n in range(3):
        register(resident(), HIDA)
    for _n in range(20):
        register(resident(), "131016")
    services.counts_rebuild()
    value = Published.objects.get(area=f"M{HIDA}", measure="reg", key="").value
    assert value == (3 if shown else None)
    body = api_as(None).get("/api/stats/national/ranking/").json()
    assert ({row["key"] for row in body["rows"]} == {HIDA, "131016"}) is shown


# --- Two publications compared ------------------------------------------------------------------


def test_a_small_change_since_a_figure_was_last_shown_is_protected_like_a_small_figure():
    """Last time a = 20, b = 30, total 50 were shown; now a is 23 and the total 53. Shown,
    either would give away a figure of three people (the newcomers): both are hidden, and
    each is the other's complement (b = total − a says nothing of either)."""
    before = {("A", "reg", ""): 50, ("A", "tier", "a"): 20, ("A", "tier", "b"): 30}
    problem = one_way({"a": 23, "b": 30})
    hidden = disclosure.suppress(problem, threshold=10, last_shown=before)
    assert hidden == {("A", "tier", "a"), ("A", "reg", "")}
    # Twelve newcomers are many people: everything is shown.
    problem = one_way({"a": 32, "b": 30})
    assert disclosure.suppress(problem, threshold=10, last_shown=before) == set()


def test_hidden_figures_whose_change_together_is_small_take_another_complement():
    """a gained 3 and is hidden; its complement b did not change; c gained 20 and the total
    23, all shown: a and b together gained 3. A third figure joins them, until the change
    of the hidden ones together is unknown (c's last value known, but c moved by 20)."""
    before = {
        ("A", "reg", ""): 80,
        **{("A", "tier", k): v for k, v in {"a": 20, "b": 30, "c": 30}.items()},
    }
    problem = one_way({"a": 23, "b": 30, "c": 50})
    hidden = disclosure.suppress(problem, threshold=10, last_shown=before)
    assert hidden == {("A", "tier", "a"), ("A", "tier", "b"), ("A", "tier", "c")}
    # A hidden figure never shown before: its change is unknown, so is the pair's.
    del before[("A", "tier", "b")]
    hidden = disclosure.suppress(problem, threshold=10, last_shown=before)
    assert hidden == {("A", "tier", "a"), ("A", "tier", "b")}
