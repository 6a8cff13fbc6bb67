"""Charts drawn by the server: a statistics table (``selectors.Table``) turned into the
geometry of an inline SVG — boxes, lines, dots, their labels and legends — which the
templates in ``templates/insights/charts/`` only print. Pure Python (no database, no
templates), so every chart can be checked by a unit test.

Every chart is drawn in a box ``WIDTH`` units wide, the width of a phone: the SVG scales to
its column with ``viewBox``. A suppressed figure (``None``) is never drawn as zero: it gets
no bar, line or colour of its own, only the mark "x" (``SUPPRESSED``), as on the tables.
Colours are CSS classes (``static/css/stats.css``), so that the contrast is kept in one place.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from places.tiles import short_name

from .selectors import SUPPRESSED

WIDTH = 320
HEAT_LEVELS = 4  # the tile map's colours above zero

Value = int | float | None


# --- Numbers ----------------------------------------------------------------------------------


def number(value: Value) -> str:
    """A figure as printed on charts and tables: 12,345; 12.5; "x" where suppressed."""
    if value is None:
        return SUPPRESSED
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}"


def nice_step(value: float) -> int:
    """The round step (1, 2 or 5 times a power of ten) at or above ``value``."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 5, 10):
        if factor * power >= value:
            return int(factor * power)
    return int(10 * power)  # pragma: no cover (the loop always returns)


def nice_floor(value: float) -> int:
    """The round number (1, 2 or 5 times a power of ten) at or below ``value`` (at least 1)."""
    if value < 2:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return int(max(f * power for f in (1, 2, 5) if f * power <= value))


def nice_ticks(top: Value, count: int = 4) -> list[int]:
    """Round gridline values from 0 to at least ``top``, about ``count`` steps."""
    top = max(math.ceil(top or 0), 1)
    step = nice_step(top / count)
    return list(range(0, math.ceil(top / step) * step + 1, step))


def column_of(table, column: str | None = None) -> str:
    """The column a chart draws: the one named, else the table's first (a rank is not a
    figure to draw)."""
    if column:
        return column
    return next(key for key, _heading in table.columns if key != "rank")


# --- Tables beside the charts ---------------------------------------------------------------


@dataclass
class Cell:
    text: str
    suppressed: bool


NOT_APPLICABLE = "—"


def table_rows(table, not_applicable: frozenset = frozenset()) -> list[dict]:
    """The rows of a table with their cells in column order, ready to print. A cell in
    ``not_applicable`` ((row key, column) pairs: a rate of nothing) is "—", not "x"."""
    rows = []
    for row in table.rows:
        values = row["values"]
        cells = []
        for key, _heading in table.columns:
            value = values.get(key)
            if value is None and (row["key"], key) in not_applicable:
                cells.append(Cell(NOT_APPLICABLE, False))
            else:
                cells.append(Cell(number(value), value is None))
        rows.append(
            {
                "key": row["key"],
                "label": row["label"],
                "url": row.get("url", ""),
                "cells": cells,
                # A row of another basis than its table's (``selectors._summary``).
                "basis": row.get("basis", ""),
                "as_of": row.get("as_of"),
            }
        )
    return rows


def suppressed_count(rows: list[dict]) -> int:
    """How many cells of these rows (``table_rows``) are suppressed."""
    return sum(1 for row in rows for cell in row["cells"] if cell.suppressed)


# --- Horizontal bars --------------------------------------------------------------------------


@dataclass
class Bar:
    label: str
    value: Value
    text: str
    label_y: float
    bar_y: float
    bar_width: float
    text_x: float
    text_y: float
    url: str = ""

    @property
    def suppressed(self) -> bool:
        return self.value is None


@dataclass
class BarChart:
    width: int
    height: int
    bars: list[Bar]
    ticks: list[dict]  # {"x", "text"}: gridlines
    bar_height: float
    omitted: int = 0  # rows left out (beyond the limit, or suppressed or zero when sorted)
    hidden: int = 0  # of them, suppressed: a sorted chart cannot place them
    kind: str = "bar"


BAR_ROW = 36  # label line, then the bar
BAR_HEIGHT = 14
BAR_TOP = 4
VALUE_SPACE = 78  # room right of the longest bar for its figure


def bar_chart(
    table, column: str | None = None, *, limit: int | None = None, by_value: bool = False
) -> BarChart:
    """One bar per row, the row's label above its bar (long labels never squeeze the bars on
    a phone). ``by_value`` sorts the largest first and leaves suppressed rows (whose place in
    the order is unknown) and zeros to the table; ``limit`` keeps the first rows."""
    column = column_of(table, column)
    rows = [(row, row["values"].get(column)) for row in table.rows]
    omitted = hidden = 0
    if by_value:
        hidden = sum(1 for _r, v in rows if v is None)
        shown = sorted(((r, v) for r, v in rows if v), key=lambda rv: -rv[1])
        omitted += len(rows) - len(shown)
        rows = shown
    if limit is not None and len(rows) > limit:
        omitted += len(rows) - limit
        rows = rows[:limit]
    top = max((v for _r, v in rows if v is not None), default=0)
    ticks = nice_ticks(top)
    scale = (WIDTH - VALUE_SPACE) / ticks[-1]
    bars = []
    for i, (row, value) in enumerate(rows):
        y = BAR_TOP + i * BAR_ROW
        length = 0.0 if value is None else round(value * scale, 2)
        bars.append(
            Bar(
                label=row["label"],
                value=value,
                text=number(value),
                label_y=y + 12,
                bar_y=y + 17,
                bar_width=length,
                text_x=round(length + 4, 2),
                text_y=y + 17 + BAR_HEIGHT - 3,
                url=row.get("url", ""),
            )
        )
    return BarChart(
        width=WIDTH,
        height=BAR_TOP + max(len(bars), 1) * BAR_ROW + 4,
        bars=bars,
        ticks=[{"x": round(t * scale, 2), "text": number(t)} for t in ticks],
        bar_height=BAR_HEIGHT,
        omitted=omitted,
        hidden=hidden,
    )


# --- The series: cumulative line over new registrations -----------------------------------------


@dataclass
class Panel:
    """One plot of the series chart: its box, gridlines and marks."""

    top: float
    height: float
    ticks: list[dict]  # {"y", "text"}
    paths: list[str] = field(default_factory=list)  # the line, broken where suppressed
    dots: list[dict] = field(default_factory=list)  # {"x", "y"}
    bars: list[dict] = field(default_factory=list)  # {"x", "y", "width", "height"}
    bands: list[dict] = field(default_factory=list)  # {"x", "width"}: suppressed periods

    @property
    def name_y(self) -> float:
        """Where the panel's name is written, above it."""
        return self.top - 8


@dataclass
class LineChart:
    width: int
    height: int
    left: float
    right: float
    line: Panel
    bars: Panel
    labels: list[dict]  # {"x", "y", "text", "anchor"}: periods under the bars
    periods: int
    kind: str = "line"

    @property
    def tick_x(self) -> float:
        """Where the gridlines' figures end, left of the plot."""
        return self.left - 4


LINE_LEFT = 58  # room for the gridline figures
LINE_RIGHT = WIDTH - 8
LINE_TOP = 22  # room for the panel's name above it
LINE_PANEL = 130
BARS_PANEL = 80
PANEL_GAP = 40
MAX_LABELS = 4


def line_chart(table, *, line: str = "cumulative", bars: str = "new") -> LineChart:
    """The registrations at the end of each period as a line (top) and the new ones as bars
    (below), on one time axis. A suppressed figure breaks the line and leaves an "x"."""
    rows = table.rows
    n = len(rows)
    plot = LINE_RIGHT - LINE_LEFT
    step = plot / max(n, 1)
    centre = [round(LINE_LEFT + step * (i + 0.5), 2) for i in range(n)]

    def panel(top: float, height: float, values: list[Value]) -> tuple[Panel, float]:
        ticks = nice_ticks(max((v for v in values if v is not None), default=0))
        scale = height / ticks[-1]
        bottom = top + height
        return (
            Panel(
                top=top,
                height=height,
                ticks=[{"y": round(bottom - t * scale, 2), "text": number(t)} for t in ticks],
            ),
            scale,
        )

    upper = None
    bottom = LINE_TOP
    if any(key == line for key, _title in table.columns):
        upper, bottom = _line_panel(panel, [row["values"].get(line) for row in rows], centre, step)

    bar_values = [row["values"].get(bars) for row in rows]
    lower, scale = panel(bottom + PANEL_GAP, BARS_PANEL, bar_values)
    bottom = lower.top + lower.height
    width = round(max(step * 0.7, 0.8), 2)
    for x, value in zip(centre, bar_values, strict=True):
        if value is None:
            continue
        height = round(value * scale, 2)
        lower.bars.append(
            {
                "x": round(x - width / 2, 2),
                "y": round(bottom - height, 2),
                "width": width,
                "height": height,
            }
        )

    lower.bands = _bands(bar_values, step)

    labels = []
    if n:
        most = MAX_LABELS if len(rows[0]["key"]) < 10 else 3  # days' labels are long
        picks = sorted({round(i * (n - 1) / (most - 1)) for i in range(most)}) if n > 1 else [0]
        for i in picks:
            anchor = "start" if i == 0 and n > 1 else "end" if i == n - 1 and n > 1 else "middle"
            x = LINE_LEFT if anchor == "start" else LINE_RIGHT if anchor == "end" else centre[i]
            labels.append(
                {"x": x, "y": round(bottom + 16, 2), "text": rows[i]["key"], "anchor": anchor}
            )
    return LineChart(
        width=WIDTH,
        height=round(bottom + 24),
        left=LINE_LEFT,
        right=LINE_RIGHT,
        line=upper,
        bars=lower,
        labels=labels,
        periods=n,
    )


def _line_panel(panel, line_values: list[Value], centre: list[float], step: float):
    """The running count as a line; a suppressed figure breaks it."""
    n = len(line_values)
    upper, scale = panel(LINE_TOP, LINE_PANEL, line_values)
    bottom = upper.top + upper.height
    segment: list[str] = []
    for x, value in zip(centre, line_values, strict=True):
        if value is None:
            if segment:
                upper.paths.append(" ".join(segment))
            segment = []
            continue
        y = round(bottom - value * scale, 2)
        segment.append(f"{'L' if segment else 'M'}{x} {y}")
        if n <= 60:
            upper.dots.append({"x": x, "y": y})
    if segment:
        upper.paths.append(" ".join(segment))
    upper.bands = _bands(line_values, step)
    return upper, bottom


def _bands(values: list[Value], step: float) -> list[dict]:
    """The runs of suppressed periods, as bands across the panel."""
    bands: list[dict] = []
    for i, value in enumerate(values):
        if value is not None:
            continue
        x = round(LINE_LEFT + step * i, 2)
        if bands and bands[-1]["end"] == i:
            bands[-1]["end"] = i + 1
            bands[-1]["width"] = round(LINE_LEFT + step * (i + 1) - bands[-1]["x"], 2)
        else:
            bands.append({"x": x, "width": round(step, 2), "end": i + 1})
    return bands


# --- The funnel -------------------------------------------------------------------------------


@dataclass
class FunnelChart:
    width: int
    height: int
    steps: list[dict]  # {"label", "label_y", "x", "y", "width", "text", "suppressed"}
    step_height: float
    kind: str = "funnel"


FUNNEL_ROW = 44
FUNNEL_BAR = 20


def funnel_chart(table, column: str = "people", share: str = "share") -> FunnelChart:
    """Each stage a bar centred under the one before, as wide as its share of the first."""
    first = next((row["values"].get(column) for row in table.rows), None)
    top = max((row["values"].get(column) or 0 for row in table.rows), default=0) or 1
    steps = []
    for i, row in enumerate(table.rows):
        value = row["values"].get(column)
        y = 4 + i * FUNNEL_ROW
        width = 0.0 if value is None else round(max(WIDTH * value / top, 2 if value else 0), 2)
        text = number(value)
        percent = row["values"].get(share)
        if value is not None and percent is not None and first:
            text = f"{text}（{number(percent)}%）"
        steps.append(
            {
                "label": row["label"],
                "label_y": y + 12,
                "x": round((WIDTH - width) / 2, 2),
                "y": y + 18,
                "width": width,
                "text": text,
                "text_y": y + 18 + FUNNEL_BAR / 2 + 4,
                "suppressed": value is None,
            }
        )
    return FunnelChart(
        width=WIDTH,
        height=4 + max(len(steps), 1) * FUNNEL_ROW + 2,
        steps=steps,
        step_height=FUNNEL_BAR,
    )


# --- Legends of the maps ------------------------------------------------------------------------


def _round_up(value: float) -> int:
    """Up to two significant digits: 137 → 140, 1,234 → 1,300."""
    if value <= 10:
        return max(math.ceil(value), 1)
    unit = 10 ** (math.floor(math.log10(value)) - 1)
    return int(math.ceil(value / unit) * unit)


def heat_breaks(values: Sequence[Value], levels: int = HEAT_LEVELS) -> list[int]:
    """The upper bounds of the colour steps above zero: the quartiles of the figures above
    zero, rounded up to two digits (so each colour holds about as many areas; figures of
    registrations are skewed, equal steps would paint nearly all of them alike)."""
    shown = sorted(v for v in values if v is not None and v > 0)
    if not shown:
        return [1]
    breaks: list[int] = []
    for i in range(1, levels + 1):
        bound = _round_up(shown[math.ceil(len(shown) * i / levels) - 1])
        if not breaks or bound > breaks[-1]:
            breaks.append(bound)
    return breaks


def heat_level(value: Value, breaks: Sequence[int]) -> int | None:
    """0 for zero, None where suppressed, else the colour step: with fewer breaks than
    ``HEAT_LEVELS`` the darker steps are used, so that the largest figures stay darkest."""
    if value is None:
        return None
    if value <= 0:
        return 0
    shift = HEAT_LEVELS - len(breaks)
    for i, bound in enumerate(breaks, start=1):
        if value <= bound:
            return i + shift
    return HEAT_LEVELS


def heat_legend(breaks: Sequence[int]) -> list[dict]:
    """{"level", "text"}: 0, then "1–140", "141–210", …"""
    legend = [{"level": 0, "text": "0"}]
    shift = HEAT_LEVELS - len(breaks)
    low = 1
    for i, bound in enumerate(breaks, start=1):
        text = number(bound) if low == bound else f"{number(low)}–{number(bound)}"
        legend.append({"level": i + shift, "text": text})
        low = bound + 1
    return legend


# --- The tile map of Japan ---------------------------------------------------------------------


@dataclass
class TileMap:
    width: int
    height: int
    tiles: list[dict]  # {"code", "name", "short", "x", "y", "level", "text", "url"}
    tile: float
    legend: list[dict]  # {"level", "text"}: the colour steps, then "x" (suppressed)
    kind: str = "map"

    @property
    def linked(self) -> bool:
        """Some tile opens a page: they get a layer of links over the image (an image,
        ``role="img"``, holds nothing interactive)."""
        return any(tile.get("url") for tile in self.tiles)


TILE = 22
TILE_GAP = 2


def tile_map(
    table, layout: Mapping[str, tuple[int, int]], column: str = "registrations"
) -> TileMap:
    """One square per prefecture at its (row, column) of ``layout`` (the usual 11 × 13 tile
    map), coloured by the column in a few round steps."""
    values = {row["key"]: row["values"].get(column) for row in table.rows}
    breaks = heat_breaks(list(values.values()))
    pitch = TILE + TILE_GAP
    left = (WIDTH - 13 * pitch + TILE_GAP) / 2
    tiles = []
    for row in table.rows:
        if row["key"] not in layout:
            continue
        grid_row, grid_column = layout[row["key"]]
        value = values[row["key"]]
        tiles.append(
            {
                "code": row["key"],
                "name": row["label"],
                "short": short_name(row["label"]),
                "x": round(left + (grid_column - 1) * pitch, 2),
                "y": (grid_row - 1) * pitch,
                "cx": round(left + (grid_column - 1) * pitch + TILE / 2, 2),
                "cy": round((grid_row - 1) * pitch + TILE / 2 + 3.5, 2),
                "level": heat_level(value, breaks),
                "text": number(value),
                "url": row.get("url", ""),
            }
        )
    return TileMap(
        width=WIDTH,
        height=11 * pitch - TILE_GAP,
        tiles=tiles,
        tile=TILE,
        legend=heat_legend(breaks)
        + ([{"level": None, "text": SUPPRESSED}] if None in values.values() else []),
    )


# --- Municipalities as dots at their coordinates -------------------------------------------------


@dataclass
class DotMap:
    width: int
    height: int
    dots: list[
        dict
    ]  # {"code", "name", "x", "y", "r", "text", "url", "state"}: zero/shown/suppressed
    legend: list[dict]  # {"x", "y", "r", "text", "state"}
    legend_y: float
    kind: str = "dots"

    @property
    def linked(self) -> bool:
        """Some dot opens a page (see ``TileMap.linked``)."""
        return any(dot.get("url") for dot in self.dots)


DOT_PAD = 16
DOT_MAP_MAX_HEIGHT = 360
DOT_MIN, DOT_MAX = 3.0, 12.0


def text_width(text: str, size: float = 10) -> float:
    """About how wide a label is: full-width characters a whole em, the others half."""
    return sum(size if ord(c) > 0x2E7F else size * 0.6 for c in text)


def _radius(value: float, top: float) -> float:
    return round(DOT_MIN + (DOT_MAX - DOT_MIN) * math.sqrt(value / top), 2) if top else DOT_MIN


def dot_map(
    table,
    points: Mapping[str, tuple[float, float]],
    column: str = "registrations",
    *,
    zero_label: str = "0",
    suppressed_label: str = SUPPRESSED,
) -> DotMap:
    """A dot at each row's (latitude, longitude) of ``points``, its area proportional to the
    figure; projected equirectangularly with the longitude shrunk by the cosine of the middle
    latitude (true enough for one prefecture), fitted to the box, north up."""
    placed = [(row, points[row["key"]]) for row in table.rows if row["key"] in points]
    values = [row["values"].get(column) for row, _p in placed]
    top = max((v for v in values if v is not None), default=0)
    if placed:
        lats = [p[0] for _r, p in placed]
        lons = [p[1] for _r, p in placed]
        shrink = math.cos(math.radians((min(lats) + max(lats)) / 2))
        west, east, south, north = min(lons), max(lons), min(lats), max(lats)
    else:
        shrink, west, east, south, north = 1.0, 0.0, 1.0, 0.0, 1.0
    span_x = max((east - west) * shrink, 1e-6)
    span_y = max(north - south, 1e-6)
    inner = WIDTH - 2 * DOT_PAD
    scale = min(inner / span_x, (DOT_MAP_MAX_HEIGHT - 2 * DOT_PAD) / span_y)
    offset_x = (WIDTH - span_x * scale) / 2
    map_height = round(span_y * scale + 2 * DOT_PAD)
    dots = []
    for (row, (lat, lon)), value in zip(placed, values, strict=True):
        if value is None:
            state, radius = "suppressed", 4.0
        elif value == 0:
            state, radius = "zero", 2.5
        else:
            state, radius = "shown", _radius(value, top)
        dots.append(
            {
                "code": row["key"],
                "name": row["label"],
                "x": round(offset_x + (lon - west) * shrink * scale, 2),
                "y": round(DOT_PAD + (north - lat) * scale, 2),
                "r": radius,
                "text": number(value),
                "url": row.get("url", ""),
                "state": state,
            }
        )
    dots.sort(key=lambda d: -d["r"])  # the small ones on top, where they can be reached
    legend_y = map_height + 8
    legend = []
    samples = sorted({nice_floor(top / 10), nice_floor(top)}) if top else []
    entries = [("shown", _radius(sample, top), number(sample)) for sample in samples]
    entries += [("zero", 2.5, zero_label), ("suppressed", 4.0, suppressed_label)]
    x = 2.0
    for state, radius, text in entries:
        centre = x + radius
        legend.append(
            {
                "x": round(centre, 2),
                "y": legend_y + DOT_MAX,
                "r": radius,
                "text": text,
                "state": state,
                "text_x": round(centre + radius + 4, 2),
            }
        )
        x = centre + radius + 4 + text_width(text) + 14
    return DotMap(
        width=WIDTH,
        height=round(legend_y + 2 * DOT_MAX + 6),
        dots=dots,
        legend=legend,
        legend_y=legend_y,
    )
