"""The incremental update: the counts kept up to date from the registry's change feed and
the profiles' ``updated_at`` (see the package's docstring)."""

# The SQL here is built from our own table names and constants, never from input.

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from registry.models import Profile, Registration, RegistrationEvent, Status

from .. import cells, locks
from ..cells import Counted, geography
from ..locks import RebuildRunning
from ..models import State, Tally
from .board import board_fingerprint, board_recount
from .participation import board_update, funnel_registered, people_changed
from .publication import _seconds_since, publication_due, publication_refresh
from .rebuild import counts_rebuild
from .sql import SETTLE, _chunks, cells_add


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
            state = locks.lock_state()
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
        state = locks.lock_state()
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
    board = _board_catch_up()
    if board:
        State.objects.filter(id=1).update(changed_at=timezone.now())
    published = publication_due()
    if published:
        publication_refresh()
    return {"registrations": changed, "board": board, "published": published}


def _board_catch_up() -> int:
    """The board's and the funnel's cells brought up to date: on PostgreSQL from the
    board's change feed (triggers fill it), at every update; elsewhere (SQLite, the embedded
    default, has no such triggers) recounted whole when the board or the registrations have
    changed, at most every INSIGHTS_BOARD_SECONDS and before a publication."""
    if connection.vendor == "postgresql":
        return board_update()
    state = State.now()
    if (state.board_due or board_fingerprint() != state.board_fingerprint) and (
        _seconds_since(state.board_counted_at) >= settings.INSIGHTS_BOARD_SECONDS
        or publication_due()
    ):
        return board_recount()
    return 0


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
    if connection.vendor == "postgresql":  # their ties, which the funnel reads
        people_changed(changed_of)
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
    cells_add(delta)
    funnel_registered(
        area
        for area, measure, _key in delta
        if measure == cells.PEOPLE or (measure == cells.REGISTRATIONS and area[0] == "M")
    )
    return len(changed)


def _upper_areas(geo, municipalities: Iterable[str]) -> set[str]:
    return {area for m in municipalities for area in geo.upper_areas_of(m)}
