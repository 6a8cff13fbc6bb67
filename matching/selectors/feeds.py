"""Reads of calendar feeds: a person's own, and the one a URL names."""

from __future__ import annotations

from accounts.models import User

from ..models import CalendarFeed


def calendar_feed_of(*, person: User) -> CalendarFeed | None:
    """The person's feed, if they made one."""
    return CalendarFeed.objects.filter(person_id=person.pk).first()


def calendar_feed_by_token(token: str) -> CalendarFeed | None:
    """The feed a URL names (its person still active), else None."""
    if not token or len(token) > 64:
        return None
    return (
        CalendarFeed.objects.select_related("person")
        .filter(token=token, person__is_active=True)
        .first()
    )
