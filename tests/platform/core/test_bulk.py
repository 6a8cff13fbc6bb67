"""The bulk writer of the generators: ids reserved from the table's sequence, rows written by
COPY or by bulk_create with the same result (as values or as COPY text), later inserts never
collide; and the indexes and constraints dropped around a load into empty tables are built
again exactly as they were."""

from __future__ import annotations

import datetime
import json

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.models import AuditEvent, User
from core.bulk import BulkWriter, DeferredIndexes, schema_of
from registry.models import Registration, RegistrationEvent

pytestmark = pytest.mark.django_db

COLUMNS = (
    "id",
    "actor_id",
    "action",
    "target_type",
    "target_id",
    "municipality_id",
    "detail",
    "created_at",
)


@pytest.mark.parametrize("use_copy", [True, False], ids=["copy", "bulk_create"])
def test_reserved_ids_hold_the_rows_and_later_inserts_follow(use_copy):
    writer = BulkWriter(use_copy=use_copy)
    before = AuditEvent.objects.create(action="before")
    first, none = writer.reserve([(AuditEvent, 3), (User, 0)])
    assert first > before.pk
    assert none == 0
    now = timezone.now()
    rows = [[first + i, None, "bulk", "", "", None, json.dumps({"n": i}), now] for i in range(3)]
    with transaction.atomic():
        writer.write(AuditEvent, COLUMNS, rows)
        writer.write(AuditEvent, COLUMNS, [])  # nothing to write: nothing happens
    written = AuditEvent.objects.filter(action="bulk").order_by("id")
    assert [event.pk for event in written] == [first, first + 1, first + 2]
    assert [event.detail for event in written] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert AuditEvent.objects.create(action="after").pk > first + 2


@pytest.mark.parametrize("use_copy", [True, False], ids=["copy", "bulk_create"])
def test_rows_as_copy_text_give_the_same_rows_either_way(use_copy):
    writer = BulkWriter(use_copy=use_copy)
    (first,) = writer.reserve([(AuditEvent, 2)])
    text = (
        f"{first}\t\\N\ttext\tx\t1\t\\N\t{json.dumps({'n': 1})}\t2026-11-23 01:02:03+00\n"
        f"{first + 1}\t\\N\ttext\t\t\t\\N\t{json.dumps({'n': 2})}\t2026-11-22 23:59:59+00\n"
    )
    with transaction.atomic():
        writer.write_text(AuditEvent, COLUMNS, text)
        writer.write_text(AuditEvent, COLUMNS, "")  # nothing to write: nothing happens
    written = list(
        AuditEvent.objects.filter(action="text")
        .order_by("id")
        .values_list("id", "actor_id", "target_type", "target_id", "detail", "created_at")
    )

    def utc(*args: int) -> datetime.datetime:
        return datetime.datetime(*args, tzinfo=datetime.UTC)

    assert written == [
        (first, None, "x", "1", {"n": 1}, utc(2026, 11, 23, 1, 2, 3)),
        (first + 1, None, "", "", {"n": 2}, utc(2026, 11, 22, 23, 59, 59)),
    ]


TABLES = ["registry_registration", "registry_registrationevent", "accounts_user"]


def test_deferred_indexes_are_built_again_as_they_were():
    before = schema_of(TABLES)
    with transaction.atomic():
        deferred = DeferredIndexes([Registration, RegistrationEvent])
        assert deferred.empty == ["registry_registration", "registry_registrationevent"]
        during = schema_of(TABLES)
        names = {row[1] for row in during}
        # The secondary indexes and foreign keys are gone; the key other tables rest on stays.
        assert "registry_reg_person_idx" not in names
        assert "registry_registration_one_active_per_place" not in names
        assert "registry_registration_person_id_a741a5e5_fk_accounts_user_id" not in names
        assert "registry_registrationevent_pkey" not in names  # nobody's key: rebuilt too
        assert "registry_registration_pkey" in names  # events, activities rest on it
        assert "registry_registration_has_types" in names  # CHECKs stay
        deferred.restore()
        assert schema_of(TABLES) == before
    assert schema_of(TABLES) == before


def test_a_table_with_rows_keeps_its_indexes():
    AuditEvent.objects.create(action="present")
    before = schema_of(["accounts_auditevent"])
    with transaction.atomic():
        deferred = DeferredIndexes([AuditEvent])
        assert deferred.empty == []
        assert schema_of(["accounts_auditevent"]) == before
        deferred.restore()
    assert schema_of(["accounts_auditevent"]) == before
