"""An outline map of Japan drawn on the server, as inline SVG: no tile server, no script.

The prefectures' outlines come from the data package ``@svg-maps/japan`` (MapSVG's map,
CC BY 4.0), which ``make install`` brings from the npm registry into the environment
(``PLACES_MAP_SVG`` says where; nothing generated is kept in the repository). Its paths are
read once per process and turned into absolute coordinates (``outlines``), so that a
prefecture's part of the map (its bounding box) and a point's place in it can be computed.

The package draws Japan in a Mercator projection. Its constants (``SCALE``, ``X0``,
``Y0``) were fitted once to the 1,741 municipalities' coordinates: about 93 % of them fall
inside their own prefecture's outline, the rest on its coast (a test keeps it so).

Points are clustered on a grid in the map's own units (``cluster``): the towns that fall in
one cell of ``radius`` become one marker, at their mean place, with their number.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# Mercator, in the package's units: x = SCALE·λ + X0, y = Y0 − SCALE·ln tan(π/4 + φ/2).
SCALE = 1127.19
X0 = -2432.17
Y0 = 1007.78
# The package's canvas.
WIDTH = 438
HEIGHT = 516

# The package names prefectures in romaji; JIS X 0401 order (01 北海道 … 47 沖縄県).
PACKAGE_IDS = [
    "hokkaido",
    "aomori",
    "iwate",
    "miyagi",
    "akita",
    "yamagata",
    "fukushima",
    "ibaraki",
    "tochigi",
    "gunma",
    "saitama",
    "chiba",
    "tokyo",
    "kanagawa",
    "niigata",
    "toyama",
    "ishikawa",
    "fukui",
    "yamanashi",
    "nagano",
    "gifu",
    "shizuoka",
    "aichi",
    "mie",
    "shiga",
    "kyoto",
    "osaka",
    "hyogo",
    "nara",
    "wakayama",
    "tottori",
    "shimane",
    "okayama",
    "hiroshima",
    "yamaguchi",
    "tokushima",
    "kagawa",
    "ehime",
    "kochi",
    "fukuoka",
    "saga",
    "nagasaki",
    "kumamoto",
    "oita",
    "miyazaki",
    "kagoshima",
    "okinawa",
]
CODE_OF_ID = {name: f"{number:02d}" for number, name in enumerate(PACKAGE_IDS, start=1)}

_TOKEN = re.compile(r"[MmLlHhVvZz]|-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_SVG = "{http://www.w3.org/2000/svg}"

Ring = list[tuple[float, float]]


def project(longitude: float, latitude: float) -> tuple[float, float]:
    """A place's point on the map."""
    x = SCALE * math.radians(longitude) + X0
    y = Y0 - SCALE * math.log(math.tan(math.pi / 4 + math.radians(latitude) / 2))
    return x, y


def _rings(d: str) -> list[Ring]:
    """The closed rings of an SVG path made of move, line and close commands."""
    rings: list[Ring] = []
    ring: Ring = []
    x = y = start_x = start_y = 0.0
    command = "M"
    tokens = _TOKEN.findall(d)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.isalpha():
            command = token
            i += 1
            if command in "Zz":
                if ring:
                    rings.append(ring)
                ring = []
                x, y = start_x, start_y
            continue
        relative = command.islower()
        if command in "Hh":
            x = x + float(token) if relative else float(token)
            i += 1
        elif command in "Vv":
            y = y + float(token) if relative else float(token)
            i += 1
        else:  # M m L l: a pair
            dx, dy = float(token), float(tokens[i + 1])
            i += 2
            x, y = (x + dx, y + dy) if relative else (dx, dy)
            if command in "Mm":
                if ring:
                    rings.append(ring)
                ring = []
                start_x, start_y = x, y
                command = "l" if relative else "L"  # further pairs are lines
        ring.append((x, y))
    if ring:
        rings.append(ring)
    return rings


def _path_data(rings: list[Ring]) -> str:
    """Compact absolute path data: one decimal is a tenth of a pixel of the whole map."""
    parts = []
    for ring in rings:
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in ring)
        parts.append(f"M{points}Z")
    return "".join(parts)


@dataclass(frozen=True)
class Outline:
    code: str
    rings: list[Ring]
    d: str
    box: tuple[float, float, float, float]  # min x, min y, max x, max y

    def contains(self, x: float, y: float) -> bool:
        """Whether the point is inside the outline (even-odd, as the SVG fills it)."""
        left, top, right, bottom = self.box
        if not (left <= x <= right and top <= y <= bottom):
            return False
        inside = False
        for ring in self.rings:
            for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
                if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
                    inside = not inside
        return inside


@lru_cache(maxsize=1)
def outlines() -> dict[str, Outline]:
    """{prefecture code: its outline}, read from the package once per process."""
    path = settings.PLACES_MAP_SVG
    try:
        root = ET.parse(path).getroot()  # noqa: S314 — the installed package's own file
    except (OSError, ET.ParseError) as error:
        raise ImproperlyConfigured(
            f"The map of Japan is missing at {path} (PLACES_MAP_SVG): run `make install`."
        ) from error
    found = {}
    for element in root.iter(f"{_SVG}path"):
        code = CODE_OF_ID.get(element.get("id", ""))
        if code is None:
            continue
        rings = _rings(element.get("d", ""))
        xs = [x for ring in rings for x, _ in ring]
        ys = [y for ring in rings for _, y in ring]
        found[code] = Outline(
            code=code,
            rings=rings,
            d=_path_data(rings),
            box=(min(xs), min(ys), max(xs), max(ys)),
        )
    if len(found) != len(PACKAGE_IDS):
        raise ImproperlyConfigured(f"{path} does not hold the 47 prefectures.")
    return found


@dataclass
class Marker:
    """One point of the map: a town or a cluster of towns, with what is counted there."""

    x: float
    y: float
    count: int
    items: list = field(default_factory=list)


def cluster(points: Iterable[tuple[float, float, int, object]], *, radius: float) -> list[Marker]:
    """Points ``(x, y, count, item)`` grouped by the cell of side ``radius`` they fall in,
    then cells whose centres are nearer than ``radius`` merged; biggest first."""
    cells: dict[tuple[int, int], Marker] = {}
    for x, y, count, item in points:
        cell = (int(x // radius), int(y // radius))
        marker = cells.get(cell)
        if marker is None:
            cells[cell] = Marker(x=x * count, y=y * count, count=count, items=[item])
        else:
            marker.x += x * count
            marker.y += y * count
            marker.count += count
            marker.items.append(item)
    markers = []
    for marker in cells.values():
        marker.x /= marker.count
        marker.y /= marker.count
        markers.append(marker)
    merged: list[Marker] = []
    for marker in sorted(markers, key=lambda m: -m.count):
        for kept in merged:
            if math.hypot(kept.x - marker.x, kept.y - marker.y) < radius:
                total = kept.count + marker.count
                kept.x = (kept.x * kept.count + marker.x * marker.count) / total
                kept.y = (kept.y * kept.count + marker.y * marker.count) / total
                kept.count = total
                kept.items.extend(marker.items)
                break
        else:
            merged.append(marker)
    return sorted(merged, key=lambda m: (-m.count, m.y, m.x))


def view_box(box: tuple[float, float, float, float], *, margin: float = 0.06) -> tuple:
    """``box`` widened by ``margin`` of its size on each side, as (x, y, width, height)."""
    left, top, right, bottom = box
    width, height = right - left, bottom - top
    pad = max(width, height) * margin
    return (left - pad, top - pad, width + 2 * pad, height + 2 * pad)


def japan_view_box() -> tuple:
    return (0, 0, WIDTH, HEIGHT)
