"""Who may see which statistics: the areas (the nation, a prefecture, a municipality), who
may open each, and at which level of detail.

- National administrators have row-level rights: every figure as counted (``Count``).
- A municipality's own staff, and prefecture staff for their prefecture and its towns, see
  that area's totals as counted (``sees_own_totals``): they already see its registrants
  row by row. Breakdowns that would tell an attribute a registrant did not agree to tell
  the town stay as published (suppressed) for them, and so do other areas' figures.
- Everyone else reads the published figures only.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import Http404
from django.utils.translation import gettext as _

from accounts.selectors import staff_scope
from core.errors import Denied
from places.models import Municipality, Prefecture

from . import cells
from .errors import InsightsCode

NATIONAL, PREFECTURE, MUNICIPALITY = "national", "prefecture", "municipality"

# --- Who may see what ----------------------------------------------------------------------


@dataclass(frozen=True)
class Area:
    kind: str  # NATIONAL, PREFECTURE or MUNICIPALITY
    code: str  # "" for the nation
    name: str
    prefecture_code: str = ""
    prefecture_name: str = ""

    @property
    def key(self) -> str:
        if self.kind == NATIONAL:
            return cells.NATION
        if self.kind == PREFECTURE:
            return cells.prefecture_area(self.code)
        return cells.municipality_area(self.code)

    def as_dict(self) -> dict:
        data = {"kind": self.kind, "code": self.code, "name": self.name}
        if self.prefecture_code:
            data["prefecture"] = {"code": self.prefecture_code, "name": self.prefecture_name}
        return data


def nation() -> Area:
    return Area(NATIONAL, "", str(_("全国")))


def area_get(*, kind: str, code: str = "") -> Area:
    """The area by kind and code; Http404 if there is none."""
    if kind == NATIONAL:
        return nation()
    if not code.isascii() or not code.isdigit() or len(code) != (2 if kind == PREFECTURE else 6):
        raise Http404  # not a code at all (a NUL byte would even fail in the database)
    if kind == PREFECTURE:
        prefecture = Prefecture.objects.filter(code=code).first()
        if prefecture is None:
            raise Http404
        return Area(PREFECTURE, prefecture.code, prefecture.name)
    municipality = Municipality.objects.select_related("prefecture").filter(code=code).first()
    if municipality is None:
        raise Http404
    return _town(municipality)


def _town(municipality: Municipality) -> Area:
    return Area(
        MUNICIPALITY,
        municipality.code,
        municipality.name,
        municipality.prefecture_id,
        municipality.prefecture.name,
    )


def has_row_level_rights(*, user) -> bool:
    """Only national administrators see every count unsuppressed (an area's own staff see
    its totals so: ``sees_own_totals``)."""
    return staff_scope(user=user).national


def sees_own_totals(*, user, area: Area) -> bool:
    """Whether this viewer sees the area's totals as counted, unsuppressed: a
    municipality's own staff for their town, who see its registrants row by row already,
    and national administrators (every area). Prefecture staff see no rows, so they read
    the published figures: a prefecture's or another town's true total beside the
    published tables would undo their complementary suppression (tests/insights
    test_disclosure and test_padding read the pages as prefecture staff)."""
    scope = staff_scope(user=user)
    if scope.national:
        return True
    return area.kind == MUNICIPALITY and area.code in scope.staff_municipality_codes


def may_open(*, user, area: Area) -> bool:
    """Everyone may open the nation's (published) figures; prefecture staff their
    prefecture and its municipalities; municipality staff their town."""
    if area.kind == NATIONAL:
        return True
    scope = staff_scope(user=user)
    if area.kind == PREFECTURE:
        return scope.covers_prefecture(area.code)
    return (
        scope.national
        or area.code in scope.staff_municipality_codes
        or area.prefecture_code in scope.prefecture_codes
    )


def area_open(*, user, kind: str, code: str = "") -> Area:
    """The area, if this viewer may open it (``Denied`` otherwise)."""
    area = area_get(kind=kind, code=code)
    if not may_open(user=user, area=area):
        raise Denied(
            _("この統計を見る権限がありません。"), code=InsightsCode.STATISTICS_NOT_ALLOWED
        )
    return area


def areas_of(*, user) -> list[Area]:
    """The areas this viewer may open, the nation first."""
    scope = staff_scope(user=user)
    found = [nation()]
    if scope.national:
        # Every area; the prefectures here, their municipalities from their pages.
        found += [
            Area(PREFECTURE, c, n)
            for c, n in Prefecture.objects.order_by("code").values_list("code", "name")
        ]
        return found
    for prefecture in Prefecture.objects.filter(code__in=scope.prefecture_codes).order_by("code"):
        found.append(Area(PREFECTURE, prefecture.code, prefecture.name))
    found += [
        _town(municipality)
        for municipality in Municipality.objects.filter(code__in=scope.staff_municipality_codes)
        .select_related("prefecture")
        .order_by("code")
    ]
    return found


def municipality_points(*, prefecture_code: str) -> dict[str, tuple[float, float]]:
    """Municipality code → (latitude, longitude) of its representative point, for the
    prefecture's map of dots."""
    rows = Municipality.objects.filter(prefecture_id=prefecture_code).values_list(
        "code", "latitude", "longitude"
    )
    return {code: (latitude, longitude) for code, latitude, longitude in rows}
