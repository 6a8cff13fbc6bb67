"""The bulk writer of the generators: ids reserved from the table's sequence, rows written by
COPY or by bulk_create with the same result, and later inserts never collide."""

from __future__ import annotations

import json

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.models import AuditEvent, User
from core.bulk import BulkWriter

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
