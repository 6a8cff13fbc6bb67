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
from ..models import BoardChange, Count, State, Tally, Took
from .sql import _chunks, _roll_up

# The board's areas: (the area's key, what to group by, the area's code) in SQL over a task t.
BOARD_LEVELS = (
    ("'M' || t.municipality_id", "t.municipality_id", "t.municipality_id"),
    ("'P' || t.prefecture_id", "t.prefecture_id", "t.prefecture_id"),
    ("'R' || p.region", "p.region", "p.region"),
    ("'JP'", "1", "'JP'"),
)

_PUBLIC = ", ".join(f"'{s}'" for s in PUBLIC_STATUSES)
# A session counts while its task is public and it is scheduled; a sign-up while confirmed.
LIVE = f"t.status IN ({_PUBLIC}) AND s.status = '{SessionStatus.SCHEDULED}'"
CONFIRMED = f"u.status = '{SignupStatus.CONFIRMED}'"
_SESSIONS = f"{Session._meta.db_table} s JOIN {Task._meta.db_table} t ON t.id = s.task_id"
_SIGNUPS = f"{Signup._meta.db_table} u JOIN {_SESSIONS} ON s.id = u.session_id"
# The board's own figures per municipality (the tasks': what it offers): (figure, rows, which).
_PLACES = {
    "tasks": ("COUNT(*)", f"{Task._meta.db_table} t", f"t.status IN ({_PUBLIC})"),
    "sessions": ("COUNT(*)", _SESSIONS, LIVE),
    "seats": ("SUM(s.capacity)", _SESSIONS, LIVE),
}
PLACES_KEYS = tuple(_PLACES)
# The ledger's areas: (the area's key, what to group by, the tie's bit) over a row k of
# ``Took`` joined to its prefecture p.
TOOK_LEVELS = (
    ("'M' || k.municipality", "k.municipality", Took.TIED_MUNICIPALITY),
    ("'P' || k.prefecture", "k.prefecture", Took.TIED_PREFECTURE),
    ("'R' || p.region", "p.region", Took.TIED_REGION),
    ("'JP'", "1", Took.TIED_NATION),
)
# The funnel's first step: the people registered with the area (a town's registrations).
REGISTERED_SOURCE = "key = '' AND (measure = 'people' OR (measure = 'reg' AND area LIKE 'M%%'))"


def took_rows_sql(where: str = "") -> str:
    """Each person's confirmed sign-ups of live sessions per municipality of the task, with
    how many were attended and missed (``Took``'s columns but the ties)."""
    attended = f"CASE WHEN u.attendance = '{Attendance.ATTENDED}' THEN 1 ELSE 0 END"
    no_show = f"CASE WHEN u.attendance = '{Attendance.NO_SHOW}' THEN 1 ELSE 0 END"
    return f"""SELECT u.person_id, t.municipality_id AS m, t.prefecture_id AS pf,
            COUNT(*) AS signups, SUM({attended}) AS attended, SUM({no_show}) AS no_show
        FROM {_SIGNUPS} WHERE {LIVE} AND {CONFIRMED} {where}
        GROUP BY u.person_id, t.municipality_id, t.prefecture_id"""


def _took_sql() -> str:
    """The ledger of the board in one statement: ``took_rows_sql`` with the ties (an active
    registration with the task's municipality, prefecture, region, anywhere)."""
    tally = Tally._meta.db_table
    mine = f"FROM {tally} r WHERE r.person_id = y.person_id AND r.active"
    town = f"FROM {tally} r JOIN places_municipality tm ON tm.code = r.municipality"
    town += " WHERE r.person_id = y.person_id AND r.active"
    region = f"""FROM {tally} r JOIN places_municipality tm ON tm.code = r.municipality
        JOIN places_prefecture tp ON tp.code = tm.prefecture_id
        WHERE r.person_id = y.person_id AND r.active AND tp.region = p.region"""
    bits = (
        f"CASE WHEN NOT EXISTS (SELECT 1 {mine}) THEN 0 ELSE {Took.TIED_NATION}"
        f" + CASE WHEN EXISTS (SELECT 1 {mine} AND r.municipality = y.m)"
        f" THEN {Took.TIED_MUNICIPALITY} ELSE 0 END"
        f" + CASE WHEN EXISTS (SELECT 1 {town} AND tm.prefecture_id = y.pf)"
        f" THEN {Took.TIED_PREFECTURE} ELSE 0 END"
        f" + CASE WHEN EXISTS (SELECT 1 {region}) THEN {Took.TIED_REGION} ELSE 0 END END"
    )
    return f"""INSERT INTO {Took._meta.db_table}
            (person_id, municipality, prefecture, signups, attended, no_show, tied)
        SELECT y.person_id, y.m, y.pf, y.signups, y.attended, y.no_show, {bits}
        FROM ({took_rows_sql()}) y JOIN places_prefecture p ON p.code = y.pf"""


def board_recount() -> int:
    """Recount the board's and participation cells (tasks, sessions, sign-ups, attendance,
    the funnel) from the board's rows in SQL, through the board's ledger (``Took``, made
    afresh); the cells are replaced in one transaction, and the board's change feed read so
    far is spent (what is written meanwhile stays in it for the next update, which counts
    it again against the ledger: harmless). Returns how many cells changed."""
    count, took = Count._meta.db_table, Took._meta.db_table
    before = {
        (a, m, k): v
        for a, m, k, v in Count.objects.filter(measure__in=[cells.BOARD, cells.FUNNEL]).values_list(
            "area", "measure", "key", "value"
        )
    }
    with transaction.atomic(), connection.cursor() as cursor:
        locks.lock_state()  # one recount at a time
        # First: a change committed after this is still in the feed when the recount ends.
        BoardChange.objects.all().delete()
        Count.objects.filter(measure__in=[cells.BOARD, cells.FUNNEL]).delete()
        for key, (figure, source, where) in _PLACES.items():
            cursor.execute(
                f"INSERT INTO {count} (area, measure, key, value) "
                f"SELECT 'M' || t.municipality_id, 'board', '{key}', {figure} FROM {source} "
                f"WHERE {where} GROUP BY t.municipality_id"
            )
        if connection.vendor == "postgresql":  # no dead rows left for a vacuum (rebuild's)
            cursor.execute(f"TRUNCATE {took}")
        else:
            Took.objects.all().delete()
        cursor.execute(_took_sql())
        # What people did, per municipality, from the ledger; then everything rolled up.
        for key in ("signups", "attended", "no_show"):
            cursor.execute(
                f"INSERT INTO {count} (area, measure, key, value) "
                f"SELECT 'M' || k.municipality, 'board', '{key}', SUM(k.{key}) FROM {took} k "
                f"GROUP BY k.municipality HAVING SUM(k.{key}) > 0"
            )
        _roll_up(cursor, [cells.BOARD])
        # People who took part (once or more) and the funnel, per area (not additive).
        for area, group, bit in TOOK_LEVELS:
            per_person = f"""SELECT {area} AS area, k.person_id, SUM(k.attended) AS n,
                    MAX(CASE WHEN (k.tied & {bit}) <> 0 THEN 1 ELSE 0 END) AS tied
                FROM {took} k JOIN places_prefecture p ON p.code = k.prefecture
                GROUP BY {group}, k.person_id"""
            cursor.execute(
                f"""INSERT INTO {count} (area, measure, key, value)
                SELECT area, 'board', 'participants', COUNT(*) FROM ({per_person}) x
                WHERE n >= 1 GROUP BY area
                UNION ALL
                SELECT area, 'board', 'repeaters', COUNT(*) FROM ({per_person}) x
                WHERE n >= 2 GROUP BY area
                UNION ALL
                SELECT area, 'funnel', 'signed_up', COUNT(*) FROM ({per_person}) x
                WHERE tied = 1 GROUP BY area
                UNION ALL
                SELECT area, 'funnel', 'took_part', COUNT(*) FROM ({per_person}) x
                WHERE tied = 1 AND n >= 1 GROUP BY area
                UNION ALL
                SELECT area, 'funnel', 'again', COUNT(*) FROM ({per_person}) x
                WHERE tied = 1 AND n >= 2 GROUP BY area"""
            )
        cursor.execute(
            f"""INSERT INTO {count} (area, measure, key, value)
            SELECT area, 'funnel', 'registered', value FROM {count} WHERE {REGISTERED_SOURCE}
            AND value > 0"""
        )
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
