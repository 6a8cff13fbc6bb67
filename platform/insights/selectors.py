"""Reads of the statistics, always for a viewer: the tables of an area as that viewer may
see them (who may open which area, and at which level, is ``access``).

A national administrator has row-level rights and reads the live counts (``Count``). An
area's own staff (a town's, or their prefecture's) read its totals, its board and its
funnel live too, and its breakdowns as published. Everyone else reads the published figures
(``Published``), where figures that could identify people are suppressed (``None``; "x" on
pages and in CSV). Each table says which (``basis``) and as of when. The pages, the API and
the CSV downloads all take their tables from ``dashboard_read``.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from accounts.selectors import staff_scope
from core.language import japanese
from places.models import Municipality, Prefecture, Region
from places.names import place_name
from registry.models import AgeBand, Gender, RelationshipType, Tier

from . import cells
from .access import (  # noqa: F401 — the pages and the API read these from here
    MUNICIPALITY,
    NATIONAL,
    PREFECTURE,
    Area,
    area_get,
    area_open,
    areas_of,
    has_row_level_rights,
    may_open,
    municipality_points,
    nation,
    sees_own_totals,
)
from .disclosure import CUMULATIVE, week_of
from .models import Count, Page, Published, State

# How a suppressed figure (None) is printed, on pages and in CSV alike.
SUPPRESSED = "x"
PERIODS = ("day", "week", "month")
RANKING_SIZE = 20
# The basis of a table: as counted (unsuppressed), or as published (suppressed).
COUNTED, PUBLISHED = "counted", "published"


# --- The figures ----------------------------------------------------------------------------


class Figures:
    """Cells of some areas as a viewer sees them: a number, or None where suppressed.

    Row-level viewers read ``Count`` (days, summed to weeks and months here); the others
    ``Published`` (as decided there: months everywhere, weeks and days for the nation)."""

    def __init__(
        self,
        *,
        row_level: bool,
        areas: list[str],
        series_of: str | None,
        period: str,
        page: dict | None = None,
    ) -> None:
        self.row_level = row_level
        self.cells: dict[tuple[str, str, str], int | None] = {}
        self.ranking: list[list] = []
        self.periods: list[str] = []
        if page is not None:  # a published page's row (``services.pages_write``)
            self._page(page, series_of)
            return
        model = Count if row_level else Published
        series = (cells.NEW, cells.GONE, CUMULATIVE)
        rows = model.objects.filter(area__in=areas).exclude(measure__in=series)
        self.cells.update(
            ((a, m, k), v) for a, m, k, v in rows.values_list("area", "measure", "key", "value")
        )
        if series_of is not None:
            self._series(model, series_of, period)

    def _page(self, page: dict, area: str | None) -> None:
        for name, found in page.get("cells", {}).items():
            self.cells.update(((name, m, k), v) for m, k, v in found)
        for measure, key, value in page.get("series", []):
            self.cells[(area, measure, key)] = value
        keys = sorted({k for _m, k, _v in page.get("series", [])})
        self.periods = (
            _all_periods(keys[0], "day" if len(keys[0]) == 10 else "month") if keys else []
        )
        self.ranking = page.get("ranking", [])

    def _series(self, model, area: str, period: str) -> None:
        rows = model.objects.filter(area=area, measure__in=(cells.NEW, cells.GONE, CUMULATIVE))
        if self.row_level:
            sums: dict = defaultdict(int)
            for measure, day, value in rows.values_list("measure", "key", "value"):
                sums[(measure, _period_of(day, period))] += value
            keys = sorted({k for _m, k in sums})
            if keys:
                keys = _all_periods(keys[0], period)
            running = 0
            for key in keys:
                new, gone = sums.get((cells.NEW, key), 0), sums.get((cells.GONE, key), 0)
                running += new - gone
                self.cells[(area, cells.NEW, key)] = new
                self.cells[(area, cells.GONE, key)] = gone
                self.cells[(area, CUMULATIVE, key)] = running
            self.periods = keys
            return
        width = {"day": 10, "week": 8, "month": 7}[period]
        found = [
            (m, k, v) for m, k, v in rows.values_list("measure", "key", "value") if len(k) == width
        ]
        for measure, key, value in found:
            self.cells[(area, measure, key)] = value
        keys = sorted({k for _m, k, _v in found})
        self.periods = _all_periods(keys[0], period) if keys else []

    def get(self, area: str, measure: str, key: str = "") -> int | None:
        return self.cells.get((area, measure, key), 0)


def _period_of(day: str, period: str) -> str:
    if period == "month":
        return day[:7]
    if period == "week":
        return week_of(day)
    return day


def _all_periods(first: str, period: str) -> list[str]:
    """Every period from ``first`` (a period key) to the current one."""
    today = timezone.localdate()
    if period == "month":
        year, month = int(first[:4]), int(first[5:7])
        found = []
        while (year, month) <= (today.year, today.month):
            found.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return found
    if period == "week":
        start = datetime.date.fromisocalendar(int(first[:4]), int(first[6:]), 1)
    else:
        start = datetime.date.fromisoformat(first)
    found, day = [], start
    while day <= today:
        key = _period_of(day.isoformat(), period)
        if not found or found[-1] != key:
            found.append(key)
        day += datetime.timedelta(days=1)
    return found


# --- Tables ---------------------------------------------------------------------------------


@dataclass
class Table:
    """A table as pages, the API and CSV show it. A value of None is suppressed."""

    name: str
    title: str
    columns: list[tuple[str, str]]  # (key, heading)
    rows: list[dict] = field(default_factory=list)  # {"key", "label", "values": {col: n}, "url"?}
    chart: str = "bar"  # bar, line, map, dots, funnel, none
    unit: str = ""
    note: str = ""
    # What its figures are (COUNTED: unsuppressed; PUBLISHED: suppressed) and as of when.
    basis: str = PUBLISHED
    as_of: datetime.datetime | None = None

    def add(self, key: str, label: str, url: str = "", **values) -> None:
        row = {"key": key, "label": str(label), "values": values}
        if url:
            row["url"] = url
        # A rate over nothing (no seats, nobody registered) is not applicable, not suppressed.
        na = [name for name, value in values.items() if value is NOT_APPLICABLE]
        if na:
            row["not_applicable"] = na
            for name in na:
                values[name] = None
        self.rows.append(row)

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "title": self.title,
            "unit": self.unit,
            "note": self.note,
            "chart": self.chart,
            "basis": self.basis,
            "as_of": _iso(self.as_of),
            "columns": [{"key": k, "title": str(t)} for k, t in self.columns],
            "rows": [_row_dict(row) for row in self.rows],
        }


def _iso(moment: datetime.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _row_dict(row: dict) -> dict:
    """A row as the API gives it: a row of another basis than its table's (the summary's
    figures of the areas above a town) says so."""
    if "as_of" not in row:
        return row
    return {**row, "as_of": _iso(row["as_of"])}


TABLE_NAMES = (
    "summary",
    "series",
    "regions",
    "prefectures",
    "municipalities",
    "ranking",
    "flow",
    "tiers",
    "visiting",
    "types",
    "home_regions",
    "origins",
    "genders",
    "age_bands",
    "board",
    "funnel",
)

# The tables of each kind of area, in TABLE_NAMES' order.
TABLES_OF = {
    NATIONAL: tuple(n for n in TABLE_NAMES if n != "municipalities"),
    PREFECTURE: tuple(
        n for n in TABLE_NAMES if n not in ("regions", "prefectures", "ranking", "flow")
    ),
    MUNICIPALITY: tuple(
        n
        for n in TABLE_NAMES
        if n not in ("regions", "prefectures", "municipalities", "ranking", "flow")
    ),
}

BREAKDOWNS = {
    "tiers": (cells.TIER, gettext_lazy("区分別（ベーシック・プレミアム）"), dict(Tier.choices)),
    "visiting": (
        cells.VISITING,
        gettext_lazy("訪問系・非訪問系"),
        {"visiting": gettext_lazy("訪問系"), "non_visiting": gettext_lazy("非訪問系のみ")},
    ),
    "types": (cells.TYPE, gettext_lazy("関わり方別（複数選択）"), dict(RelationshipType.choices)),
    "home_regions": (cells.HOME, gettext_lazy("登録者の住まいの地方別"), dict(Region.choices)),
    "origins": (cells.ORIGIN, gettext_lazy("登録者の住まいの都市圏別"), cells.METRO_LABELS),
    "genders": (
        cells.GENDER,
        gettext_lazy("性別"),
        {**dict(Gender.choices), "unknown": gettext_lazy("回答なし")},
    ),
    "age_bands": (
        cells.AGE,
        gettext_lazy("年代別"),
        {**dict(AgeBand.choices), "unknown": gettext_lazy("回答なし")},
    ),
}


@dataclass
class Dashboard:
    area: Area
    row_level: bool
    period: str
    as_of: datetime.datetime | None
    tables: list[Table]
    own_totals: bool = False  # the area's totals as counted (its own staff: ``access``)

    def table(self, name: str) -> Table:
        for table in self.tables:
            if table.name == name:
                return table
        raise Http404

    def as_dict(self) -> dict:
        return {
            "area": self.area.as_dict(),
            "suppressed": not self.row_level,
            "own_totals": self.own_totals,
            "threshold": settings.INSIGHTS_MIN_CELL,
            "period": self.period,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "tables": [t.as_dict() for t in self.tables],
        }


def published_periods(*, user, area: Area) -> tuple[str, ...]:
    """The series' periods this viewer may ask for. National administrators: any. Published
    figures: the nation's by day or month (weeks cross months: a week's total less a
    month's would give away the day between them), other areas' by month."""
    if has_row_level_rights(user=user):
        return PERIODS
    return ("day", "month") if area.kind == NATIONAL else ("month",)


def published_page(*, area: Area, period: str) -> dict:
    """The published page's row (``services.pages_write``): empty before a publication."""
    found = (
        Page.objects.filter(key=f"{area.key}:{period}").values_list("payload", flat=True).first()
    )
    return found or {}


def published_version() -> int:
    """The publication's version: it moves at every publication (pages' ETag, cache key)."""
    return State.objects.filter(id=1).values_list("published_version", flat=True).first() or 0


def _children(area: Area) -> list[tuple[str, str, str]]:
    """The areas below this one that its tables list: (area key, code, name)."""
    if area.kind == NATIONAL:
        prefectures = list(
            Prefecture.objects.order_by("code").values_list("code", "name", "region")
        )
        children = [(cells.prefecture_area(c), c, n) for c, n, _r in prefectures]
        return children + [(cells.region_area(r), r, str(label)) for r, label in Region.choices]
    if area.kind == PREFECTURE:
        return [
            (cells.municipality_area(c), c, n)
            for c, n in Municipality.objects.filter(prefecture_id=area.code)
            .order_by("code")
            .values_list("code", "name")
        ]
    return []


@dataclass
class _Bases:
    """The figures a viewer reads: ``counted`` (unsuppressed, ``Count``) where they may see
    the area's totals, ``published`` where not (and for what stays suppressed for them);
    the time of each."""

    counted: Figures | None = None
    published: Figures | None = None
    counted_at: datetime.datetime | None = None
    board_at: datetime.datetime | None = None
    published_at: datetime.datetime | None = None
    counted_areas: frozenset = frozenset()

    def totals(self) -> tuple[Figures, str, datetime.datetime | None]:
        if self.counted is not None:
            return self.counted, COUNTED, self.counted_at
        return self.published, PUBLISHED, self.published_at

    def board(self) -> tuple[Figures, str, datetime.datetime | None]:
        if self.counted is not None:
            return self.counted, COUNTED, self.board_at
        return self.published, PUBLISHED, self.published_at

    def attributes(self) -> tuple[Figures, str, datetime.datetime | None]:
        """The breakdowns: counted for national administrators only."""
        if self.published is None:
            return self.counted, COUNTED, self.counted_at
        return self.published, PUBLISHED, self.published_at


def _bases(*, user, area: Area, period: str, row_level: bool, own: bool) -> tuple:
    """The figures this viewer reads and the children of the area its tables list."""
    bases = _Bases()
    key = area.key
    children = []
    if not row_level:  # one row: the page as the publication wrote it (months but the nation)
        page = published_page(area=area, period=period if area.kind == NATIONAL else "month")
        bases.published_at = (
            datetime.datetime.fromisoformat(page["as_of"]) if page.get("as_of") else None
        )
        children = [tuple(child) for child in page.get("children", [])]
        if area.kind == NATIONAL:
            children += [(cells.region_area(r), r, str(label)) for r, label in Region.choices]
        bases.published = Figures(
            row_level=False, areas=[], series_of=key, period=period, page=page
        )
    if own:
        state = State.objects.filter(id=1).first()
        if state is not None:
            bases.counted_at = state.counted_at
            # The board is counted after the registrations (the funnel joins both).
            bases.board_at = state.board_counted_at or state.counted_at
        children = _children(area) if row_level or area.kind == PREFECTURE else children
        wanted = [key] + [a for a, _c, _n in children]
        if area.kind == MUNICIPALITY:
            upper = cells.prefecture_area(area.prefecture_code)
            if row_level or sees_own_totals(
                user=user, area=Area(PREFECTURE, area.prefecture_code, area.prefecture_name)
            ):
                wanted.append(upper)
            if row_level:
                wanted.append(cells.NATION)
        bases.counted = Figures(row_level=True, areas=wanted, series_of=key, period=period)
        bases.counted_areas = frozenset(wanted)
    return bases, children


def dashboard_read(*, user, area: Area, period: str = "month") -> Dashboard:
    """Every table of the area as this viewer may see it (``area_open`` checked access):
    national administrators every figure as counted; the area's own staff (``access``) its
    totals, its board and its funnel as counted and its breakdowns as published; everyone
    else the published figures. Each table says its basis and the time of its figures."""
    if period not in published_periods(user=user, area=area):
        raise ValueError(period)
    row_level = has_row_level_rights(user=user)
    own = sees_own_totals(user=user, area=area)
    key = area.key
    bases, children = _bases(user=user, area=area, period=period, row_level=row_level, own=own)
    figures, basis, as_of = bases.totals()

    def stamped(table: Table, basis: str, as_of) -> Table:
        table.basis, table.as_of = basis, as_of
        return table

    summary = stamped(_summary(bases, area), basis, as_of)
    tables = [summary, stamped(_series_table(figures, key, period), basis, as_of)]
    if area.kind == NATIONAL:
        tables.append(
            _children_table(
                figures,
                "regions",
                _("地方別"),
                [c for c in children if c[0].startswith("R")],
                people=True,
            )
        )
        tables.append(
            _children_table(
                figures,
                "prefectures",
                _("都道府県別"),
                [c for c in children if c[0].startswith("P")],
                people=True,
                chart="map",
                link=lambda code: (
                    f"/stats/prefectures/{code}/"
                    if staff_scope(user=user).covers_prefecture(code)
                    else ""
                ),
            )
        )
        tables.append(_ranking(figures))
        tables.append(_flow(figures))
    elif area.kind == PREFECTURE:
        tables.append(
            _children_table(
                figures,
                "municipalities",
                _("市区町村別"),
                children,
                people=False,
                chart="dots",
                link=lambda code: f"/stats/municipalities/{code}/",
            )
        )
    for table in tables[2:]:
        stamped(table, basis, as_of)
    attributes, attributes_basis, attributes_at = bases.attributes()
    for name, (measure, title, labels) in BREAKDOWNS.items():
        table = Table(name, str(title), [("registrations", _("登録数（延べ）"))], unit=_("件"))
        for value in cells.BREAKDOWN_KEYS[measure]:
            table.add(value, labels[value], registrations=attributes.get(key, measure, value))
        if name == "types":
            table.note = _("1件の登録で複数の関わり方を選べるため、合計は登録数と一致しません。")
        tables.append(stamped(table, attributes_basis, attributes_at))
    board, board_basis, board_at = bases.board()
    tables.append(stamped(_board(board, key), board_basis, board_at))
    # The funnel's first step is the summary's own figure (the area's people registered):
    # one figure, one time, on both.
    registered = summary.rows[1]["values"]["value"]
    tables.append(stamped(_funnel(board, key, registered), board_basis, board_at))
    return Dashboard(
        area=area,
        row_level=row_level,
        own_totals=own,
        period=period,
        as_of=as_of,
        tables=tables,
    )


def _summary(bases: _Bases, area: Area) -> Table:
    """The area's registrations and people; on a town's page, its prefecture's and the
    nation's registrations beside them, each as this viewer may see it (a town's staff see
    their town's as counted and the others' as published: the row says so)."""
    figures = bases.totals()[0]
    key = area.key
    table = Table("summary", _("登録の概要"), [("value", _("値"))], chart="none")
    table.add("registrations", _("登録数（延べ）"), value=figures.get(key, cells.REGISTRATIONS))
    people = figures.get(key, cells.REGISTRATIONS if area.kind == MUNICIPALITY else cells.PEOPLE)
    table.add("people", _("登録者数（実人数）"), value=people)
    if area.kind == MUNICIPALITY:
        for upper, label in (
            (cells.prefecture_area(area.prefecture_code), area.prefecture_name),
            (cells.NATION, _("全国")),
        ):
            mine = upper in bases.counted_areas
            source = bases.counted if mine or bases.published is None else bases.published
            table.add(
                f"registrations_{'prefecture' if upper != cells.NATION else 'nation'}",
                _("%(area)sの登録数（延べ）") % {"area": label},
                value=source.get(upper, cells.REGISTRATIONS),
            )
            if source is not figures:
                table.rows[-1]["basis"] = PUBLISHED
                table.rows[-1]["as_of"] = bases.published_at
    return table


def _series_table(figures: Figures, key: str, period: str) -> Table:
    title = {
        "day": _("日別の登録の推移"),
        "week": _("週別の登録の推移"),
        "month": _("月別の登録の推移"),
    }[period]
    columns = [
        ("new", pgettext("statistics", "新規登録")),
        ("withdrawn", pgettext("statistics", "取り下げ")),
    ]
    # The running count of each day is not published (months' is).
    cumulative = figures.row_level or period != "day"
    if cumulative:
        columns.append(("cumulative", _("期末の登録数")))
    table = Table("series", title, columns, chart="line", unit=_("件"))
    if not cumulative:
        table.note = _("日ごとの累計は公表していません。月別でご覧ください。")
    for period_key in figures.periods:
        values = {
            "new": figures.get(key, cells.NEW, period_key),
            "withdrawn": figures.get(key, cells.GONE, period_key),
        }
        if cumulative:
            values["cumulative"] = figures.get(key, CUMULATIVE, period_key)
        table.add(period_key, _period_label(period_key, period), **values)
    return table


def _period_label(key: str, period: str) -> str:
    if period == "month":
        return _("%(year)s年%(month)s月") % {"year": key[:4], "month": int(key[5:7])}
    if period == "week":
        monday = datetime.date.fromisocalendar(int(key[:4]), int(key[6:]), 1)
        return _("%(date)s の週") % {"date": monday.isoformat()}
    return key


def _children_table(figures, name, title, children, *, people, chart="bar", link=None) -> Table:
    columns = [("registrations", _("登録数（延べ）"))]
    if people:
        columns.append(("people", _("登録者数（実人数）")))
    table = Table(name, title, columns, chart=chart, unit=_("件"))
    if people:
        table.note = _(
            "ひとりが複数の地域に登録できるため、実人数の合計は全体の実人数より多くなります。"
        )
    for area_key, code, label in children:
        values = {"registrations": figures.get(area_key, cells.REGISTRATIONS)}
        if people:
            values["people"] = figures.get(area_key, cells.PEOPLE)
        if area_key[0] in "PM":  # a place: "Gifu (岐阜県)" on English pages
            label = place_name({"code": code, "name": label})
        table.add(code, label, url=link(code) if link else "", **values)
    return table


def _ranking(figures: Figures) -> Table:
    """The municipalities with the most registrations nationally (suppressed ones left out)."""
    if figures.row_level:
        top = list(
            Count.objects.filter(measure=cells.REGISTRATIONS, key="", area__startswith="M")
            .order_by("-value", "area")
            .values_list("area", "value")[:RANKING_SIZE]
        )
        names = {
            code: (name, prefecture)
            for code, name, prefecture in Municipality.objects.filter(
                code__in=[a[1:] for a, _v in top]
            ).values_list("code", "name", "prefecture__name")
        }
    else:  # as the publication ranked them
        top = [(f"M{code}", value) for code, value, _n, _p in figures.ranking]
        names = {code: (name, prefecture) for code, _v, name, prefecture in figures.ranking}
    table = Table(
        "ranking",
        _("登録数の多い市区町村（上位%(n)s）") % {"n": RANKING_SIZE},
        [("rank", _("順位")), ("registrations", _("登録数（延べ）"))],
        unit=_("件"),
    )
    rank, previous = 0, None
    for position, (area, value) in enumerate(top, start=1):
        if value != previous:  # equal figures share a rank (1, 2, 2, 4)
            rank, previous = position, value
        name, prefecture = names.get(area[1:], (area[1:], ""))
        label = (
            f"{prefecture} {name}".strip()
            if japanese()
            else place_name({"code": area[1:], "name": name}, full=True)
        )
        table.add(area[1:], label, rank=rank, registrations=value)
    return table


def _flow(figures: Figures) -> Table:
    """From where registrants live (三大都市圏 or not) to where their tie is. Counted: the
    sums of the prefectures' figures; published: as the disclosure check left them."""
    if figures.row_level:
        sums: dict = defaultdict(int)
        rows = Count.objects.filter(measure=cells.ORIGIN, area__startswith="P")
        for area, origin, value in rows.values_list("area", "key", "value"):
            sums[(cells.metro_area(area[1:]), origin)] += value
    else:
        sums = {
            tuple(key.split(":")): value
            for (area, measure, key), value in figures.cells.items()
            if area == cells.NATION and measure == cells.FLOW
        }
    table = Table(
        "flow",
        _("住まいの都市圏から関わり先の都市圏へ（登録数・延べ）"),
        [
            (origin, _("住まい: %(area)s") % {"area": cells.METRO_LABELS[origin]})
            for origin in cells.METRO_KEYS
        ],
        chart="none",
        unit=_("件"),
    )
    for destination in cells.METRO_KEYS:
        table.add(
            destination,
            _("関わり先: %(area)s") % {"area": cells.METRO_LABELS[destination]},
            **{origin: sums.get((destination, origin), 0) for origin in cells.METRO_KEYS},
        )
    return table


NOT_APPLICABLE = object()


def _rate(part: int | None, whole: int | None):
    """A percentage; None where a figure it needs is suppressed; not applicable over zero."""
    if part is None or whole is None:
        return None
    if whole == 0:
        return NOT_APPLICABLE
    return round(100 * part / whole, 1)


def _board(figures: Figures, key: str) -> Table:
    get = lambda k: figures.get(key, cells.BOARD, k)  # noqa: E731
    labels = {
        "tasks": _("公開したお手伝い"),
        "sessions": _("開催回"),
        "seats": _("定員の合計"),
        "signups": _("参加確定の申込"),
        "attended": _("出席した申込"),
        "no_show": _("連絡なく欠席した申込"),
        "participants": _("参加した人（実人数。登録していない人も含む）"),
        "repeaters": _("2回以上参加した人（登録していない人も含む）"),
    }
    table = Table("board", _("お手伝いの活動"), [("value", _("値"))], chart="none")
    for board_key in cells.BOARD_KEYS:
        table.add(board_key, labels[board_key], value=get(board_key))
    table.add("fill_rate", _("充足率（%）"), value=_rate(get("signups"), get("seats")))
    attended, no_show = get("attended"), get("no_show")
    marked = None if attended is None or no_show is None else attended + no_show
    table.add("no_show_rate", _("無断欠席率（%）"), value=_rate(no_show, marked))
    return table


def _funnel(figures: Figures, key: str, registered: int | None) -> Table:
    labels = {
        "registered": _("登録している人"),
        "signed_up": _("うち、そのまちのお手伝いに申し込んだ人"),
        "took_part": _("うち、参加した人"),
        "again": _("うち、2回以上参加した人"),
    }
    table = Table(
        "funnel",
        _("登録から参加まで（実人数）"),
        [("people", _("人数")), ("share", _("登録者に占める割合（%）"))],
        chart="funnel",
        unit=_("人"),
        note=_("「登録している人」は、登録の概要の登録者数（実人数）と同じ数値です。"),
    )
    for stage in cells.FUNNEL_KEYS:
        people = registered if stage == "registered" else figures.get(key, cells.FUNNEL, stage)
        table.add(stage, labels[stage], people=people, share=_rate(people, registered))
    return table
