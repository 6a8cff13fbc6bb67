"""The matcher: which people a task suits, how well, and why.

One scorer serves both directions. ``task_rank`` scores the people around a task (run when
it is published or changed, and wider once a session is understaffed); ``person_rank``
scores the live tasks around a person (their recommendations, refreshed when their profile
or registrations change). Each direction first draws candidates on indexes, then scores all
of them in one SQL statement that also stores the best as ``Match`` rows (an upsert):
no Python loop over the population, on PostgreSQL and on the embedded SQLite alike.

Candidates of a task: people registered with its town; people living within the radius
(in a dense area, where they far outnumber the matches kept, only those whose interests or
skills fit);
people living in its prefecture (and, in the wide net, the neighbouring prefectures) who
are interested in its category; in the wide net also everyone registered with a town of
its prefecture. People who signed up already, are too young, or are its host are left out.

The score adds, per ``Reason``: registered with the town 40, returning to the town 15,
registered in its prefecture 10, living in its prefecture 12 or next to it 6, nearness up
to 20 (falling linearly to 0 at the radius), interest 20, a useful skill 10, free on its
days 5 and in its months 5. A match needs 25 (15 in the wide net).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from places import distances
from places.models import Municipality
from places.neighbours import NEIGHBOURS
from registry import flags
from registry.models import (
    AvailableDays,
    Category,
    Month,
    PrefectureRegistration,
    Profile,
    Registration,
    Skill,
)

from .models import LIVE_STATUSES, Attendance, Match, Reason, Session, Signup, Task

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


def _in(name: str, values: Iterable[Any], params: dict[str, Any]) -> str:
    """``(%(name_0)s, %(name_1)s, …)`` for an IN list, with its parameters added."""
    values = list(values)
    if not values:
        return "(NULL)"
    keys = []
    for index, value in enumerate(values):
        params[f"{name}_{index}"] = value
        keys.append(f"%({name}_{index})s")
    return "(" + ", ".join(keys) + ")"


def _tables() -> dict[str, str]:
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


_NEIGHBOUR_ROWS = ", ".join(f"('{a}', '{b}')" for a, bs in NEIGHBOURS.items() for b in bs)
_CATEGORY_BIT = (
    "CASE t.category "
    + " ".join(f"WHEN '{value}' THEN {flags.bit(Category, value)}" for value in Category.values)
    + " ELSE 0 END"
)


def _score_sql(net: Net, limit: int, params: dict[str, Any]) -> str:
    """Score the (task_id, person_id) rows of the CTE ``pairs`` and upsert the best
    ``limit`` as matches. The caller puts ``WITH pairs(task_id, person_id) AS (…)`` first."""
    tables = _tables()
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
    live = _in("live", LIVE_STATUSES, params)
    lat1 = "RADIANS(hm.latitude)"
    lng1 = "RADIANS(hm.longitude)"
    lat2 = "RADIANS(COALESCE(t.latitude, tm.latitude))"
    lng2 = "RADIANS(COALESCE(t.longitude, tm.longitude))"
    haversine = (
        f"POWER(SIN(({lat2} - {lat1}) / 2), 2)"
        f" + COS({lat1}) * COS({lat2}) * POWER(SIN(({lng2} - {lng1}) / 2), 2)"
    )
    distance = (
        f"CASE WHEN t.is_online THEN NULL ELSE %(earth)s * ASIN(SQRT("
        f"CASE WHEN {haversine} > 1 THEN 1 ELSE {haversine} END)) END"
    )
    R = Reason
    reasons = " + ".join(
        [
            f"CASE WHEN rg.id IS NOT NULL THEN {R.REGISTERED.value} ELSE 0 END",
            f"""CASE WHEN pr.id IS NOT NULL AND rg.id IS NULL
                THEN {R.PREFECTURE_REGISTERED.value} ELSE 0 END""",
            f"CASE WHEN hm.prefecture_id = t.prefecture_id"
            f" THEN {R.SAME_PREFECTURE.value} ELSE 0 END",
            f"""CASE WHEN EXISTS (SELECT 1 FROM neighbours nb WHERE nb.a = t.prefecture_id
                AND nb.b = hm.prefecture_id) THEN {R.NEIGHBOUR_PREFECTURE.value} ELSE 0 END""",
            f"CASE WHEN (p.interests & ({_CATEGORY_BIT})) <> 0 THEN {R.INTEREST.value} ELSE 0 END",
            f"CASE WHEN (p.skills & t.skills) <> 0 THEN {R.SKILL.value} ELSE 0 END",
            f"CASE WHEN (p.available_days & t.session_days) <> 0 THEN {R.DAYS.value} ELSE 0 END",
            f"CASE WHEN (p.available_months & t.session_months) <> 0"
            f" THEN {R.MONTH.value} ELSE 0 END",
            f"""CASE WHEN EXISTS (SELECT 1 FROM {tables["signup"]} s
                JOIN {tables["session"]} se ON se.id = s.session_id
                JOIN {tables["task"]} t2 ON t2.id = se.task_id
                WHERE s.person_id = pairs.person_id AND s.attendance = %(attended)s
                AND t2.municipality_id = t.municipality_id) THEN {R.RETURNING.value} ELSE 0 END""",
        ]
    )
    weights = " + ".join(
        f"CASE WHEN (reasons & {reason.value}) <> 0 THEN {weight} ELSE 0 END"
        for reason, weight in WEIGHTS.items()
    )
    near = (
        f"CASE WHEN distance_km IS NOT NULL AND distance_km <= %(radius)s"
        f" THEN {NEAR_WEIGHT} * (1.0 - distance_km / %(radius)s) ELSE 0 END"
    )
    return f""",
neighbours(a, b) AS (VALUES {_NEIGHBOUR_ROWS}),
facts AS MATERIALIZED (
    SELECT pairs.task_id, pairs.person_id, ({distance}) AS distance_km, ({reasons}) AS reasons
    FROM pairs
    JOIN {tables["task"]} t ON t.id = pairs.task_id
    JOIN {tables["municipality"]} tm ON tm.code = t.municipality_id
    JOIN {tables["profile"]} p ON p.user_id = pairs.person_id
    LEFT JOIN {tables["municipality"]} hm ON hm.code = p.home_municipality_id
    JOIN {tables["user"]} u ON u.id = pairs.person_id
    -- At most one row each: one active registration per place and per prefecture.
    LEFT JOIN {tables["registration"]} rg ON rg.person_id = pairs.person_id
        AND rg.municipality_id = t.municipality_id AND rg.status = %(active)s
    LEFT JOIN {tables["prefreg"]} pr ON pr.person_id = pairs.person_id
        AND pr.prefecture_id = t.prefecture_id AND pr.status = %(active)s
    -- People signed up already, found once for all the pairs' tasks (a hash anti-join).
    LEFT JOIN (
        SELECT DISTINCT se.task_id, s.person_id
        FROM {tables["signup"]} s JOIN {tables["session"]} se ON se.id = s.session_id
        WHERE s.status IN {live} AND se.task_id IN (SELECT task_id FROM pairs)
    ) taken ON taken.task_id = pairs.task_id AND taken.person_id = pairs.person_id
    WHERE u.is_active AND u.deleted_at IS NULL AND taken.person_id IS NULL
      AND (t.host_id IS NULL OR t.host_id <> pairs.person_id)
      AND (COALESCE(t.minimum_age, 0) = 0
           OR (p.birth_year IS NOT NULL AND %(year)s - p.birth_year >= t.minimum_age))
),
scored AS (
    SELECT task_id, person_id, distance_km,
        reasons + (CASE WHEN distance_km IS NOT NULL AND distance_km <= %(radius)s
                   THEN {Reason.NEAR.value} ELSE 0 END) AS reasons,
        ({weights}) + ({near}) AS score
    FROM facts
),
ranked AS (
    SELECT task_id, person_id, score, reasons, distance_km
    FROM scored WHERE score >= %(min_score)s
    ORDER BY score DESC, person_id, task_id
    LIMIT %(limit)s
)
INSERT INTO {tables["match"]} (task_id, person_id, score, reasons, distance_km, scored_at)
SELECT task_id, person_id, score, reasons, distance_km, %(scored_at)s FROM ranked WHERE 1 = 1
ON CONFLICT (task_id, person_id) DO UPDATE SET
    score = excluded.score, reasons = excluded.reasons,
    distance_km = excluded.distance_km, scored_at = excluded.scored_at
"""


def _run(pairs_sql: str, net: Net, limit: int, params: dict[str, Any]) -> datetime.datetime:
    sql = f"WITH pairs(task_id, person_id) AS ({pairs_sql})" + _score_sql(net, limit, params)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Compiling this one statement costs seconds and saves none (bench/RESULTS.md).
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, params)
    return params["scored_at"]


def task_rank(task: Task, *, wave: int = 1) -> int:
    """Score the people around ``task`` and store its best ``MATCHING_MATCHES_PER_TASK``
    matches; matches of earlier runs that no longer hold and were never told go. Returns
    how many matches the task has."""
    net = Net.of(wave)
    tables = _tables()
    prefectures = [task.prefecture_id]
    if net.wave >= 2:
        prefectures += list(NEIGHBOURS[task.prefecture_id])
    params: dict[str, Any] = {
        "task": task.pk,
        "muni": task.municipality_id,
        "pref": task.prefecture_id,
        "catbit": flags.bit(Category, task.category),
        "active_status": "active",
    }
    arms = [
        f"""SELECT %(task)s, person_id FROM {tables["registration"]}
            WHERE municipality_id = %(muni)s AND status = %(active_status)s""",
        f"""SELECT %(task)s, p.user_id FROM {tables["profile"]} p
            JOIN {tables["municipality"]} m ON m.code = p.home_municipality_id
            WHERE m.prefecture_id IN {_in("prefs", prefectures, params)}
            AND (p.interests & %(catbit)s) <> 0""",
    ]
    if not task.is_online:
        near = distances.within_km(task.municipality_id, net.radius_km)
        fit = ""
        # In a dense area everyone nearby is far more people than the matches kept; there
        # only those whose interests or skills fit can reach the top, so only they are drawn.
        if (
            Profile.objects.filter(home_municipality_id__in=list(near)).count()
            > DENSE_FACTOR * settings.MATCHING_MATCHES_PER_TASK
        ):
            params["skills"] = task.skills
            fit = "AND ((interests & %(catbit)s) <> 0 OR (skills & %(skills)s) <> 0)"
        arms.append(
            f"""SELECT %(task)s, user_id FROM {tables["profile"]}
                WHERE home_municipality_id IN {_in("near", near, params)} {fit}"""
        )
    if net.wave >= 2:
        arms.append(
            f"""SELECT %(task)s, person_id FROM {tables["prefreg"]}
                WHERE prefecture_id = %(pref)s AND status = %(active_status)s"""
        )
    with transaction.atomic():
        scored_at = _run(" UNION ".join(arms), net, settings.MATCHING_MATCHES_PER_TASK, params)
        Match.objects.filter(task=task, notified_at__isnull=True, scored_at__lt=scored_at).delete()
    return Match.objects.filter(task=task).count()


def person_rank(person: User) -> int:
    """Score the live tasks around ``person`` and store their best
    ``MATCHING_RECOMMENDATIONS_PER_PERSON`` as matches (their recommendations); stale ones
    that were never told go. Returns how many recommendations they have."""
    profile = Profile.objects.filter(user=person).select_related("home_municipality").first()
    if profile is None or profile.home_municipality_id is None:
        return 0
    tables = _tables()
    now = timezone.now()
    home = profile.home_municipality
    params: dict[str, Any] = {
        "person": person.pk,
        "now": now,
        "published": "published",
        "home_pref": home.prefecture_id,
        "active_status": "active",
    }
    interests = flags.values_of(Category, profile.interests)
    near = distances.within_km(home.code, settings.MATCHING_RADIUS_KM)
    live = f"""SELECT t.id, %(person)s FROM {tables["task"]} t
        WHERE t.status = %(published)s AND t.signup_closes_at > %(now)s"""
    # A union of indexed reads (by municipality, by prefecture), not a scan of the board.
    pairs = " UNION ".join(
        [
            f"""{live} AND t.municipality_id IN (
                SELECT municipality_id FROM {tables["registration"]}
                WHERE person_id = %(person)s AND status = %(active_status)s)""",
            f"{live} AND t.municipality_id IN {_in('near', near, params)}",
            f"""{live} AND t.prefecture_id = %(home_pref)s
                AND t.category IN {_in("cats", interests, params)}""",
        ]
    )
    with transaction.atomic():
        scored_at = _run(pairs, Net.of(1), settings.MATCHING_RECOMMENDATIONS_PER_PERSON, params)
        Match.objects.filter(
            person=person, notified_at__isnull=True, scored_at__lt=scored_at
        ).delete()
    return Match.objects.filter(person=person).count()


# --- Reasons as people read them ----------------------------------------------------------


def reason_codes(match: Match, task: Task, profile: Profile | None) -> list[list[Any]]:
    """The reasons of ``match`` as JSON (code and detail), for a notification's context or
    the API; ``reason_texts`` words them in the reader's language."""
    reasons = Reason(match.reasons)
    municipality = task.municipality
    prefecture_name = task.prefecture.name
    codes: list[list[Any]] = []
    if Reason.REGISTERED in reasons:
        codes.append(["registered", municipality.name])
    if Reason.RETURNING in reasons:
        codes.append(["returning", municipality.name])
    if Reason.PREFECTURE_REGISTERED in reasons:
        codes.append(["prefecture_registered", prefecture_name])
    if match.distance_km is not None and Reason.NEAR in reasons:
        codes.append(["near", round(match.distance_km)])
    if Reason.SAME_PREFECTURE in reasons:
        codes.append(["same_prefecture", prefecture_name])
    elif Reason.NEIGHBOUR_PREFECTURE in reasons:
        codes.append(["neighbour_prefecture", prefecture_name])
    if Reason.INTEREST in reasons:
        codes.append(["interest", task.category])
    if Reason.SKILL in reasons and profile is not None:
        codes.append(["skill", flags.values_of(Skill, task.skills & profile.skills)])
    if Reason.DAYS in reasons and profile is not None:
        codes.append(
            ["days", flags.values_of(AvailableDays, task.session_days & profile.available_days)]
        )
    if Reason.MONTH in reasons and profile is not None:
        codes.append(
            ["month", flags.values_of(Month, task.session_months & profile.available_months)]
        )
    return codes


def reason_texts(codes: Iterable[Iterable[Any]]) -> list[str]:
    """Reason codes worded in the active language: "registered with 飛騨市", …"""
    labels = {
        "interest": dict(Category.choices),
        "skill": dict(Skill.choices),
        "days": dict(AvailableDays.choices),
        "month": dict(Month.choices),
    }
    texts = []
    for code, detail in codes:
        if code == "registered":
            texts.append(_("%(name)sにふるさと住民登録しています") % {"name": detail})
        elif code == "returning":
            texts.append(_("%(name)sのお手伝いに参加したことがあります") % {"name": detail})
        elif code == "prefecture_registered":
            texts.append(_("%(name)sの市町村に登録しています") % {"name": detail})
        elif code == "near":
            texts.append(_("ご自宅から約%(km)s km") % {"km": detail})
        elif code == "same_prefecture":
            texts.append(_("お住まいの%(name)sのお手伝いです") % {"name": detail})
        elif code == "neighbour_prefecture":
            texts.append(_("お住まいのとなりの%(name)sのお手伝いです") % {"name": detail})
        elif code in labels:
            values = detail if isinstance(detail, list) else [detail]
            # Translators: what separates the items of a list ("、" in Japanese).
            words = _("、").join(str(labels[code].get(value, value)) for value in values)
            texts.append(
                {
                    "interest": _("関心のある分野: %(labels)s"),
                    "skill": _("できることが活かせます: %(labels)s"),
                    "days": _("参加しやすい日です: %(labels)s"),
                    "month": _("参加しやすい月です: %(labels)s"),
                }[code]
                % {"labels": words}
            )
    return texts
