"""Great-circle distances between municipalities, computed in bulk.

The 1,741 coordinates are read once per process; the distances from one municipality to all
others take one pass of arithmetic (about a millisecond), and the most recent origins are
kept. "Within 50 km of my home" is then a list of codes for an indexed ``IN`` filter.
"""

from __future__ import annotations

import math
from functools import lru_cache

from .models import Municipality

EARTH_RADIUS_KM = 6371.0088


@lru_cache(maxsize=1)
def _points() -> dict[str, tuple[float, float]]:
    return {
        code: (math.radians(lat), math.radians(lng))
        for code, lat, lng in Municipality.objects.values_list("code", "latitude", "longitude")
    }


def forget() -> None:
    """Drop what was read, after the municipalities were (re)loaded."""
    _points.cache_clear()
    distances_from.cache_clear()


def _haversine(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lng1 = a
    lat2, lng2 = b
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


@lru_cache(maxsize=256)
def distances_from(code: str) -> dict[str, float]:
    """{code: km} from the municipality ``code`` to every municipality, nearest first."""
    points = _points()
    if code not in points:  # loaded after this process first read them
        forget()
        points = _points()
    origin = points[code]
    pairs = sorted((_haversine(origin, p), c) for c, p in points.items())
    return {c: km for km, c in pairs}


def km_between(a: str, b: str) -> float:
    return distances_from(a)[b]


def within_km(code: str, km: float) -> dict[str, float]:
    """{code: km} within ``km`` of ``code`` (itself included), nearest first."""
    result = {}
    for other, distance in distances_from(code).items():
        if distance > km:
            break
        result[other] = distance
    return result
