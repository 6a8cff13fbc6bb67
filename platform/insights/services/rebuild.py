"""The full rebuild: everything counted again from the raw rows, in SQL, one rebuild at a
time (``locks``)."""

# The SQL here is built from our own table names and constants, never from input.
# ruff: noqa: S608

from __future__ import annotations

import datetime

from django.db import connection, transaction
from django.utils import timezone

from registry.models import AgeBand, Profile, Registration, RegistrationEvent

from .. import locks
from ..models import Count, Tally
from .board import board_recount
from .publication import publication_due, publication_refresh
from .sql import REGISTRATION_MEASURES, SETTLE, _local_date, _registration_cells


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
        state = locks.lock_state()
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
