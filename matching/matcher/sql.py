"""The scorer's pieces that both statements share: the weights, the reasons as SQL, the
distance, the net, and the upsert of the best as matches.

The fragments name their tables by alias: ``t`` the task, ``tm`` its municipality, ``p``
the person's profile (or a row carrying its columns), ``hm`` the person's home
municipality; ``reasons`` and ``distance_km`` are the columns of a row being scored.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.models import User
from places import distances
from places.models import Municipality
from places.neighbours import NEIGHBOURS
from registry import flags
from registry.models import Category, PrefectureRegistration, Profile, Registration

from ..models import Attendance, Match, Reason, Session, Signup, Task

WEIGHTS = {
    Reason.REGISTERED: 40,
    Reason.RETURNING: 15,
    Reason.PREFECTURE_REGISTERED: 10,
    Reason.SAME_PREFECTURE: 12,
    Reason.NEIGHBOUR_PREFECTURE: 6,
    Reason.INTEREST: 20,
    Reason.SKILL: 10,
    Reason.DAYS: 5,
    Reason.MONTH: 5,
}
NEAR_WEIGHT = 20
# More people nearby than this many times the matches kept: the area is dense.
DENSE_FACTOR = 20
MIN_SCORE = {1: 25, 2: 15}


@dataclass(frozen=True)
class Net:
    """How wide the matcher looks: the first wave, or the wide one for understaffed tasks."""

    wave: int
    radius_km: float
    min_score: int

    @classmethod
    def of(cls, wave: int) -> Net:
        wide = wave >= 2
        return cls(
            wave=2 if wide else 1,
            radius_km=settings.MATCHING_WIDE_RADIUS_KM if wide else settings.MATCHING_RADIUS_KM,
            min_score=MIN_SCORE[2 if wide else 1],
        )

    def prefectures(self, task: Task) -> list[str]:
        """The prefectures whose interested residents are candidates of ``task``."""
        if self.wave >= 2:
            return [task.prefecture_id, *NEIGHBOURS[task.prefecture_id]]
        return [task.prefecture_id]

    def around(self, task: Task) -> tuple[list[str], bool]:
        """The municipalities within the radius of ``task`` (none for an online task), and
        whether the area is dense: more people live there than ``DENSE_FACTOR`` times the
        matches kept, so that only those whose interests or skills fit can reach the top."""
        if task.is_online:
            return [], False
        near = list(distances.within_km(task.municipality_id, self.radius_km))
        dense = DENSE_FACTOR * settings.MATCHING_MATCHES_PER_TASK
        # Counted no further than the threshold: the answer is the same, and bounded.
        nearby = Profile.objects.filter(home_municipality_id__in=near)[: dense + 1].count()
        return near, nearby > dense


def in_list(name: str, values: Iterable[Any], params: dict[str, Any]) -> str:
    """``(%(name_0)s, %(name_1)s, …)`` for an IN list, with its parameters added."""
    values = list(values)
    if not values:
        return "(NULL)"
    keys = []
    for index, value in enumerate(values):
        params[f"{name}_{index}"] = value
        keys.append(f"%({name}_{index})s")
    return "(" + ", ".join(keys) + ")"


def tables() -> dict[str, str]:
    return {
        "profile": Profile._meta.db_table,
        "registration": Registration._meta.db_table,
        "prefreg": PrefectureRegistration._meta.db_table,
        "municipality": Municipality._meta.db_table,
        "task": Task._meta.db_table,
        "session": Session._meta.db_table,
        "signup": Signup._meta.db_table,
        "user": User._meta.db_table,
        "match": Match._meta.db_table,
    }


NEIGHBOUR_ROWS = ", ".join(f"('{a}', '{b}')" for a, bs in NEIGHBOURS.items() for b in bs)
# The bit of the task's category among a profile's interests.
CATEGORY_BIT = (
    "(CASE t.category "
    + " ".join(f"WHEN '{value}' THEN {flags.bit(Category, value)}" for value in Category.values)
    + " ELSE 0 END)"
)


def common_params(net: Net, limit: int, params: dict[str, Any]) -> None:
    params.update(
        radius=net.radius_km,
        min_score=net.min_score,
        limit=limit,
        year=timezone.localdate().year,
        earth=2 * distances.EARTH_RADIUS_KM,
        scored_at=timezone.now(),
        attended=Attendance.ATTENDED,
        active="active",
    )


def distance_sql() -> str:
    """The great-circle distance in km from the person's home (``hm``) to the task (``t``,
    or its municipality ``tm``); NULL for an online task."""
    lat1 = "RADIANS(hm.latitude)"
    lng1 = "RADIANS(hm.longitude)"
    lat2 = "RADIANS(COALESCE(t.latitude, tm.latitude))"
    lng2 = "RADIANS(COALESCE(t.longitude, tm.longitude))"
    haversine = (
        f"POWER(SIN(({lat2} - {lat1}) / 2), 2)"
        f" + COS({lat1}) * COS({lat2}) * POWER(SIN(({lng2} - {lng1}) / 2), 2)"
    )
    return (
        f"CASE WHEN t.is_online THEN NULL ELSE %(earth)s * ASIN(SQRT("
        f"CASE WHEN {haversine} > 1 THEN 1 ELSE {haversine} END)) END"
    )


def _cases(cases: list[tuple[str, Reason]]) -> str:
    return " + ".join(
        f"CASE WHEN {condition} THEN {reason.value} ELSE 0 END" for condition, reason in cases
    )


def place_reasons() -> str:
    """The reasons that the person's home (``hm``) tells of the task (``t``)."""
    return _cases(
        [
            ("hm.prefecture_id = t.prefecture_id", Reason.SAME_PREFECTURE),
            (
                "EXISTS (SELECT 1 FROM neighbours nb WHERE nb.a = t.prefecture_id"
                " AND nb.b = hm.prefecture_id)",
                Reason.NEIGHBOUR_PREFECTURE,
            ),
        ]
    )


def person_reasons(category_bit: str = CATEGORY_BIT) -> str:
    """The reasons that the person's profile (``p``) tells of the task (``t``), whose
    category's bit is ``category_bit``."""
    return _cases(
        [
            (f"(p.interests & {category_bit}) <> 0", Reason.INTEREST),
            ("(p.skills & t.skills) <> 0", Reason.SKILL),
            ("(p.available_days & t.session_days) <> 0", Reason.DAYS),
            ("(p.available_months & t.session_months) <> 0", Reason.MONTH),
        ]
    )


# Whether the person's age allows the task (``p.birth_year``, ``t.minimum_age``).
AGE_FITS = """(COALESCE(t.minimum_age, 0) = 0
           OR (p.birth_year IS NOT NULL AND %(year)s - p.birth_year >= t.minimum_age))"""


def weights_sql() -> str:
    """The weights of the ``reasons`` column added up (an integer)."""
    return " + ".join(
        f"CASE WHEN (reasons & {reason.value}) <> 0 THEN {weight} ELSE 0 END"
        for reason, weight in WEIGHTS.items()
    )


def near_sql() -> str:
    """What nearness adds: up to NEAR_WEIGHT, falling linearly to 0 at the radius."""
    return (
        f"CASE WHEN distance_km IS NOT NULL AND distance_km <= %(radius)s"
        f" THEN {NEAR_WEIGHT} * (1.0 - distance_km / %(radius)s) ELSE 0 END"
    )


def near_reason_sql() -> str:
    return (
        f"CASE WHEN distance_km IS NOT NULL AND distance_km <= %(radius)s"
        f" THEN {Reason.NEAR.value} ELSE 0 END"
    )


# The best ``limit`` of the CTE ``ranked`` stored as matches, over the old ones.
UPSERT = """INSERT INTO {match} (task_id, person_id, score, reasons, distance_km, scored_at)
SELECT task_id, person_id, score, reasons, distance_km, %(scored_at)s FROM ranked WHERE 1 = 1
ON CONFLICT (task_id, person_id) DO UPDATE SET
    score = excluded.score, reasons = excluded.reasons,
    distance_km = excluded.distance_km, scored_at = excluded.scored_at"""


def execute(statement: str, params: dict[str, Any]) -> datetime.datetime:
    """Run a scoring statement; returns the time it stamped its matches with."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Compiling this one statement costs seconds and saves none (bench/RESULTS.md).
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(statement, params)
    return params["scored_at"]
