"""The daily and weekly digests: what waited for one, bundled into one e-mail per person."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone

from .. import locks
from ..models import DIGEST_FREQUENCIES, Email, Frequency, Notification
from .sending import _relay_soon


def _digest_cutoff(period: str, now: datetime.datetime) -> tuple[datetime.datetime, str]:
    """The start of the current day (daily) or ISO week (weekly), local time, and the
    label of the period that ended there."""
    today = timezone.localdate(now)
    if period == Frequency.DAILY:
        start = today
        label = (today - datetime.timedelta(days=1)).isoformat()
    else:
        start = today - datetime.timedelta(days=today.weekday())
        year, week, _day = (start - datetime.timedelta(days=1)).isocalendar()
        label = f"{year}-W{week:02d}"
    return timezone.make_aware(datetime.datetime.combine(start, datetime.time.min)), label


def digests_send(*, now: datetime.datetime | None = None, max_people: int = 5000) -> int:
    """Bundle what waited for a daily or weekly digest, for the day or week that has ended,
    into one e-mail per person. Idempotent (a notification is bundled once, under lock);
    beat runs it hourly, so a missed hour only delays. Returns the digests written."""
    now = now or timezone.now()
    written = 0
    for period in DIGEST_FREQUENCIES:
        cutoff, label = _digest_cutoff(period, now)
        due = Notification.objects.filter(digest=period, digest_key="", created_at__lt=cutoff)
        people = list(
            due.order_by("recipient_id")
            .values_list("recipient_id", flat=True)
            .distinct()[:max_people]
        )
        for person_id in people:
            with transaction.atomic():
                items = list(
                    locks.claim(due.filter(recipient_id=person_id))
                    .order_by("id")
                    .values_list("id", "topic")
                )
                if not items:
                    continue
                key = f"digest:{period}:{label}:{items[0][0]}"
                Notification.objects.filter(pk__in=[pk for pk, _t in items]).update(digest_key=key)
                Email.objects.create(recipient_id=person_id, key=key, digest=period, created_at=now)
                written += 1
        if written:
            _relay_soon()
    return written
