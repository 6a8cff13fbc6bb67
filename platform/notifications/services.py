"""Every write of the inbox. Call ``notification_send`` inside the transaction of the change
that causes the notification: it is then written exactly when the change is."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from .models import Notification


def notification_send(
    *,
    recipients: Iterable[Any],
    kind: str,
    key: str,
    context: dict[str, Any],
    url: str = "",
) -> int:
    """Put one notification of ``kind`` in each recipient's inbox (users or user ids).

    Idempotent: a recipient who already has ``key`` gets nothing new. Returns how many
    recipients there were. ``context`` must be JSON (strings, numbers, ISO dates)."""
    ids = sorted({getattr(r, "pk", r) for r in recipients if r is not None})
    if not ids:
        return 0
    now = timezone.now()
    with transaction.atomic():
        Notification.objects.bulk_create(
            [
                Notification(
                    recipient_id=pk, kind=kind, key=key, context=context, url=url, created_at=now
                )
                for pk in ids
            ],
            batch_size=1000,
            ignore_conflicts=True,
        )
    return len(ids)


def notifications_mark_read(*, user, ids: Iterable[int] | None = None) -> int:
    """Mark the person's own notifications read: these ``ids``, or all of them."""
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.update(read_at=timezone.now())


def inbox_data_of(*, user) -> list[dict[str, Any]]:
    """The person's notifications as they read them, JSON-ready (their export)."""
    rows = []
    for notification in Notification.objects.filter(recipient=user).order_by("created_at", "id"):
        subject, body = notification.rendered()
        rows.append(
            {
                "kind": notification.kind,
                "subject": subject,
                "body": body,
                "created_at": notification.created_at.isoformat(),
                "read_at": notification.read_at.isoformat() if notification.read_at else None,
            }
        )
    return rows


def inbox_delete(*, user) -> int:
    """On account deletion: the inbox goes."""
    return Notification.objects.filter(recipient=user).delete()[0]
