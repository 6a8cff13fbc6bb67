"""The published pages, written by the publication: for each page the statistics show
without row-level rights (the nation's by month and by day, each prefecture's and each
municipality's by month), one row with everything that page and its API read, so that a
page view reads that row, not the cells. Words of no language: labels are looked up when
the page is shown."""

from __future__ import annotations

import datetime
from collections import defaultdict

from places.models import Municipality, Prefecture

from .. import cells
from ..disclosure import CUMULATIVE
from ..models import Page

Cell = tuple[str, str, str]
SERIES = (cells.NEW, cells.GONE, CUMULATIVE)
WIDTH = {"day": 10, "month": 7}  # the length of a series' key: 2026-11-24, 2026-11
RANKING_SIZE = 20


def page_key(area: str, period: str) -> str:
    return f"{area}:{period}"


def pages_write(values: dict[Cell, int | None], *, version: int, as_of: datetime.datetime) -> int:
    """Every published page's row written afresh from the published figures (``values``:
    None where suppressed). Returns how many pages were written."""
    plain: dict[str, list] = defaultdict(list)  # area → [measure, key, value] but the series
    series: dict[tuple[str, int], list] = defaultdict(list)  # (area, width) → the series
    values = {cell: None if v is None else int(v) for cell, v in values.items()}  # SUM: numeric
    for (area, measure, key), value in values.items():
        if measure in SERIES:
            series[(area, len(key))].append([measure, key, value])
        else:
            plain[area].append([measure, key, value])
    stamp = as_of.isoformat()
    towns = list(Municipality.objects.order_by("code").values_list("code", "name", "prefecture_id"))
    prefectures = list(Prefecture.objects.order_by("code").values_list("code", "name"))
    ranked = sorted(
        (
            (-value, area)
            for (area, measure, key), value in values.items()
            if measure == cells.REGISTRATIONS and key == "" and area[0] == "M" and value is not None
        )
    )[:RANKING_SIZE]
    names = {code: (name, prefecture) for code, name, prefecture in towns}
    prefecture_names = dict(prefectures)
    ranking = [
        [area[1:], -value, names[area[1:]][0], prefecture_names[names[area[1:]][1]]]
        for value, area in ranked
        if area[1:] in names
    ]

    def payload(areas: list[str], own: str, period: str, **extra) -> dict:
        return {
            "as_of": stamp,
            "cells": {area: plain.get(area, []) for area in areas},
            "series": series.get((own, WIDTH[period]), []),
            **extra,
        }

    rows = []
    nation_children = [[cells.prefecture_area(c), c, n] for c, n in prefectures]
    nation_areas = [cells.NATION] + [a for a, _c, _n in nation_children]
    nation_areas += sorted(a for a in plain if a.startswith("R"))
    for period in ("month", "day"):
        rows.append(
            (
                page_key(cells.NATION, period),
                payload(
                    nation_areas, cells.NATION, period, children=nation_children, ranking=ranking
                ),
            )
        )
    towns_of: dict[str, list] = defaultdict(list)
    for code, name, prefecture in towns:
        towns_of[prefecture].append([cells.municipality_area(code), code, name])
    for code, _name in prefectures:
        area = cells.prefecture_area(code)
        children = towns_of[code]
        rows.append(
            (
                page_key(area, "month"),
                payload([area] + [a for a, _c, _n in children], area, "month", children=children),
            )
        )
    # A town's page shows, of its prefecture and the nation, their registrations only.
    upper = {
        area: [row for row in found if row[0] == cells.REGISTRATIONS and row[1] == ""]
        for area, found in plain.items()
        if area[0] in ("P", "J")
    }
    for code, _name, prefecture in towns:
        area = cells.municipality_area(code)
        found = payload([area], area, "month", children=[])
        found["cells"][cells.prefecture_area(prefecture)] = upper.get(
            cells.prefecture_area(prefecture), []
        )
        found["cells"][cells.NATION] = upper.get(cells.NATION, [])
        rows.append((page_key(area, "month"), found))
    Page.objects.all().delete()
    Page.objects.bulk_create(
        (Page(key=key, payload=data, version=version) for key, data in rows), batch_size=500
    )
    return len(rows)
