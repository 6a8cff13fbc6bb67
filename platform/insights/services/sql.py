"""The SQL the rebuild, the board and the publication share: the registration cells by
GROUP BY over the ledger (or the published part of it), rolled up from municipalities to
the nation, and the settling time of the change feed."""

# The SQL here is built from our own table names and constants, never from input.
# ruff: noqa: S608

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.db import connection
from django.utils import timezone

from .. import cells
from ..models import Count

# How long a transaction may take to commit and still have its events read by the next run.
SETTLE = datetime.timedelta(seconds=120)

REGISTRATION_MEASURES = (
    cells.REGISTRATIONS,
    cells.PEOPLE,
    cells.TIER,
    cells.VISITING,
    cells.TYPE,
    cells.HOME,
    cells.ORIGIN,
    cells.GENDER,
    cells.AGE,
    cells.NEW,
    cells.GONE,
)


def _chunks(items: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _local_date(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"({column} AT TIME ZONE '{settings.TIME_ZONE}')::date"
    offset = int(timezone.localtime().utcoffset().total_seconds() // 3600)
    return f"date({column}, '{offset:+d} hours')"


def _registration_cells(cursor, *, source: str, table: str) -> None:
    """Into ``table``: the registration cells of the municipalities by GROUP BY over
    ``source`` (the ledger, or the part of it that is published), rolled up to
    prefectures, regions and the nation; unique people counted per area."""
    tally, count = source, table
    nv = cells.NON_VISITING_BIT
    metro = " ".join(
        f"WHEN hm.prefecture_id IN ({', '.join(repr(c) for c in sorted(codes))}) THEN '{key}'"
        for key, codes in cells.METRO_AREAS.items()
    )
    plain = f"{tally} t"
    home = (
        f"{tally} t JOIN places_municipality hm ON hm.code = t.home"
        " JOIN places_prefecture hp ON hp.code = hm.prefecture_id"
    )
    # measure: (the key, the rows, which of them)
    keys = {
        cells.REGISTRATIONS: ("''", plain, "t.active"),
        cells.TIER: ("t.tier", plain, "t.active"),
        cells.VISITING: (
            f"CASE WHEN t.types = {nv} THEN 'non_visiting' ELSE 'visiting' END",
            plain,
            "t.active",
        ),
        cells.HOME: ("hp.region", home, "t.active"),
        cells.ORIGIN: (f"CASE {metro} ELSE 'other' END", home, "t.active"),
        cells.GENDER: (
            "CASE WHEN t.gender = '' THEN 'unknown' ELSE t.gender END",
            plain,
            "t.active",
        ),
        cells.AGE: (
            "CASE WHEN t.age_band = '' THEN 'unknown' ELSE t.age_band END",
            plain,
            "t.active",
        ),
        cells.NEW: ("CAST(t.registered_on AS TEXT)", plain, "1 = 1"),
        cells.GONE: ("CAST(t.withdrawn_on AS TEXT)", plain, "t.withdrawn_on IS NOT NULL"),
    }
    per_municipality = {
        measure: f"SELECT t.municipality AS m, {key} AS k FROM {source} WHERE {where}"
        for measure, (key, source, where) in keys.items()
    }
    per_municipality[cells.TYPE] = " UNION ALL ".join(
        f"SELECT t.municipality AS m, '{value}' AS k FROM {plain}"
        f" WHERE t.active AND (t.types & {1 << i}) <> 0"
        for i, value in enumerate(cells.BREAKDOWN_KEYS[cells.TYPE])
    )
    for measure, rows in per_municipality.items():
        cursor.execute(
            f"""INSERT INTO {count} (area, measure, key, value)
            SELECT 'M' || m, '{measure}', k, COUNT(*) FROM ({rows}) AS x
            GROUP BY m, k"""
        )
    _roll_up(cursor, REGISTRATION_MEASURES, table=count)
    people = f"""SELECT {{area}}, 'people', '', COUNT(DISTINCT t.person_id)
        FROM {tally} t JOIN places_municipality m ON m.code = t.municipality
        JOIN places_prefecture p ON p.code = m.prefecture_id
        WHERE t.active GROUP BY {{group}}"""
    for area, group in (
        ("'P' || m.prefecture_id", "m.prefecture_id"),
        ("'R' || p.region", "p.region"),
        ("'JP'", "1"),
    ):
        cursor.execute(
            f"INSERT INTO {count} (area, measure, key, value) "
            + people.format(area=area, group=group)
        )


def _roll_up(cursor, measures: Sequence[str], *, table: str | None = None) -> None:
    """Prefecture, region and nation cells as sums of the municipalities' cells."""
    count = table or Count._meta.db_table
    names = ", ".join(f"'{m}'" for m in measures)
    for area, group in (
        ("'P' || m.prefecture_id", "m.prefecture_id"),
        ("'R' || p.region", "p.region"),
        ("'JP'", "1"),
    ):
        cursor.execute(
            f"""INSERT INTO {count} (area, measure, key, value)
            SELECT {area}, c.measure, c.key, SUM(c.value) FROM {count} c
            JOIN places_municipality m ON m.code = substr(c.area, 2)
            JOIN places_prefecture p ON p.code = m.prefecture_id
            WHERE c.area LIKE 'M%%' AND c.measure IN ({names})
            GROUP BY {group}, c.measure, c.key"""
        )


def cells_add(delta: Counter) -> None:
    """Add ``delta`` to the cells, creating the missing ones (one statement per page)."""
    rows = [(*cell, value) for cell, value in delta.items() if value]
    table = Count._meta.db_table
    with connection.cursor() as cursor:
        for page in _chunks(rows, 1000):
            values = ", ".join(["(%s, %s, %s, %s)"] * len(page))
            cursor.execute(
                f"INSERT INTO {table} (area, measure, key, value) VALUES {values} "
                f"ON CONFLICT (area, measure, key) DO UPDATE "
                f"SET value = {table}.value + excluded.value",
                [item for row in page for item in row],
            )
