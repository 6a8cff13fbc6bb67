"""Scoring in one step: every (task, person) pair of a CTE ``pairs`` in full, each probe
made for each pair. It serves ``person_rank`` (a person's few hundred live tasks around
them) and is the reference that a task's two-step ranking equals
(``task_rank_exhaustive``: the tests compare the two, ``bench/match_bench.py`` times both).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from places import distances
from registry import flags
from registry.models import Category, Profile

from ..models import LIVE_STATUSES, Match, Reason, Task
from .sql import (
    AGE_FITS,
    NEIGHBOUR_ROWS,
    UPSERT,
    Net,
    common_params,
    distance_sql,
    execute,
    in_list,
    near_reason_sql,
    near_sql,
    person_reasons,
    place_reasons,
    tables,
    weights_sql,
)


def _score_sql(net: Net, limit: int, params: dict[str, Any]) -> str:
    """Score the (task_id, person_id) rows of the CTE ``pairs`` and upsert the best
    ``limit`` as matches. The caller puts ``WITH pairs(task_id, person_id) AS (…)`` first."""
    table = tables()
    common_params(net, limit, params)
    live = in_list("live", LIVE_STATUSES, params)
    returning = f"""EXISTS (SELECT 1 FROM {table["signup"]} s
        JOIN {table["session"]} se ON se.id = s.session_id
        JOIN {table["task"]} t2 ON t2.id = se.task_id
        WHERE s.person_id = pairs.person_id AND s.attendance = %(attended)s
        AND t2.municipality_id = t.municipality_id)"""
    reasons = " + ".join(
        [
            f"CASE WHEN rg.id IS NOT NULL THEN {Reason.REGISTERED.value} ELSE 0 END",
            f"""CASE WHEN pr.id IS NOT NULL AND rg.id IS NULL
                THEN {Reason.PREFECTURE_REGISTERED.value} ELSE 0 END""",
            place_reasons(),
            person_reasons(),
            f"CASE WHEN {returning} THEN {Reason.RETURNING.value} ELSE 0 END",
        ]
    )
    return f""",
neighbours(a, b) AS (VALUES {NEIGHBOUR_ROWS}),
facts AS MATERIALIZED (
    SELECT pairs.task_id, pairs.person_id, ({distance_sql()}) AS distance_km,
        ({reasons}) AS reasons
    FROM pairs
    JOIN {table["task"]} t ON t.id = pairs.task_id
    JOIN {table["municipality"]} tm ON tm.code = t.municipality_id
    JOIN {table["profile"]} p ON p.user_id = pairs.person_id
    LEFT JOIN {table["municipality"]} hm ON hm.code = p.home_municipality_id
    JOIN {table["user"]} u ON u.id = pairs.person_id
    -- At most one row each: one active registration per place and per prefecture.
    LEFT JOIN {table["registration"]} rg ON rg.person_id = pairs.person_id
        AND rg.municipality_id = t.municipality_id AND rg.status = %(active)s
    LEFT JOIN {table["prefreg"]} pr ON pr.person_id = pairs.person_id
        AND pr.prefecture_id = t.prefecture_id AND pr.status = %(active)s
    -- People signed up already, found once for all the pairs' tasks (a hash anti-join).
    LEFT JOIN (
        SELECT DISTINCT se.task_id, s.person_id
        FROM {table["signup"]} s JOIN {table["session"]} se ON se.id = s.session_id
        WHERE s.status IN {live} AND se.task_id IN (SELECT task_id FROM pairs)
    ) taken ON taken.task_id = pairs.task_id AND taken.person_id = pairs.person_id
    WHERE u.is_active AND u.deleted_at IS NULL AND taken.person_id IS NULL
      AND (t.host_id IS NULL OR t.host_id <> pairs.person_id)
      AND {AGE_FITS}
),
scored AS (
    SELECT task_id, person_id, distance_km, reasons + ({near_reason_sql()}) AS reasons,
        ({weights_sql()}) + ({near_sql()}) AS score
    FROM facts
),
ranked AS (
    SELECT task_id, person_id, score, reasons, distance_km
    FROM scored WHERE score >= %(min_score)s
    ORDER BY score DESC, person_id, task_id
    LIMIT %(limit)s
)
{UPSERT.format(match=table["match"])}"""


def _run(pairs_sql: str, net: Net, limit: int, params: dict[str, Any]):
    statement = f"WITH pairs(task_id, person_id) AS ({pairs_sql})" + _score_sql(net, limit, params)
    return execute(statement, params)


def _task_pairs(task: Task, net: Net, params: dict[str, Any]) -> str:
    """A task's candidates as (task_id, person_id) rows: a UNION of indexed reads."""
    table = tables()
    params.update(
        task=task.pk,
        muni=task.municipality_id,
        pref=task.prefecture_id,
        catbit=flags.bit(Category, task.category),
        active_status="active",
    )
    arms = [
        f"""SELECT %(task)s, person_id FROM {table["registration"]}
            WHERE municipality_id = %(muni)s AND status = %(active_status)s""",
        f"""SELECT %(task)s, p.user_id FROM {table["profile"]} p
            JOIN {table["municipality"]} m ON m.code = p.home_municipality_id
            WHERE m.prefecture_id IN {in_list("prefs", net.prefectures(task), params)}
            AND (p.interests & %(catbit)s) <> 0""",
    ]
    near, dense = net.around(task)
    if near:
        fit = ""
        if dense:
            params["skills"] = task.skills
            fit = "AND ((p.interests & %(catbit)s) <> 0 OR (p.skills & %(skills)s) <> 0)"
        arms.append(
            f"""SELECT %(task)s, p.user_id FROM {table["profile"]} p
                WHERE p.home_municipality_id IN {in_list("near", near, params)} {fit}"""
        )
    if net.wave >= 2:
        arms.append(
            f"""SELECT %(task)s, person_id FROM {table["prefreg"]}
                WHERE prefecture_id = %(pref)s AND status = %(active_status)s"""
        )
    return " UNION ".join(arms)


def task_rank_exhaustive(task: Task, *, wave: int = 1) -> int:
    """``task_rank`` with every candidate scored in full, in one step: the matcher as it
    was, and the reference that the two-step ranking equals. Same matches stored, same
    return value."""
    net = Net.of(wave)
    params: dict[str, Any] = {}
    pairs = _task_pairs(task, net, params)
    with transaction.atomic():
        scored_at = _run(pairs, net, settings.MATCHING_MATCHES_PER_TASK, params)
        Match.objects.filter(task=task, notified_at__isnull=True, scored_at__lt=scored_at).delete()
    return Match.objects.filter(task=task).count()


def person_rank(person: User) -> int:
    """Score the live tasks around ``person`` and store their best
    ``MATCHING_RECOMMENDATIONS_PER_PERSON`` as matches (their recommendations); stale ones
    that were never told go. Returns how many recommendations they have."""
    profile = Profile.objects.filter(user=person).select_related("home_municipality").first()
    if profile is None or profile.home_municipality_id is None:
        return 0
    table = tables()
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
    live = f"""SELECT t.id, %(person)s FROM {table["task"]} t
        WHERE t.status = %(published)s AND t.signup_closes_at > %(now)s"""
    # A union of indexed reads (by municipality, by prefecture), not a scan of the board.
    pairs = " UNION ".join(
        [
            f"""{live} AND t.municipality_id IN (
                SELECT municipality_id FROM {table["registration"]}
                WHERE person_id = %(person)s AND status = %(active_status)s)""",
            f"{live} AND t.municipality_id IN {in_list('near', near, params)}",
            f"""{live} AND t.prefecture_id = %(home_pref)s
                AND t.category IN {in_list("cats", interests, params)}""",
        ]
    )
    with transaction.atomic():
        scored_at = _run(pairs, Net.of(1), settings.MATCHING_RECOMMENDATIONS_PER_PERSON, params)
        Match.objects.filter(
            person=person, notified_at__isnull=True, scored_at__lt=scored_at
        ).delete()
    return Match.objects.filter(person=person).count()
