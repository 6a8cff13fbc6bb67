"""The charts' geometry (insights.charts), without a database: a suppressed figure is never
drawn as a zero, every mark stays inside its box, the tile map puts each prefecture at its
own square, and the map of dots keeps north up and east right."""

from __future__ import annotations

import re

from insights import charts
from insights.selectors import Table
from places.tiles import TILES


def table(values: dict, column: str = "registrations", chart: str = "bar") -> Table:
    found = Table("t", "テスト", [(column, "登録数")], chart=chart)
    for key, value in values.items():
        found.add(key, f"label {key}", **{column: value})
    return found


def test_numbers_are_printed_with_separators_and_x_where_suppressed():
    assert charts.number(1234567) == "1,234,567"
    assert charts.number(0) == "0"
    assert charts.number(12.345) == "12.3"
    assert charts.number(None) == "x"
    assert charts.nice_ticks(0) == [0, 1]
    assert charts.nice_ticks(7) == [0, 2, 4, 6, 8]
    assert charts.nice_ticks(1234)[-1] >= 1234
    assert (
        charts.nice_floor(1234) == 1000 and charts.nice_floor(7) == 5 and charts.nice_floor(0) == 1
    )


def test_bars_leave_suppressed_figures_undrawn_and_fit_the_box():
    chart = charts.bar_chart(table({"a": 120, "b": None, "c": 0, "d": 3}))
    a, b, c, d = chart.bars
    assert b.suppressed and b.text == "x" and b.bar_width == 0
    assert not c.suppressed and c.text == "0" and c.bar_width == 0
    assert a.bar_width > d.bar_width > 0
    assert a.bar_width + charts.VALUE_SPACE <= chart.width
    assert [bar.label_y for bar in chart.bars] == sorted(bar.label_y for bar in chart.bars)
    assert chart.bars[-1].bar_y + chart.bar_height <= chart.height


def test_bars_sorted_by_value_keep_the_largest_and_count_the_rest():
    chart = charts.bar_chart(table({"a": 5, "b": None, "c": 50, "d": 20}), by_value=True, limit=2)
    assert [bar.label for bar in chart.bars] == ["label c", "label d"]
    assert chart.omitted == 2  # "b" (suppressed) and "a" (beyond the limit)


def test_the_series_line_breaks_where_suppressed_and_bands_mark_the_periods():
    series = Table(
        "series", "推移", [("new", "新規"), ("withdrawn", "取り下げ"), ("cumulative", "累計")]
    )
    rows = [(3, 3), (None, None), (None, None), (4, 12), (5, 17)]
    for i, (new, cumulative) in enumerate(rows):
        series.add(f"2026-0{i + 1}", f"{i + 1}月", new=new, withdrawn=0, cumulative=cumulative)
    chart = charts.line_chart(series)
    assert chart.periods == 5
    assert len(chart.line.paths) == 2  # before and after the suppressed months
    assert chart.line.paths[1].count("L") == 1
    assert len(chart.line.bands) == 1 and len(chart.bars.bands) == 1
    band = chart.line.bands[0]
    assert band["x"] > chart.left and band["x"] + band["width"] < chart.right
    assert len(chart.bars.bars) == 3
    for bar in chart.bars.bars:
        assert chart.bars.top <= bar["y"] <= chart.bars.top + chart.bars.height
    for path in chart.line.paths:
        points = re.findall(r"[ML]([\d.]+) ([\d.]+)", path)
        assert points, path
        for x, y in points:
            assert chart.left <= float(x) <= chart.right
            assert chart.line.top <= float(y) <= chart.line.top + chart.line.height
    assert chart.labels[0]["text"] == "2026-01"
    assert chart.labels[-1]["text"] == "2026-05" and chart.labels[-1]["x"] <= chart.width


def test_an_empty_series_draws_nothing_and_breaks_nothing():
    series = Table(
        "series", "推移", [("new", "新規"), ("withdrawn", "取り下げ"), ("cumulative", "累計")]
    )
    chart = charts.line_chart(series)
    assert chart.periods == 0 and chart.line.paths == [] and chart.labels == []


def test_the_funnel_narrows_with_each_stage():
    funnel = Table("funnel", "ファネル", [("people", "人数"), ("share", "割合")], chart="funnel")
    for key, people, share in (
        ("registered", 200, 100.0),
        ("signed_up", 50, 25.0),
        ("took_part", None, None),
        ("again", 0, 0.0),
    ):
        funnel.add(key, key, people=people, share=share)
    chart = charts.funnel_chart(funnel)
    first, second, third, fourth = chart.steps
    assert first["width"] == chart.width and second["width"] == chart.width / 4
    assert second["x"] == (chart.width - second["width"]) / 2
    assert second["text"] == "50（25.0%）"
    assert third["suppressed"] and third["width"] == 0 and third["text"] == "x"
    assert fourth["width"] == 0 and not fourth["suppressed"]


def test_the_tile_map_puts_each_prefecture_on_its_own_square():
    codes = sorted(TILES)
    values = {code: i * 10 for i, code in enumerate(codes)}
    values["31"] = None
    names = Table("prefectures", "都道府県別", [("registrations", "登録数")], chart="map")
    for code in codes:
        names.add(
            code,
            "鹿児島県" if code == "46" else "東京都" if code == "13" else f"県{code}",
            registrations=values[code],
        )
    chart = charts.tile_map(names, TILES)
    assert len(chart.tiles) == 47
    assert len({(t["x"], t["y"]) for t in chart.tiles}) == 47
    for tile in chart.tiles:
        assert 0 <= tile["x"] <= chart.width - chart.tile
        assert 0 <= tile["y"] <= chart.height - chart.tile
    by_code = {t["code"]: t for t in chart.tiles}
    assert by_code["31"]["level"] is None and by_code["31"]["text"] == "x"
    assert by_code[codes[0]]["level"] == 0  # zero is its own step
    assert by_code["47"]["level"] == charts.HEAT_LEVELS  # the largest figure is darkest
    assert by_code["01"]["x"] > by_code["47"]["x"] and by_code["01"]["y"] < by_code["47"]["y"]
    assert by_code["13"]["short"] == "東京" and by_code["46"]["short"] == "鹿児"
    assert [entry["level"] for entry in chart.legend] == [0, 1, 2, 3, 4, None]


def test_colour_steps_are_quartiles_rounded_and_never_repeat():
    breaks = charts.heat_breaks([1, 2, 3, 5, 8, 13, 21, 34, 55, 1234, None, 0])
    assert breaks == sorted(set(breaks)) and breaks[-1] >= 1234
    assert charts.heat_level(1234, breaks) == charts.HEAT_LEVELS
    assert charts.heat_level(1, breaks) == 1
    assert charts.heat_level(None, breaks) is None and charts.heat_level(0, breaks) == 0
    # One figure only: the darkest step, so that it is not taken for a small one.
    assert charts.heat_level(7, charts.heat_breaks([7, 7, 7])) == charts.HEAT_LEVELS
    assert charts.heat_legend([10, 20])[1:] == [
        {"level": 3, "text": "1–10"},
        {"level": 4, "text": "11–20"},
    ]


def test_the_map_of_dots_keeps_north_up_east_right_and_everything_inside():
    points = {
        "north": (36.5, 137.0),
        "south": (35.2, 137.0),
        "east": (35.8, 137.6),
        "west": (35.8, 136.3),
        "hidden": (35.9, 136.9),
    }
    towns = table(
        {"north": 100, "south": 25, "east": 0, "west": 1, "hidden": None, "nowhere": 5},
        chart="dots",
    )
    chart = charts.dot_map(towns, points)
    dots = {d["code"]: d for d in chart.dots}
    assert set(dots) == set(points)  # a row without a point is left to the table
    assert dots["north"]["y"] < dots["south"]["y"]
    assert dots["east"]["x"] > dots["west"]["x"]
    assert dots["north"]["r"] == charts.DOT_MAX and dots["north"]["r"] > dots["south"]["r"]
    assert dots["east"]["state"] == "zero" and dots["hidden"]["state"] == "suppressed"
    for dot in chart.dots:
        assert dot["r"] <= dot["x"] <= chart.width - dot["r"]
        assert dot["r"] <= dot["y"] <= chart.legend_y - dot["r"]
    assert chart.dots[-1]["r"] <= chart.dots[0]["r"]  # the small ones drawn last, on top
    assert [entry["state"] for entry in chart.legend][-2:] == ["zero", "suppressed"]
    assert all(entry["text_x"] < chart.width for entry in chart.legend)


def test_table_rows_mark_suppressed_cells_and_rates_of_nothing():
    rows = charts.table_rows(table({"a": None, "b": 3}), frozenset({("b", "registrations")}))
    assert rows[0]["cells"][0].text == "x" and rows[0]["cells"][0].suppressed
    assert rows[1]["cells"][0].text == "3"
    assert charts.suppressed_count(rows) == 1
    rows = charts.table_rows(table({"rate": None}), frozenset({("rate", "registrations")}))
    assert rows[0]["cells"][0].text == "—" and not rows[0]["cells"][0].suppressed
