"""The board's and the funnel's cells kept up to date from the board's change feed
(``BoardChange``, written by PostgreSQL triggers on sign-ups, sessions and tasks, and by
``counts_update`` for the people whose registrations it counted), never recounted whole.

Two kinds of figures. What the board offers (tasks, sessions, seats) is counted per
municipality: the municipalities where a task or session changed are counted again, and
the difference is added to them and to their prefecture, region and the nation. What people
did (sign-ups, attendance, who took part, once or more, and the funnel, which asks whether
they are registered with the area) is counted per person: each changed person's rows of the
ledger (``Took``) are subtracted and their rows as they are now added. The rebuild
(``board_recount``) counts the same from the same ledger, so the two agree."""

# The SQL here is built from our own table names and constants, never from input.
# ruff: noqa: S608

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

from django.db import connection, transaction
from django.utils import timezone

from matching.models import Signup

from .. import cells, locks
from ..cells import Geography, geography
from ..models import BoardChange, Count, State, Tally, Took
from .board import _PLACES, PLACES_KEYS, REGISTERED_SOURCE, took_rows_sql
from .sql import _chunks, cells_add

# A run takes at most this many rows of the feed (the rest waits for the next).
FEED_BATCH = 100_000


def board_update() -> int:
    """Apply the board's change feed to the cells (PostgreSQL). Returns how many cells
    changed."""
    with transaction.atomic(), connection.cursor() as cursor:
        locks.lock_state()
        cursor.execute(
            f"""DELETE FROM {BoardChange._meta.db_table} WHERE id IN (
                SELECT id FROM {BoardChange._meta.db_table} ORDER BY id LIMIT %s)
            RETURNING person_id, session_id, task_id, municipality""",
            [FEED_BATCH],
        )
        rows = cursor.fetchall()
        if not rows:
            return 0
        people = {p for p, _s, _t, _m in rows if p is not None}
        sessions = {s for _p, s, _t, _m in rows if s is not None}
        tasks = {t for _p, _s, t, _m in rows if t is not None}
        towns = {m for _p, _s, _t, m in rows if m}
        # A session's or task's change moves what its sign-ups count.
        if sessions:
            people.update(
                Signup.objects.filter(session_id__in=sessions).values_list("person_id", flat=True)
            )
        if tasks:
            people.update(
                Signup.objects.filter(session__task_id__in=tasks).values_list(
                    "person_id", flat=True
                )
            )
        geo = geography()
        delta = _places_delta(cursor, geo, towns) if towns else Counter()
        for chunk in _chunks(sorted(people), 5000):
            delta.update(_people_delta(cursor, geo, chunk))
        cells_add(delta)
        State.objects.filter(id=1).update(board_counted_at=timezone.now(), board_due=False)
    return sum(1 for value in delta.values() if value)


def _places_delta(cursor, geo: Geography, towns: set[str]) -> Counter:
    """The tasks, sessions and seats of these municipalities counted again, as a difference
    to what their cells hold, for them and the areas above."""
    count = Count._meta.db_table
    towns = sorted(towns)
    now: Counter = Counter()
    for key, (figure, source, where) in _PLACES.items():
        cursor.execute(
            f"SELECT t.municipality_id, {figure} FROM {source} "
            f"WHERE {where} AND t.municipality_id = ANY(%s) GROUP BY t.municipality_id",
            [towns],
        )
        for town, value in cursor.fetchall():
            now[(town, key)] = value or 0
    cursor.execute(
        f"SELECT area, key, value FROM {count} WHERE measure = %s AND key = ANY(%s) "
        f"AND area = ANY(%s)",
        [cells.BOARD, list(PLACES_KEYS), [cells.municipality_area(t) for t in towns]],
    )
    before = {(area[1:], key): value for area, key, value in cursor.fetchall()}
    delta: Counter = Counter()
    for town in towns:
        for key in PLACES_KEYS:
            change = now.get((town, key), 0) - before.get((town, key), 0)
            if change:
                for area in geo.areas_of(town):
                    delta[(area, cells.BOARD, key)] += change
    return delta


def _people_delta(cursor, geo: Geography, people: list[int]) -> Counter:
    """These people's ledger rows replaced by what their sign-ups and registrations are
    now; the difference of the cells they count in."""
    before = list(
        Took.objects.filter(person_id__in=people).values_list(
            "person_id", "municipality", "prefecture", "signups", "attended", "no_show", "tied"
        )
    )
    cursor.execute(took_rows_sql("AND u.person_id = ANY(%s)"), [list(people)])
    found = cursor.fetchall()
    ties: dict[int, set[str]] = defaultdict(set)  # person → the areas of their active ties
    for person, town in Tally.objects.filter(
        person_id__in={row[0] for row in found}, active=True
    ).values_list("person_id", "municipality"):
        ties[person].update(geo.areas_of(town))
    after = [
        (
            person,
            town,
            prefecture,
            signups,
            attended,
            no_show,
            _tied(geo, ties[person], town, prefecture),
        )
        for person, town, prefecture, signups, attended, no_show in found
    ]
    if sorted(before) == sorted(after):
        return Counter()
    Took.objects.filter(person_id__in=people).delete()
    Took.objects.bulk_create(
        Took(
            person_id=person,
            municipality=town,
            prefecture=prefecture,
            signups=signups,
            attended=attended,
            no_show=no_show,
            tied=tied,
        )
        for person, town, prefecture, signups, attended, no_show, tied in after
    )
    delta = took_cells(geo, after)
    delta.subtract(took_cells(geo, before))
    return delta


def _tied(geo: Geography, areas: set[str], town: str, prefecture: str) -> int:
    if not areas:
        return 0
    region = cells.region_area(geo.region_of_prefecture[prefecture])
    return (
        Took.TIED_NATION
        | (Took.TIED_MUNICIPALITY if cells.municipality_area(town) in areas else 0)
        | (Took.TIED_PREFECTURE if cells.prefecture_area(prefecture) in areas else 0)
        | (Took.TIED_REGION if region in areas else 0)
    )


def took_cells(geo: Geography, rows: Iterable[tuple]) -> Counter:
    """The cells these ledger rows count in (``board_recount``'s SQL, in Python): sign-ups
    and attendance added up by the task's municipality and the areas above it; per person
    and area, whether they took part (once, twice or more) and, if they are registered with
    the area, the funnel's steps."""
    found: Counter = Counter()
    per_area: dict[tuple[int, str], list[int]] = {}  # (person, area) → [attended, tied]
    for person, town, prefecture, signups, attended, no_show, tied in rows:
        for area in geo.areas_of(town):
            found[(area, cells.BOARD, "signups")] += signups
            found[(area, cells.BOARD, "attended")] += attended
            found[(area, cells.BOARD, "no_show")] += no_show
        levels = (
            (cells.municipality_area(town), Took.TIED_MUNICIPALITY),
            (cells.prefecture_area(prefecture), Took.TIED_PREFECTURE),
            (cells.region_area(geo.region_of_prefecture[prefecture]), Took.TIED_REGION),
            (cells.NATION, Took.TIED_NATION),
        )
        for area, bit in levels:
            mine = per_area.setdefault((person, area), [0, 0])
            mine[0] += attended
            mine[1] |= 1 if tied & bit else 0
    for (_person, area), (attended, tied) in per_area.items():
        if attended >= 1:
            found[(area, cells.BOARD, "participants")] += 1
        if attended >= 2:
            found[(area, cells.BOARD, "repeaters")] += 1
        if tied:
            found[(area, cells.FUNNEL, "signed_up")] += 1
            if attended >= 1:
                found[(area, cells.FUNNEL, "took_part")] += 1
            if attended >= 2:
                found[(area, cells.FUNNEL, "again")] += 1
    return found


def funnel_registered(areas: Iterable[str]) -> None:
    """The funnel's first step of these areas copied again from their registration cells
    (it is the area's people registered: ``board_recount`` copies it the same way)."""
    areas = sorted(set(areas))
    count = Count._meta.db_table
    with connection.cursor() as cursor:
        for chunk in _chunks(areas, 5000):
            cursor.execute(
                f"DELETE FROM {count} WHERE measure = 'funnel' AND key = 'registered' "
                f"AND area IN ({', '.join(['%s'] * len(chunk))})",
                list(chunk),
            )
            cursor.execute(
                f"""INSERT INTO {count} (area, measure, key, value)
                SELECT area, 'funnel', 'registered', value FROM {count}
                WHERE {REGISTERED_SOURCE} AND value > 0
                AND area IN ({", ".join(["%s"] * len(chunk))})""",
                list(chunk),
            )


def people_changed(people: Iterable[int]) -> None:
    """Tell the board's feed that these people's registrations were counted anew (their
    ties, which the funnel reads, may have changed): in the caller's transaction."""
    BoardChange.objects.bulk_create(BoardChange(person_id=p) for p in sorted(set(people)))
