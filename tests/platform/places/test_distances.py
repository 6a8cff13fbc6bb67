"""Distances between municipalities, computed in bulk, against an independent formula."""

import math

import pytest

from places import distances
from places.models import Municipality

pytestmark = pytest.mark.django_db


def _independent_km(a: Municipality, b: Municipality) -> float:
    """Spherical law of cosines, a different formula from the module's haversine."""
    p1, p2 = math.radians(a.latitude), math.radians(b.latitude)
    dl = math.radians(b.longitude - a.longitude)
    cos = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    return 6371.0088 * math.acos(max(-1.0, min(1.0, cos)))


def test_within_km_is_exactly_the_municipalities_in_range():
    hida = Municipality.objects.get(code="212172")
    expected = {
        m.code: _independent_km(hida, m)
        for m in Municipality.objects.all()
        if _independent_km(hida, m) <= 50
    }
    got = distances.within_km("212172", 50)
    assert len(expected) > 1  # Hida itself and its neighbours
    assert set(got) == set(expected)
    for code, km in got.items():
        assert km == pytest.approx(expected[code], abs=0.01)
    assert list(got.values()) == sorted(got.values())
    assert "212032" in got  # 高山市, its neighbour


def test_known_distance_tokyo_to_osaka():
    # 新宿区 -> 大阪市: about 400 km as the crow flies.
    assert 380 < distances.km_between("131041", "271004") < 420


def test_distance_is_symmetric_and_zero_to_itself():
    assert distances.km_between("212172", "313289") == pytest.approx(
        distances.km_between("313289", "212172")
    )
    assert distances.km_between("212172", "212172") == 0
