"""Every write of the statistics: the counts kept up to date from the registry's change feed,
the full rebuild, the recount of the board, and the published (suppressed) figures.

The registry appends a ``RegistrationEvent`` for every change of a registration, and a
profile's ``updated_at`` moves when the person's age or gender may have. ``counts_update``
reads both feeds from where it stopped, compares each registration now with its ``Tally``
row (what was counted) and applies the difference to the cells. Reading an event twice
changes nothing, so the feed is read with an overlap (``SETTLE``): an event written by a
transaction that commits late is still seen. The nightly rebuild recounts everything (one
rebuild at a time: ``locks``).

The counts hold everything (national administrators see them). What is published counts
less: registrations INSIGHTS_SETTLE_DAYS old of people with a verified e-mail address
(``_published_basis``). A registration settles by the passage of time and a person is
verified in allauth's table, and neither is in the feed, so that basis is not kept up to
date: each publication (at most daily) counts it whole from the ledger.
"""

# The SQL here is built from our own table names and constants, never from input.
# ruff: noqa: S608

from __future__ import annotations

import datetime
import hashlib
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from allauth.account.models import EmailAddress
from django.conf import settings
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
from registry.models import AgeBand, Profile, Registration, RegistrationEvent, Status

from . import cells, disclosure, locks
from .cells import Counted, geography
from .locks import RebuildRunning
from .models import Count, Published, State, Tally

logger = logging.getLogger(__name__)

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


# --- The incremental update ---------------------------------------------------------------


def counts_update(*, batch_size: int = 5000, max_rows: int = 500_000) -> dict:
    """Bring the counts up to date with the registry; then, if anything changed, the
    published figures. Runs one at a time (the state row's lock). Never counted before:
    a full rebuild."""
    if State.now().counted_at is None:
        try:
            return counts_rebuild()
        except RebuildRunning:  # the first count is under way: it counts everything
            return {"registrations": 0, "board": 0, "published": False}
    changed = 0
    read = None  # the last event read by this run: the mark stops at the first young one
    while changed < max_rows:
        with transaction.atomic():
            state = State.objects.select_for_update().get(id=1)
            after = state.event_mark if read is None else read
            ids, mark, read = _next_events(after, batch_size)
            if not ids:
                break
            changed += _recount(ids)
            if after == state.event_mark:  # no young event met yet: the mark follows
                state.event_mark = mark
            state.counted_at = timezone.now()
            state.save(update_fields=["event_mark", "counted_at"])
    with transaction.atomic():
        state = State.objects.select_for_update().get(id=1)
        started = timezone.now()
        people = list(
            Profile.objects.filter(updated_at__gte=(state.profile_mark or started) - SETTLE)
            .values_list("user_id", flat=True)
            .iterator(chunk_size=batch_size)
        )
        for chunk in _chunks(people, batch_size):
            ids = list(
                Registration.objects.filter(person_id__in=chunk).values_list("pk", flat=True)
            )
            changed += _recount(ids)
        state.profile_mark = started
        state.counted_at = timezone.now()
        state.save(update_fields=["profile_mark", "counted_at"])
    if changed:
        State.objects.filter(id=1).update(changed_at=timezone.now(), board_due=True)
    # The board's figures (and the funnel, which joins it to the registrations) are
    # recounted whole: when either has changed, at most every INSIGHTS_BOARD_SECONDS, and
    # before a publication.
    board = 0
    state = State.now()
    if (state.board_due or board_fingerprint() != state.board_fingerprint) and (
        _seconds_since(state.board_counted_at) >= settings.INSIGHTS_BOARD_SECONDS
        or publication_due()
    ):
        board = board_recount()
        if board:
            State.objects.filter(id=1).update(changed_at=timezone.now())
    published = publication_due()
    if published:
        publication_refresh()
    return {"registrations": changed, "board": board, "published": published}


def publication_due() -> bool:
    """Whether the published figures should follow the counts now: never published, or
    the last publication is INSIGHTS_PUBLISH_SECONDS old. The figures are published on
    that cadence, not at every change, so that comparing two publications shows many
    people's changes, not one person's; and then even if no count changed, because what is
    published changes without a change of the counts: registrations settle with time and
    people confirm their e-mail addresses (``_published_basis``)."""
    state = State.now()
    if state.published_as_of is None:
        return True
    return _seconds_since(state.published_as_of) >= settings.INSIGHTS_PUBLISH_SECONDS


def _seconds_since(moment: datetime.datetime | None) -> float:
    return float("inf") if moment is None else (timezone.now() - moment).total_seconds()


def _next_events(mark: int, limit: int) -> tuple[list[int], int, int]:
    """The registrations of the next events after ``mark``, the new mark (the last event
    before the first one young enough to have a sibling still uncommitted) and the last
    event read (where the next batch of this run starts, past the young ones)."""
    rows = list(
        RegistrationEvent.objects.filter(pk__gt=mark)
        .order_by("pk")
        .values_list("pk", "registration_id", "at")[:limit]
    )
    settled_before = timezone.now() - SETTLE
    new_mark = mark
    young = False
    for pk, _registration, at in rows:
        if at >= settled_before:
            young = True
        if not young:
            new_mark = pk
    # Young events are counted now and read again next time (harmless: a recount).
    if young and new_mark == mark and len(rows) == limit:
        new_mark = rows[-1][0]  # a full batch of young events: move on regardless
    last = rows[-1][0] if rows else mark
    return sorted({registration for _pk, registration, _at in rows}), new_mark, last


def _chunks(items: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _now_of(ids: Sequence[int]) -> dict[int, Counted]:
    today = timezone.localdate()
    rows = Registration.objects.filter(pk__in=ids).values_list(
        "pk",
        "person_id",
        "municipality_id",
        "status",
        "registered_at",
        "withdrawn_at",
        "tier",
        "types",
        "home_municipality_id",
        "person__profile__gender",
        "person__profile__birth_year",
        "share_age_band",
    )
    return {
        pk: Counted(
            registration_id=pk,
            person_id=person,
            municipality=municipality,
            active=status == Status.ACTIVE,
            registered_on=timezone.localdate(registered_at),
            withdrawn_on=timezone.localdate(withdrawn_at) if withdrawn_at else None,
            tier=tier,
            types=types,
            home=home,
            gender=gender or "",
            # The age band only where the person agreed to tell this town (as "回答なし" else).
            age_band=cells.age_band_of(birth_year, today) if share_age_band else "",
        )
        for (
            pk,
            person,
            municipality,
            status,
            registered_at,
            withdrawn_at,
            tier,
            types,
            home,
            gender,
            birth_year,
            share_age_band,
        ) in rows
    }


TALLY_FIELDS = (
    "person_id",
    "municipality",
    "active",
    "registered_on",
    "withdrawn_on",
    "tier",
    "types",
    "home",
    "gender",
    "age_band",
)


def _counted(row: Tally) -> Counted:
    return Counted(
        registration_id=row.registration_id, **{f: getattr(row, f) for f in TALLY_FIELDS}
    )


def _recount(ids: Sequence[int]) -> int:
    """Count these registrations as they are now instead of as they were counted."""
    geo = geography()
    now = _now_of(ids)
    before = {row.registration_id: _counted(row) for row in Tally.objects.filter(pk__in=ids)}
    changed = [pk for pk in ids if now.get(pk) != before.get(pk)]
    if not changed:
        return 0
    delta: Counter = Counter()
    for pk in changed:
        if pk in before:
            delta.subtract(before[pk].cells(geo))
        if pk in now:
            delta.update(now[pk].cells(geo))
    # Unique people: the areas where each person has an active registration, before and after.
    changed_of = defaultdict(list)  # person → their changed registrations
    for pk in changed:
        changed_of[(now.get(pk) or before.get(pk)).person_id].append(pk)
    ties = defaultdict(dict)  # person → registration → municipality (active ones)
    for registration, person, municipality in Tally.objects.filter(
        person_id__in=list(changed_of), active=True
    ).values_list("registration_id", "person_id", "municipality"):
        ties[person][registration] = municipality
    for person, pks in changed_of.items():
        was = _upper_areas(geo, ties[person].values())
        after = dict(ties[person])
        for pk in pks:
            after.pop(pk, None)
            if pk in now and now[pk].active:
                after[pk] = now[pk].municipality
        becomes = _upper_areas(geo, after.values())
        for area in becomes - was:
            delta[(area, cells.PEOPLE, "")] += 1
        for area in was - becomes:
            delta[(area, cells.PEOPLE, "")] -= 1
    Tally.objects.filter(pk__in=[pk for pk in changed if pk not in now]).delete()
    Tally.objects.bulk_create(
        [
            Tally(registration_id=pk, **{f: getattr(now[pk], f) for f in TALLY_FIELDS})
            for pk in changed
            if pk in now
        ],
        update_conflicts=True,
        unique_fields=["registration_id"],
        update_fields=list(TALLY_FIELDS),
    )
    _add(delta)
    return len(changed)


def _upper_areas(geo, municipalities: Iterable[str]) -> set[str]:
    return {area for m in municipalities for area in geo.upper_areas_of(m)}


def _add(delta: Counter) -> None:
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


# --- The full rebuild --------------------------------------------------------------------


def counts_rebuild(*, publish: bool = False) -> dict:
    """Count everything again from the raw rows, in SQL, in one transaction: the ledger,
    the registration cells, the board's; then publish if it is time (or ``publish``).
    Idempotent; the nightly job and ``manage.py stats_rebuild`` run it, one at a time:
    ``RebuildRunning`` at once, counting nothing, while another rebuild runs
    (``locks.rebuild_lock``, across processes)."""
    with locks.rebuild_lock():
        return _rebuild(publish=publish)


def _rebuild(*, publish: bool) -> dict:
    started = timezone.now()
    with transaction.atomic():
        state = State.objects.select_for_update().get_or_create(id=1)[0]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL work_mem = '256MB'")
        mark = _settled_mark(started)
        _rebuild_tally()
        Count.objects.filter(measure__in=REGISTRATION_MEASURES).delete()
        with connection.cursor() as cursor:
            _registration_cells(cursor, source=Tally._meta.db_table, table=Count._meta.db_table)
        state.event_mark = mark
        state.profile_mark = started
        state.counted_at = state.rebuilt_at = state.changed_at = timezone.now()
        state.save()
    board_recount()
    if publish or publication_due():
        publication_refresh()
    return {
        "registrations": Tally.objects.count(),
        "seconds": (timezone.now() - started).total_seconds(),
    }


def _settled_mark(now: datetime.datetime) -> int:
    """The last event before the first young one (``_next_events``' rule): a transaction
    still open while the rebuild reads wrote its event below later ones, and the next
    update must read it when it commits."""
    events = RegistrationEvent.objects.order_by("-pk").values_list("pk", flat=True)
    young = (
        RegistrationEvent.objects.filter(at__gte=now - SETTLE)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if young is not None:
        events = events.filter(pk__lt=young)
    return events.first() or 0


def _local_date(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"({column} AT TIME ZONE '{settings.TIME_ZONE}')::date"
    offset = int(timezone.localtime().utcoffset().total_seconds() // 3600)
    return f"date({column}, '{offset:+d} hours')"


def _rebuild_tally() -> None:
    # AgeBand.for_birth_year in SQL: under 20, then a band per ten years, 70 and over.
    year = timezone.localdate().year
    *tens, oldest = AgeBand
    bands = " ".join(
        f"WHEN {year} - p.birth_year < {20 + 10 * i} THEN '{band.value}'"
        for i, band in enumerate(tens)
    )
    tally, registration = Tally._meta.db_table, Registration._meta.db_table
    profile = Profile._meta.db_table
    postgresql = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        # Not DELETE on PostgreSQL: every old row would stay dead until a vacuum, doubling the
        # table and slowing this insert and every later scan. TRUNCATE waits for, then holds
        # off, every reader of the ledger until the commit (counts_update waits anyway).
        cursor.execute(f"TRUNCATE {tally}" if postgresql else f"DELETE FROM {tally}")
        cursor.execute(
            f"""INSERT INTO {tally} (registration_id, person_id, municipality, active,
                    registered_on, withdrawn_on, tier, types, home, gender, age_band)
            SELECT r.id, r.person_id, r.municipality_id, r.status = 'active',
                   {_local_date("r.registered_at")}, {_local_date("r.withdrawn_at")},
                   r.tier, r.types, r.home_municipality_id, COALESCE(p.gender, ''),
                   CASE WHEN p.birth_year IS NULL OR NOT r.share_age_band THEN ''
                        {bands} ELSE '{oldest.value}' END
            FROM {registration} r LEFT JOIN {profile} p ON p.user_id = r.person_id"""
        )
        if postgresql:  # the statements that follow are planned for the ledger's new size
            cursor.execute(f"ANALYZE {tally}")


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


# --- The board -----------------------------------------------------------------------------

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
        State.objects.select_for_update().get_or_create(id=1)  # one recount at a time
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


# --- Publication ---------------------------------------------------------------------------


def publication_refresh() -> int:
    """Work out, over every figure any page or the API shows, which must be suppressed for
    viewers without row-level rights, and write the published figures (changes only) in one
    transaction. Returns how many published cells changed."""
    started = timezone.now()
    problem = disclosure.problem_from(_figures_for_publication())
    with transaction.atomic():
        State.objects.select_for_update().get_or_create(id=1)
        existing = {
            (a, m, k): (pk, v, shown)
            for pk, a, m, k, v, shown in Published.objects.values_list(
                "pk", "area", "measure", "key", "value", "shown"
            )
        }
        # What anyone may have kept of earlier publications: a small change from it is
        # protected like a small figure.
        last_shown = {cell: row[2] for cell, row in existing.items() if row[2] is not None}
        hidden = disclosure.suppress(
            problem, threshold=settings.INSIGHTS_MIN_CELL, last_shown=last_shown
        )
        # Under a hidden total every part is hidden too, zeros included (they are shown
        # where the total is: a figure of nobody names no one when the whole is known).
        hidden |= disclosure.parts_of_hidden_totals(problem, hidden)
        published = {}
        for cell in problem.shown | hidden:
            value = None if cell in hidden else problem.values[cell]
            published[cell] = (value, last_shown.get(cell) if value is None else value)
        gone = [row[0] for cell, row in existing.items() if cell not in published]
        Published.objects.filter(pk__in=gone).delete()
        changed = [
            Published(area=a, measure=m, key=k, value=value, shown=shown)
            for (a, m, k), (value, shown) in published.items()
            if (a, m, k) not in existing or existing[(a, m, k)][1:] != (value, shown)
        ]
        for page in _chunks(changed, 5000):
            Published.objects.bulk_create(
                page,
                update_conflicts=True,
                unique_fields=["area", "measure", "key"],
                update_fields=["value", "shown"],
            )
        State.objects.filter(id=1).update(published_at=timezone.now(), published_as_of=started)
    return len(gone) + len(changed)


# The published basis, counted at each publication into a table of the session, from its
# rows copied into another.
PUBLISHED_BASIS = "insights_published_basis"
PUBLISHED_ROWS = "insights_published_rows"


def _published_basis(today: datetime.date) -> str:
    """The part of the ledger that is published, as SQL: registrations at least
    INSIGHTS_SETTLE_DAYS old of people with a verified e-mail address (allauth's). Padding a
    town's figures with made-up people then takes accounts that received mail and waited;
    administrators' counts (``Count``) keep everything."""
    settled = today - datetime.timedelta(days=settings.INSIGHTS_SETTLE_DAYS)
    return f"""(SELECT * FROM {Tally._meta.db_table} s
        WHERE s.registered_on <= '{settled.isoformat()}' AND EXISTS (
            SELECT 1 FROM {EmailAddress._meta.db_table} e
            WHERE e.user_id = s.person_id AND e.verified))"""


def _figures_for_publication() -> dict[tuple[str, str, str], int]:
    """The cells the disclosure check starts from: the registration cells and the funnel
    counted over the published basis (``_published_basis``: a registration settles by the
    passage of time and a person is verified in allauth's table, neither of which the
    change feed tells, so the basis is counted whole at each publication, at most once a
    day), with the board's cells as counted; every area's but the nation's days summed by
    month."""
    basis, count = PUBLISHED_BASIS, Count._meta.db_table
    month = "substr(key, 1, 7)"
    with transaction.atomic(), connection.cursor() as cursor:
        # A temporary table: the session's own, so two publications never share it.
        cursor.execute(
            f"""CREATE TEMPORARY TABLE {basis} (area VARCHAR(16) NOT NULL,
                measure VARCHAR(12) NOT NULL, key VARCHAR(16) NOT NULL, value BIGINT NOT NULL)"""
        )
        # The basis's rows once (one pass over the ledger with its semi-join on the verified
        # addresses), then counted like the ledger: every measure scans them again.
        cursor.execute(
            f"CREATE TEMPORARY TABLE {PUBLISHED_ROWS} AS "
            f"SELECT * FROM {_published_basis(timezone.localdate())} b"
        )
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {PUBLISHED_ROWS}")
        _registration_cells(cursor, source=PUBLISHED_ROWS, table=basis)
        _funnel_cells(cursor, source=PUBLISHED_ROWS, table=basis)
        cursor.execute(
            f"""SELECT area, measure, key, value FROM {basis}
            WHERE area = 'JP' OR measure NOT IN ('new', 'gone')
            UNION ALL
            SELECT area, measure, {month}, SUM(value) FROM {basis}
            WHERE area <> 'JP' AND measure IN ('new', 'gone') GROUP BY area, measure, {month}
            UNION ALL
            SELECT area, measure, key, value FROM {count} WHERE measure = '{cells.BOARD}'"""
        )
        figures = {(a, m, k): v for a, m, k, v in cursor.fetchall()}
        cursor.execute(f"DROP TABLE {basis}")
        cursor.execute(f"DROP TABLE {PUBLISHED_ROWS}")
    return figures
