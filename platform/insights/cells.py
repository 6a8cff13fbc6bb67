"""What is counted: the areas, the measures and their keys, and the cells one registration
counts in. The incremental update (``services.counts_update``) and the full rebuild
(``services.counts_rebuild``, in SQL) must agree with these definitions; a test holds them
to an independent count over the raw rows.

An area is "JP" (the nation), "R<region>", "P<prefecture code>" or "M<municipality code>".
A cell is (area, measure, key). Registrations (延べ) are counted by the municipality of the
tie and rolled up to its prefecture, region and the nation; unique people (実人数) are
counted per area by the services, from the ledger.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from django.utils.translation import gettext_lazy as _

from places.models import Municipality, Prefecture, Region
from registry.models import AgeBand, Gender, RelationshipType, Tier

NATION = "JP"

# Measures of registrations (active ones, unless said).
REGISTRATIONS = "reg"  # key "": active registrations
PEOPLE = "people"  # key "": unique people with an active registration in the area
TIER = "tier"  # key: Tier
VISITING = "visit"  # key: "visiting" or "non_visiting" (only 非訪問系)
TYPE = "type"  # key: RelationshipType (a registration may have several)
HOME = "home"  # key: Region of the registrant's home when registering
ORIGIN = "origin"  # key: METRO_AREAS of the registrant's home when registering
GENDER = "gender"  # key: Gender or "unknown"
AGE = "age"  # key: AgeBand (age reached this year) or "unknown"
NEW = "new"  # key: YYYY-MM-DD the registration was made (every registration)
GONE = "gone"  # key: YYYY-MM-DD the registration was withdrawn
FLOW = "flow"  # key: "<METRO_KEYS of the tie>:<METRO_KEYS of the home>" (published, nation)
# Measures of the board and of participation (recounted from the board's rows).
BOARD = "board"  # key: BOARD_KEYS
FUNNEL = "funnel"  # key: FUNNEL_KEYS

UNKNOWN = "unknown"
VISITING_KEYS = ("visiting", "non_visiting")
NON_VISITING_BIT = 1 << RelationshipType.values.index(RelationshipType.NON_VISITING)

# 三大都市圏 as MLIT's surveys use them, by prefecture code; everything else is "other".
METRO_AREAS = {
    "tokyo": frozenset({"11", "12", "13", "14"}),
    "nagoya": frozenset({"21", "23", "24"}),
    "osaka": frozenset({"26", "27", "28", "29"}),
}
METRO_KEYS = ("tokyo", "nagoya", "osaka", "other")
METRO_LABELS = {
    "tokyo": _("東京圏"),
    "nagoya": _("名古屋圏"),
    "osaka": _("大阪圏"),
    "other": _("三大都市圏以外"),
}

# The board.
BOARD_KEYS = (
    "tasks",
    "sessions",
    "seats",
    "signups",
    "attended",
    "no_show",
    "participants",
    "repeaters",
)
# What the public board itself shows (its tasks, their sessions and places, and each
# session's places taken) is never suppressed: hiding it here would protect nobody. Who
# attended, who did not come and who took part (once or more) is not shown there: those are
# counts of people, suppressed like the registrations.
BOARD_PUBLIC = frozenset({"tasks", "sessions", "seats", "signups"})
FUNNEL_KEYS = ("registered", "signed_up", "took_part", "again")

# The keys of each breakdown, in the order they are shown.
BREAKDOWN_KEYS: dict[str, tuple[str, ...]] = {
    TIER: tuple(Tier.values),
    VISITING: VISITING_KEYS,
    TYPE: tuple(RelationshipType.values),
    HOME: tuple(Region.values),
    ORIGIN: METRO_KEYS,
    GENDER: (*Gender.values, UNKNOWN),
    AGE: (*AgeBand.values, UNKNOWN),
}
# The breakdowns whose cells add up to the area's registrations (a registration has one key).
PARTITIONS = (TIER, VISITING, HOME, ORIGIN, GENDER, AGE)


def metro_area(prefecture_code: str) -> str:
    for key, codes in METRO_AREAS.items():
        if prefecture_code in codes:
            return key
    return "other"


def region_area(region: str) -> str:
    return f"R{region}"


def prefecture_area(code: str) -> str:
    return f"P{code}"


def municipality_area(code: str) -> str:
    return f"M{code}"


@dataclass(frozen=True)
class Geography:
    """Municipality code → its prefecture and region (read once per process)."""

    prefecture_of: dict[str, str]
    region_of_prefecture: dict[str, str]

    def areas_of(self, municipality: str) -> tuple[str, str, str, str]:
        """The four areas a registration with this municipality counts in, nation last."""
        prefecture = self.prefecture_of[municipality]
        return (
            municipality_area(municipality),
            prefecture_area(prefecture),
            region_area(self.region_of_prefecture[prefecture]),
            NATION,
        )

    def upper_areas_of(self, municipality: str) -> tuple[str, str, str]:
        """Where one person counts once (実人数): prefecture, region, nation."""
        return self.areas_of(municipality)[1:]


@cache
def geography() -> Geography:
    regions = dict(Prefecture.objects.values_list("code", "region"))
    return Geography(
        prefecture_of=dict(Municipality.objects.values_list("code", "prefecture_id")),
        region_of_prefecture=regions,
    )


@dataclass(frozen=True)
class Counted:
    """A registration's facts as counted (a ``Tally`` row, or the registry's row now)."""

    registration_id: int
    person_id: int
    municipality: str
    active: bool
    registered_on: datetime.date
    withdrawn_on: datetime.date | None
    tier: str
    types: int
    home: str
    gender: str
    age_band: str

    def cells(self, geo: Geography) -> Iterator[tuple[str, str, str]]:
        """Every cell this registration adds one to (unique people are counted apart)."""
        keys = [(NEW, self.registered_on.isoformat())]
        if self.withdrawn_on is not None:
            keys.append((GONE, self.withdrawn_on.isoformat()))
        if self.active:
            home_prefecture = geo.prefecture_of[self.home]
            keys += [
                (REGISTRATIONS, ""),
                (TIER, self.tier),
                (VISITING, "non_visiting" if self.types == NON_VISITING_BIT else "visiting"),
                (HOME, geo.region_of_prefecture[home_prefecture]),
                (ORIGIN, metro_area(home_prefecture)),
                (GENDER, self.gender or UNKNOWN),
                (AGE, self.age_band or UNKNOWN),
            ]
            keys += [
                (TYPE, value)
                for i, value in enumerate(RelationshipType.values)
                if self.types >> i & 1
            ]
        for area in geo.areas_of(self.municipality):
            for measure, key in keys:
                yield area, measure, key


def age_band_of(birth_year: int | None, today: datetime.date) -> str:
    band = AgeBand.for_birth_year(birth_year, today)
    return band.value if band is not None else ""
