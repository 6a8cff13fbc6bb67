"""The board's figures (tasks, sessions, sign-ups, attendance) and the funnel that joins
them to the registrations, recounted whole in SQL through the board's ledger (``Took``:
each person's sign-ups per town and their ties), which the incremental update
(``participation``) keeps and the publication reads for the published funnel; and the
fingerprint that tells SQLite when they may have changed."""

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
from .sql import _roll_up

_PUBLIC = ", ".join(f"'{s}'" for s in PUBLIC_STATUSES)
# A session counts while its task is public and it is scheduled; a sign-up while confirmed.
LIVE = f"t.status IN ({_PUBLIC}) AND s.status = '{SessionStatus.SCHEDULED}'"
CONFIRMED = f"u.status = '{SignupStatus.CONFIRMED}'"
_SESSIONS = f"{Session._meta.db_table} s JOIN {Task._meta.db_table} t ON t.id = s.task_id"
_SIGNUPS = (
    f"{Signup._meta.db_table} u JOIN {Session._meta.db_table} s ON s.id = u.session_id"
    f" JOIN {Task._meta.db_table} t ON t.id = s.task_id"
)
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


def tie_bits(tally: str, row: str) -> str:
    """SQL: the ``Took.TIED_*`` bits of a ledger row ``row`` (its person_id, m, pf, and its
    prefecture joined as p) over the registrations of ``tally`` (the ledger, or the
    published part of it): an active one with the task's municipality, prefecture, region,
    anywhere."""
    mine = f"FROM {tally} r WHERE r.person_id = {row}.person_id AND r.active"
    town = f"FROM {tally} r JOIN places_municipality tm ON tm.code = r.municipality"
    town += f" WHERE r.person_id = {row}.person_id AND r.active"
    region = f"""FROM {tally} r JOIN places_municipality tm ON tm.code = r.municipality
        JOIN places_prefecture tp ON tp.code = tm.prefecture_id
        WHERE r.person_id = {row}.person_id AND r.active AND tp.region = p.region"""
    return (
        f"CASE WHEN NOT EXISTS (SELECT 1 {mine}) THEN 0 ELSE {Took.TIED_NATION}"
        f" + CASE WHEN EXISTS (SELECT 1 {mine} AND r.municipality = {row}.m)"
        f" THEN {Took.TIED_MUNICIPALITY} ELSE 0 END"
        f" + CASE WHEN EXISTS (SELECT 1 {town} AND tm.prefecture_id = {row}.pf)"
        f" THEN {Took.TIED_PREFECTURE} ELSE 0 END"
        f" + CASE WHEN EXISTS (SELECT 1 {region}) THEN {Took.TIED_REGION} ELSE 0 END END"
    )


def _took_sql() -> str:
    """The ledger of the board in one statement: ``took_rows_sql`` with the ties (``tie_bits``'
    rule), by one join of the people's active registrations rather than a probe per row."""
    tally = Tally._meta.db_table
    return f"""WITH y AS MATERIALIZED ({took_rows_sql()}),
        ties AS MATERIALIZED (
            SELECT DISTINCT r.person_id, r.municipality AS m, tm.prefecture_id AS pf,
                tp.region
            FROM {tally} r JOIN places_municipality tm ON tm.code = r.municipality
            JOIN places_prefecture tp ON tp.code = tm.prefecture_id
            WHERE r.active AND r.person_id IN (SELECT person_id FROM y))
        INSERT INTO {Took._meta.db_table}
            (person_id, municipality, prefecture, signups, attended, no_show, tied)
        SELECT y.person_id, y.m, y.pf, y.signups, y.attended, y.no_show,
            CASE WHEN COUNT(x.person_id) = 0 THEN 0 ELSE {Took.TIED_NATION}
                + MAX(CASE WHEN x.m = y.m THEN {Took.TIED_MUNICIPALITY} ELSE 0 END)
                + MAX(CASE WHEN x.pf = y.pf THEN {Took.TIED_PREFECTURE} ELSE 0 END)
                + MAX(CASE WHEN x.region = p.region THEN {Took.TIED_REGION} ELSE 0 END) END
        FROM y JOIN places_prefecture p ON p.code = y.pf
        LEFT JOIN ties x ON x.person_id = y.person_id
        GROUP BY y.person_id, y.m, y.pf, y.signups, y.attended, y.no_show, p.region"""


def took_level_cells(cursor, *, source: str, table: str, participants: bool) -> None:
    """Into ``table``, from ledger rows ``source`` (person_id, municipality, prefecture,
    attended, tied): per area, the people who took part (once or more, if
    ``participants``) and the funnel's steps of those registered with the area."""
    for area, group, bit in TOOK_LEVELS:
        per_person = f"""SELECT {area} AS area, k.person_id, SUM(k.attended) AS n,
                MAX(CASE WHEN (k.tied & {bit}) <> 0 THEN 1 ELSE 0 END) AS tied
            FROM {source} k JOIN places_prefecture p ON p.code = k.prefecture
            GROUP BY {group}, k.person_id"""
        parts = [
            ("funnel", "signed_up", "tied = 1"),
            ("funnel", "took_part", "tied = 1 AND n >= 1"),
            ("funnel", "again", "tied = 1 AND n >= 2"),
        ]
        if participants:
            parts += [("board", "participants", "n >= 1"), ("board", "repeaters", "n >= 2")]
        cursor.execute(
            f"INSERT INTO {table} (area, measure, key, value) "
            + " UNION ALL ".join(
                f"SELECT area, '{measure}', '{key}', COUNT(*) FROM ({per_person}) x "
                f"WHERE {where} GROUP BY area"
                for measure, key, where in parts
            )
        )


def funnel_registered_sql(table: str) -> str:
    """The funnel's first step, copied from ``table``'s registration cells."""
    return f"""INSERT INTO {table} (area, measure, key, value)
        SELECT area, 'funnel', 'registered', value FROM {table} WHERE {REGISTERED_SOURCE}
        AND value > 0"""


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
        took_level_cells(cursor, source=took, table=count, participants=True)
        cursor.execute(funnel_registered_sql(count))
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
