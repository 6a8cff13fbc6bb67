"""Every row lock notifications take, by name.

- **people, in id order**: ``notification_send`` with a weekly cap locks the recipients'
  account rows, so that two matchers cannot both see room under the cap for one person.
  It runs inside its caller's transaction, after whatever the caller locked (a task, a
  session): notifications are always locked last.
- **a person's due notifications** (digests) and **due e-mails** (the relay) are claimed
  with ``SKIP LOCKED``: runs at once take different rows and never wait on each other.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from accounts.models import User


def lock_people(ids: Iterable[int]) -> None:
    list(User.objects.select_for_update().filter(pk__in=list(ids)).order_by("pk").values("pk"))


def claim(rows: QuerySet) -> QuerySet:
    """``rows`` locked for this run, leaving out those another run holds."""
    return rows.select_for_update(skip_locked=True)
