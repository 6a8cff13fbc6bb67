"""A person's calendar feed: one secret URL a calendar app subscribes to (``matching.ical``
builds what it serves). Revoking deletes the row and makes a new one with a new token, so
the old URL stops working at once and the person has a fresh one to subscribe to."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User

from ..models import CalendarFeed
from ..selectors import calendar_feed_of


def calendar_feed_get(*, person: User) -> CalendarFeed:
    """The person's feed, made now if they have none (a second click changes nothing)."""
    feed = calendar_feed_of(person=person)
    if feed is not None:
        return feed
    try:
        with transaction.atomic():
            return CalendarFeed.objects.create(person=person, created_at=timezone.now())
    except IntegrityError:  # made meanwhile by another request of the same person
        return CalendarFeed.objects.get(person_id=person.pk)


def calendar_feed_revoke(*, person: User) -> CalendarFeed:
    """The old URL stops working; a new one (a new token) takes its place."""
    with transaction.atomic():
        CalendarFeed.objects.filter(person_id=person.pk).delete()
        try:
            with transaction.atomic():
                return CalendarFeed.objects.create(person=person, created_at=timezone.now())
        except IntegrityError:  # a concurrent revoke made one first: keep theirs
            return CalendarFeed.objects.get(person_id=person.pk)
