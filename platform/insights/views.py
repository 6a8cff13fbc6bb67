"""The statistics pages: the nation's (everyone), a prefecture's and a municipality's (their
staff and national administrators, who see the area's totals as counted). Thin:
``selectors.area_open`` decides who may open which area (``PermissionDenied`` is the site's
403 page, an unknown code a 404), ``selectors.dashboard_read`` gives the tables as this
viewer may see them (each with its basis and time), and ``charts``
turns each table into the geometry of its SVG. Every figure on a page is also on its table
and in the API's CSV."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

from core.pages import get_only, personal
from places.tiles import TILES

from . import charts, public, selectors
from .selectors import MUNICIPALITY, NATIONAL, PREFECTURE, Area

MUNICIPALITY_BARS = 30  # the prefecture page's bar chart: the towns with most registrations
TALL_TABLE = 15  # rows above which a table scrolls inside its box


@dataclass
class Block:
    """One table of a dashboard as the page shows it: its chart (if any), its rows, where
    to download it."""

    table: selectors.Table
    chart: object | None
    csv: str
    anchor: str
    rows: list[dict] = field(default_factory=list)
    # A breakdown shown as published to the area's own staff, who see its totals as
    # counted (``access``).
    attributes: bool = False

    def __post_init__(self) -> None:
        self.rows = charts.table_rows(self.table, _not_applicable(self.table))

    @property
    def withheld(self) -> bool:
        """Figures of it suppressed for the area's own staff too: the page says why (they
        would tell an attribute a registrant did not agree to tell the town)."""
        return self.attributes and charts.suppressed_count(self.rows) > 0

    @property
    def tall(self) -> bool:
        return len(self.table.rows) > TALL_TABLE

    @property
    def blank(self) -> bool:
        """Nothing worth drawing: the figures are suppressed, all but zeros."""
        values = [v for row in self.table.rows for v in row["values"].values()]
        return None in values and not any(values)

    @property
    def template(self) -> str:
        return f"insights/charts/{self.chart.kind}.html" if self.chart is not None else ""


def _not_applicable(table: selectors.Table) -> frozenset:
    """The rates that divide by zero (no seats, nobody registered): "—" on the page, not "x"."""
    return frozenset(
        (row["key"], name) for row in table.rows for name in row.get("not_applicable", ())
    )


def _period(request, area: Area, row_level: bool) -> tuple[str, str]:
    """The period asked for (``?period=``), and a message when it cannot be shown."""
    asked = request.GET.get("period", "")
    if asked == "" or asked in selectors.published_periods(user=request.user, area=area):
        return asked or "month", ""
    if row_level:
        return "month", _(
            "期間の指定（period）は day（日別）・week（週別）・month（月別）のいずれかです。"
            "月別で表示しています。"
        )
    return "month", _(
        "公表している推移は、全国は日別と月別、都道府県・市区町村は月別です。月別で表示しています。"
    )


def _csv(area: Area, table: str, period: str) -> str:
    if area.kind == NATIONAL:
        path = reverse("api-stats-national-table", args=[table])
    elif area.kind == PREFECTURE:
        path = reverse("api-stats-prefecture-table", args=[area.code, table])
    else:
        path = reverse("api-stats-municipality-table", args=[area.code, table])
    query = {"format": "csv"}
    if table == "series":
        query["period"] = period
    return f"{path}?{urlencode(query)}"


def _link_ranking(table: selectors.Table, user) -> None:
    """A ranked town links to its page where the viewer may open it (the code's first two
    digits are its prefecture's code)."""
    for row in table.rows:
        code = row["key"]
        town = Area(MUNICIPALITY, code, row["label"], code[:2])
        if selectors.may_open(user=user, area=town):
            row["url"] = reverse("insights:municipality", args=[code])


def _chart(table: selectors.Table, area: Area):
    if table.chart == "line":
        return charts.line_chart(table)
    if table.chart == "funnel":
        return charts.funnel_chart(table)
    if table.chart == "map":
        return charts.tile_map(table, TILES)
    if table.chart == "dots":
        return charts.dot_map(
            table,
            selectors.municipality_points(prefecture_code=area.code),
            suppressed_label=_("x（秘匿）"),
        )
    if table.chart == "bar":
        return charts.bar_chart(table)
    return None


def _page(request, area: Area, **extra_context):
    row_level = selectors.has_row_level_rights(user=request.user)
    period, period_error = _period(request, area, row_level)
    dashboard = selectors.dashboard_read(user=request.user, area=area, period=period)
    blocks = {}
    for table in dashboard.tables:
        if table.name == "ranking":
            _link_ranking(table, request.user)
        blocks[table.name] = Block(
            table=table,
            chart=_chart(table, area),
            csv=_csv(area, table.name, dashboard.period),
            anchor=f"table-{table.name}",
            attributes=dashboard.own_totals
            and table.basis == selectors.PUBLISHED
            and table.name in selectors.BREAKDOWNS,
        )
    extra = {}
    if "municipalities" in blocks:
        # Beside the map of dots, the towns with the most registrations as bars.
        extra["municipality_bars"] = charts.bar_chart(
            blocks["municipalities"].table, limit=MUNICIPALITY_BARS, by_value=True
        )
    prefecture = None
    if area.kind == MUNICIPALITY:
        upper = Area(PREFECTURE, area.prefecture_code, area.prefecture_name)
        prefecture = {
            "area": upper,
            "open": selectors.may_open(user=request.user, area=upper),
        }
    # In the order of the page (the contents at the top list them).
    order = ["series", "prefectures", "regions", "ranking", "flow", "municipalities"]
    order += [*selectors.BREAKDOWNS, "funnel", "board"]
    return render(
        request,
        "insights/dashboard.html",
        {
            "area": area,
            "dashboard": dashboard,
            "summary": blocks["summary"],
            "blocks": blocks,
            "contents": [blocks[name] for name in order if name in blocks],
            "series": blocks["series"],
            "breakdowns": [blocks[name] for name in selectors.BREAKDOWNS],
            "board": blocks["board"],
            "funnel": blocks["funnel"],
            **extra,
            "prefecture": prefecture,
            "period": dashboard.period,
            "period_error": period_error,
            "periods": _period_choices(request.user, area),
            "threshold": settings.INSIGHTS_MIN_CELL,
            "publish_hours": max(round(settings.INSIGHTS_PUBLISH_SECONDS / 3600), 1),
            "suppressed_cells": sum(charts.suppressed_count(b.rows) for b in blocks.values()),
            # A staff member's own areas (national administrators drill down from the map).
            "my_areas": (
                [a for a in selectors.areas_of(user=request.user) if a.kind != NATIONAL]
                if area.kind == NATIONAL and not row_level
                else []
            ),
            **extra_context,
        },
    )


def _period_choices(user, area: Area) -> list[tuple[str, str]]:
    """The series' periods this viewer can switch between (months only, for the published
    figures of a prefecture or municipality)."""
    names = {"month": _("月別"), "week": _("週別"), "day": _("日別")}
    periods = [
        p
        for p in ("month", "week", "day")
        if p in selectors.published_periods(user=user, area=area)
    ]
    return [(p, names[p]) for p in periods] if len(periods) > 1 else []


@get_only
def national(request):
    """Everyone's page. Anonymous visitors get it from the cache of the publication
    (``public``: one render per publication and language); signed-in people live (their
    menu, their areas), and a national administrator's holds the unsuppressed counts."""
    area = selectors.area_open(user=request.user, kind=NATIONAL)
    if not public.is_public(request) or len(messages.get_messages(request)):
        response = _page(request, area)
        add_never_cache_headers(response)
        return response
    asked = request.GET.get("period", "")
    periods = selectors.published_periods(user=request.user, area=area)
    return public.answer(
        request,
        name=f"page:national:{asked if asked in ('', *periods) else 'invalid'}",
        # The form token's place is kept for each request's own (``public``).
        build=lambda: _page(request, area, csrf_token=public.TOKEN),
        shared=False,
    )


@personal
@get_only
def prefecture(request, code: str):
    return _page(request, selectors.area_open(user=request.user, kind=PREFECTURE, code=code))


@personal
@get_only
def municipality(request, code: str):
    return _page(request, selectors.area_open(user=request.user, kind=MUNICIPALITY, code=code))
