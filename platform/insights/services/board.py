"""The board's figures (tasks, sessions, sign-ups, attendance) and the funnel that joins
them to the registrations, recounted whole in SQL; and the fingerprint that tells when
they may have changed."""

# The SQL here is built from our own table names and constants, never from input.
# ruff: noqa: S608

from __future__ import annotations

import hashlib

from django.db import connection, transaction
from django.utils import timezone

from matching.models import (
    PUBLIC_STATUSES,
    Attendance,
    Session,
    SessionStatus,
    Signup,
    SignupStatus,
    Task,
)

from .. import cells, locks
from ..models import Count, State, Tally
from .sql import _chunks, _roll_up

# The board's areas: (the area's key, what to group by, the area's code) in SQL over a task t.
BOARD_LEVELS = (
    ("'M' || t.municipality_id", "t.municipality_id", "t.municipality_id"),
    ("'P' || t.prefecture_id", "t.prefecture_id", "t.prefecture_id"),
    ("'R' || p.region", "p.region", "p.region"),
    ("'JP'", "1", "'JP'"),
)


def board_recount() -> int:
    """Recount the board's and participation cells (tasks, sessions, sign-ups, attendance,
    the funnel) from the board's rows in SQL; the cells are replaced in one transaction.
    Returns how many cells changed."""
    task, session, signup = Task._meta.db_table, Session._meta.db_table, Signup._meta.db_table
    tally, count = Tally._meta.db_table, Count._meta.db_table
    public = ", ".join(f"'{s}'" for s in PUBLIC_STATUSES)
    live = f"t.status IN ({public}) AND s.status = '{SessionStatus.SCHEDULED}'"
    confirmed = f"u.status = '{SignupStatus.CONFIRMED}'"
    attended = f"u.attendance = '{Attendance.ATTENDED}'"
    no_show = f"u.attendance = '{Attendance.NO_SHOW}'"
    joined = f"{signup} u JOIN {session} s ON s.id = u.session_id JOIN {task} t ON t.id = s.task_id"
    region = "JOIN places_prefecture p ON p.code = t.prefecture_id"
    before = {
        (a, m, k): v
        for a, m, k, v in Count.objects.filter(measure__in=[cells.BOARD, cells.FUNNEL]).values_list(
            "area", "measure", "key", "value"
        )
    }
    with transaction.atomic(), connection.cursor() as cursor:
        locks.lock_state()  # one recount at a time
        Count.objects.filter(measure__in=[cells.BOARD, cells.FUNNEL]).delete()
        # Additive figures per municipality, rolled up.
        sessions = f"{session} s JOIN {task} t ON t.id = s.task_id"
        additive = {
            "tasks": ("COUNT(*)", f"{task} t", f"t.status IN ({public})"),
            "sessions": ("COUNT(*)", sessions, live),
            "seats": ("SUM(s.capacity)", sessions, live),
            "signups": ("COUNT(*)", joined, f"{live} AND {confirmed}"),
            "attended": ("COUNT(*)", joined, f"{live} AND {confirmed} AND {attended}"),
            "no_show": ("COUNT(*)", joined, f"{live} AND {confirmed} AND {no_show}"),
        }
        for key, (figure, source, where) in additive.items():
            cursor.execute(
                f"INSERT INTO {count} (area, measure, key, value) "
                f"SELECT 'M' || t.municipality_id, 'board', '{key}', {figure} FROM {source} "
                f"WHERE {where} GROUP BY t.municipality_id"
            )
        _roll_up(cursor, [cells.BOARD])
        # People who took part, once or more, per area (not additive: counted per level).
        for area, group, _key in BOARD_LEVELS:
            per_person = f"""SELECT {area} AS area, u.person_id, COUNT(*) AS n
                FROM {joined} {region} WHERE {live} AND {confirmed} AND {attended}
                GROUP BY {group}, u.person_id"""
            cursor.execute(
                f"""INSERT INTO {count} (area, measure, key, value)
                SELECT area, 'board', 'participants', COUNT(*) FROM ({per_person}) x
                GROUP BY area
                UNION ALL
                SELECT area, 'board', 'repeaters', COUNT(*) FROM ({per_person}) x
                WHERE n >= 2 GROUP BY area"""
            )
        _funnel_cells(cursor, source=tally, table=count)
        after = {
            (a, m, k): v
            for a, m, k, v in Count.objects.filter(
                measure__in=[cells.BOARD, cells.FUNNEL]
            ).values_list("area", "measure", "key", "value")
        }
        State.objects.filter(id=1).update(
            board_counted_at=timezone.now(),
            board_fingerprint=board_fingerprint(),
            board_due=False,
        )
    return sum(1 for cell in before.keys() | after.keys() if before.get(cell) != after.get(cell))


def _funnel_cells(cursor, *, source: str, table: str) -> None:
    """Into ``table``: the funnel, people registered with the area (its unique people, from
    ``table``'s registration cells) → of them (active in ``source``, the ledger or the part
    of it that is published), those who signed up for a task there → took part → took
    part again."""
    task, session, signup = Task._meta.db_table, Session._meta.db_table, Signup._meta.db_table
    tally, count = source, table
    public = ", ".join(f"'{s}'" for s in PUBLIC_STATUSES)
    live = f"t.status IN ({public}) AND s.status = '{SessionStatus.SCHEDULED}'"
    confirmed = f"u.status = '{SignupStatus.CONFIRMED}'"
    attended = f"u.attendance = '{Attendance.ATTENDED}'"
    joined = f"{signup} u JOIN {session} s ON s.id = u.session_id JOIN {task} t ON t.id = s.task_id"
    region = "JOIN places_prefecture p ON p.code = t.prefecture_id"
    cursor.execute(
        f"""INSERT INTO {count} (area, measure, key, value)
        SELECT area, 'funnel', 'registered', value FROM {count}
        WHERE (measure = 'people' OR (measure = 'reg' AND area LIKE 'M%%')) AND value > 0"""
    )
    for area, group, key in BOARD_LEVELS:
        tie = {
            "t.municipality_id": "tm.code",
            "t.prefecture_id": "tm.prefecture_id",
            "p.region": "tp.region",
            "'JP'": "'JP'",
        }[key]
        took = f"""SELECT u.person_id, {key} AS k, {area} AS area,
                SUM(CASE WHEN {attended} THEN 1 ELSE 0 END) AS n
            FROM {joined} {region} WHERE {live} AND {confirmed}
            GROUP BY u.person_id, {group}"""
        tied = f"""EXISTS (SELECT 1 FROM {tally} r
            JOIN places_municipality tm ON tm.code = r.municipality
            JOIN places_prefecture tp ON tp.code = tm.prefecture_id
            WHERE r.person_id = y.person_id AND r.active AND {tie} = y.k)"""
        cursor.execute(
            f"""SELECT y.area, COUNT(*), SUM(CASE WHEN y.n >= 1 THEN 1 ELSE 0 END),
                SUM(CASE WHEN y.n >= 2 THEN 1 ELSE 0 END)
            FROM ({took}) y WHERE {tied} GROUP BY y.area"""
        )
        rows = [
            (area_key, cells.FUNNEL, stage, value)
            for area_key, *values in cursor.fetchall()
            for stage, value in zip(cells.FUNNEL_KEYS[1:], values, strict=True)
            if value
        ]
        for page in _chunks(rows, 1000):
            values = ", ".join(["(%s, %s, %s, %s)"] * len(page))
            cursor.execute(
                f"INSERT INTO {count} (area, measure, key, value) VALUES {values}",
                [item for row in page for item in row],
            )


def board_fingerprint() -> str:
    """A summary of the board that changes whenever a figure of it may have: its rows'
    counts, newest ids and latest changes (three scans of narrow columns)."""
    public = ", ".join(f"'{s}'" for s in PUBLIC_STATUSES)
    with connection.cursor() as cursor:
        found = []
        for model, figures in (
            (
                Signup,
                "COUNT(*), MAX(id), MAX(confirmed_at), MAX(cancelled_at), "
                "MAX(attendance_marked_at), SUM(CASE WHEN status = 'confirmed' THEN 1 ELSE 0 END)",
            ),
            (
                Task,
                "COUNT(*), MAX(id), MAX(updated_at), "
                f"SUM(CASE WHEN status IN ({public}) THEN 1 ELSE 0 END)",
            ),
            (
                Session,
                "COUNT(*), MAX(id), SUM(capacity), "
                "SUM(CASE WHEN status = 'scheduled' THEN 1 ELSE 0 END)",
            ),
        ):
            cursor.execute(f"SELECT {figures} FROM {model._meta.db_table}")
            found.append("|".join(str(v) for v in cursor.fetchone()))
    return hashlib.sha256(";".join(found).encode()).hexdigest()
