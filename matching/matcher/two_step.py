"""A task's people ranked in two steps, so that the densest town is bounded.

Step 1 scores every candidate from what costs no probe: the profile columns (read with the
candidates themselves, from ``registry_profile_home_idx`` alone), the home municipality
(distance and prefecture, worked out once per municipality), and three sets found once for
the task: its town's registrants, the people who took part in its town before (its town's
attended sign-ups: as many as the town's past, not the population) and the people signed up
for it already. That gives each candidate a score they reach for sure (``sure``) and the
best they can reach (``best``): ``sure`` plus what step 2 could add, the registration with
another town of the prefecture (counted only for people not registered with the town).

The ``limit``-th best ``sure`` among people whose account is active is a bar: whoever's
``best`` is below it is beaten by ``limit`` people and cannot be among the top. Step 2
probes the others only, one index lookup each: their registration with the prefecture,
which gives their score; then the account of the best of them (``limit`` and a margin; all
of them only if too many of those have closed theirs). They are ranked as the one-step
statement ranks: the same scores, reasons and order (``one_step.task_rank_exhaustive``; the
tests compare the two on the same data).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction

from places.models import Municipality
from registry import flags
from registry.models import Category

from ..models import LIVE_STATUSES, Match, Reason, Task
from .sql import (
    AGE_FITS,
    NEIGHBOUR_ROWS,
    UPSERT,
    WEIGHTS,
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

# What each candidate carries into step 1: their profile's columns and what their home
# tells (``homes``).
_COLUMNS = (
    "p.user_id AS person_id, p.birth_year, p.interests, p.skills, p.available_days,"
    " p.available_months, h.distance_km, h.near, h.reasons AS place_reasons"
)


def _candidates(task: Task, net: Net, params: dict[str, Any]) -> str:
    """A task's candidates, each once: the people of each municipality around it, read
    municipality by municipality with its own condition (near: everyone, or in a dense area
    those whose interests or skills fit; farther in the prefectures: those interested in the
    category), then the registrants whom these reads did not find."""
    table = tables()
    profile = table["profile"]
    near, dense = net.around(task)
    farther = (
        Municipality.objects.filter(prefecture_id__in=net.prefectures(task))
        .exclude(code__in=near)
        .values_list("code", flat=True)
    )
    params["skills"] = task.skills
    near_in = in_list("near", near, params)
    farther_in = in_list("farther", farther, params)
    fit = "((p.interests & %(catbit)s) <> 0 OR (p.skills & %(skills)s) <> 0)" if dense else "TRUE"
    interested = "(p.interests & %(catbit)s) <> 0"
    found = (
        f"(p.home_municipality_id IN {near_in} AND {fit})"
        f" OR (p.home_municipality_id IN {farther_in} AND {interested})"
    )
    # Each registrant once (one active registration per place and per prefecture).
    registrants = "registered"
    if net.wave >= 2:
        registrants = (
            "(SELECT person_id FROM registered UNION SELECT person_id FROM prefecture_registered)"
        )
    return f"""SELECT {_COLUMNS} FROM homes h
        JOIN {profile} p ON p.home_municipality_id = h.code
        WHERE h.code IN {near_in} AND {fit}
    UNION ALL
    SELECT {_COLUMNS} FROM homes h
        JOIN {profile} p ON p.home_municipality_id = h.code
        WHERE h.code IN {farther_in} AND {interested}
    UNION ALL
    SELECT {_COLUMNS} FROM {registrants} r
        JOIN {profile} p ON p.user_id = r.person_id
        LEFT JOIN homes h ON h.code = p.home_municipality_id
        WHERE NOT COALESCE({found}, FALSE)"""


def _two_step_sql(task: Task, net: Net, limit: int, params: dict[str, Any]) -> str:
    """The statement: score ``task``'s candidates in two steps and upsert the best
    ``limit`` as matches."""
    table = tables()
    common_params(net, limit, params)
    params.update(
        task=task.pk,
        muni=task.municipality_id,
        pref=task.prefecture_id,
        catbit=flags.bit(Category, task.category),
        # The bar is read among the best of step 1, a margin over ``limit`` for the people
        # whose account is not active.
        head=limit + limit // 4 + 10,
        last=max(limit - 1, 0),
    )
    live = in_list("live", LIVE_STATUSES, params)
    # Scalar subqueries, not EXISTS: PostgreSQL may turn an EXISTS into a hash of the whole
    # table, where these stay one index lookup per person.
    active = f"""(SELECT u.is_active AND u.deleted_at IS NULL FROM {table["user"]} u
        WHERE u.id = {{person}})"""
    registered = Reason.REGISTERED.value
    wide = ""
    if net.wave >= 2:
        wide = f"""
prefecture_registered AS MATERIALIZED (
    SELECT person_id FROM {table["prefreg"]}
    WHERE prefecture_id = %(pref)s AND status = %(active)s
),"""
    return f"""WITH registered AS MATERIALIZED (
    -- In id order: their profiles are then read in the order they lie in.
    SELECT person_id FROM {table["registration"]}
    WHERE municipality_id = %(muni)s AND status = %(active)s ORDER BY person_id
),{wide}
taken AS MATERIALIZED (
    SELECT s.person_id
    FROM {table["signup"]} s JOIN {table["session"]} se ON se.id = s.session_id
    WHERE se.task_id = %(task)s AND s.status IN {live}
),
returners AS MATERIALIZED (
    SELECT s.person_id
    FROM {table["signup"]} s JOIN {table["session"]} se ON se.id = s.session_id
    JOIN {table["task"]} t2 ON t2.id = se.task_id
    WHERE t2.municipality_id = %(muni)s AND s.attendance = %(attended)s
),
neighbours(a, b) AS (VALUES {NEIGHBOUR_ROWS}),
-- What a home tells, once per municipality: the distance, nearness and the prefecture.
homes AS MATERIALIZED (
    SELECT code, distance_km, reasons + ({near_reason_sql()}) AS reasons, ({near_sql()}) AS near
    FROM (
        SELECT hm.code, ({distance_sql()}) AS distance_km, {place_reasons()} AS reasons
        FROM {table["municipality"]} hm
        JOIN {table["task"]} t ON t.id = %(task)s
        JOIN {table["municipality"]} tm ON tm.code = t.municipality_id
    ) place
),
candidates AS ({_candidates(task, net, params)}),
-- Step 1, for every candidate: what costs no probe (materialized: each weight below reads
-- the reasons, worked out once), then a score reached for sure and the best reachable.
told AS MATERIALIZED (
    SELECT p.person_id, p.distance_km, COALESCE(p.near, 0) AS near,
        COALESCE(p.place_reasons, 0)
        + CASE WHEN p.person_id IN (SELECT person_id FROM registered)
            THEN {registered} ELSE 0 END
        + CASE WHEN p.person_id IN (SELECT person_id FROM returners)
            THEN {Reason.RETURNING.value} ELSE 0 END
        + {person_reasons("%(catbit)s")} AS reasons
    FROM candidates p
    JOIN {table["task"]} t ON t.id = %(task)s
    WHERE p.person_id NOT IN (SELECT person_id FROM taken)
      AND (t.host_id IS NULL OR t.host_id <> p.person_id)
      AND {AGE_FITS}
),
bounds AS MATERIALIZED (
    SELECT person_id, distance_km, near, reasons, ({weights_sql()}) + near AS sure,
        ({weights_sql()} + CASE WHEN (reasons & {registered}) = 0
            THEN {WEIGHTS[Reason.PREFECTURE_REGISTERED]} ELSE 0 END) + near AS best
    FROM told
),
-- The bar: the limit-th best sure score of people whose account is active.
head AS MATERIALIZED (
    SELECT person_id, sure, {active.format(person="best_sure.person_id")} AS active
    FROM (SELECT person_id, sure FROM bounds ORDER BY sure DESC, person_id LIMIT %(head)s)
        best_sure
),
bar AS (SELECT sure FROM head WHERE active ORDER BY sure DESC LIMIT 1 OFFSET %(last)s),
-- Step 2: the probes, for the people who can still reach the top only: their registration
-- with the prefecture (in id order, so that the index is read in order), then their
-- account, for the best of them only (again, an account read for the bar is not read).
contenders AS MATERIALIZED (
    SELECT person_id, distance_km, near, reasons FROM bounds
    WHERE best >= %(min_score)s AND best >= COALESCE((SELECT sure FROM bar), %(min_score)s)
    ORDER BY person_id
),
facts AS MATERIALIZED (
    SELECT person_id, distance_km, near, reasons + CASE WHEN (reasons & {registered}) = 0 AND (
            SELECT 1 FROM {table["prefreg"]} pr WHERE pr.person_id = c.person_id
            AND pr.prefecture_id = %(pref)s AND pr.status = %(active)s) IS NOT NULL
        THEN {Reason.PREFECTURE_REGISTERED.value} ELSE 0 END AS reasons
    FROM contenders c
),
scored AS (
    SELECT person_id, distance_km, reasons, ({weights_sql()}) + near AS score
    FROM facts WHERE ({weights_sql()}) + near >= %(min_score)s
),
leaders AS MATERIALIZED (
    SELECT s.person_id, s.distance_km, s.reasons, s.score,
        COALESCE(hd.active, {active.format(person="s.person_id")}) AS active
    FROM (SELECT * FROM scored ORDER BY score DESC, person_id LIMIT %(head)s) s
    LEFT JOIN head hd ON hd.person_id = s.person_id
),
ranked AS (
    SELECT %(task)s AS task_id, person_id, score, reasons, distance_km
    FROM (
        SELECT person_id, distance_km, reasons, score FROM leaders WHERE active
        -- Only if too many of the best have closed their account: everyone else, probed.
        UNION ALL
        SELECT person_id, distance_km, reasons, score FROM scored
        WHERE (SELECT COUNT(*) FROM leaders WHERE active) < %(limit)s
          AND person_id NOT IN (SELECT person_id FROM leaders)
          AND {active.format(person="scored.person_id")}
    ) eligible
    ORDER BY score DESC, person_id
    LIMIT %(limit)s
)
{UPSERT.format(match=table["match"])}"""


def task_rank(task: Task, *, wave: int = 1) -> int:
    """Score the people around ``task`` and store its best ``MATCHING_MATCHES_PER_TASK``
    matches; matches of earlier runs that no longer hold and were never told go. Returns
    how many matches the task has."""
    net = Net.of(wave)
    params: dict[str, Any] = {}
    statement = _two_step_sql(task, net, settings.MATCHING_MATCHES_PER_TASK, params)
    with transaction.atomic():
        scored_at = execute(statement, params)
        Match.objects.filter(task=task, notified_at__isnull=True, scored_at__lt=scored_at).delete()
    return Match.objects.filter(task=task).count()
