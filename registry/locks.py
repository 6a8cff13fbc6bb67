"""Every row lock the registry takes, by name, so that the order is visible in one place.

Each function runs inside the caller's transaction (``SELECT … FOR UPDATE``). The orders the
services take them in (an ``UPDATE`` also locks the rows it changes):

- **person → profile**: ``profile_update``.
- **person → registration**: ``registration_create``, ``premium_apply``; and
  ``registration_withdraw``: person → registration → its pending premium applications
  (``UPDATE``) → the prefecture registration (``UPDATE``).
- **person → premium application → registration**: ``premium_decide``.
- **person → activities, premium applications, registrations** (``UPDATE``): account deletion;
  ``accounts.services.account_delete`` locks the person before ``registry_anonymise`` runs.
- **registration** alone: ``consent_change``, ``card_reissue`` (``UPDATE``),
  ``activity_submit``, and the premium sweeps (``premium_term_lock``,
  ``premium_reminder_lock``), one registration per transaction.
- **activity → registration** (``UPDATE`` of its last activity): ``activity_review``;
  ``activity_withdraw`` and ``activity_record`` (the activity by its reference, when it
  exists: withdrawn and recorded again) likewise; a new one updates the registration alone.
  The board calls both holding the sign-up whose attendance changed (``matching.locks``):
  sign-up → activity → registration.
- **town page** alone (``places.TownPage``, made when missing): ``town_page_update``.
- **municipality → announcement** (insert): ``announcement_create``; the fan-out claims an
  announcement alone, skipping one another run holds (``announcement_claim``).

The rule that keeps this free of deadlocks: a service that locks more than one of a person's
rows takes the person first. One pair is taken in both orders under it: withdrawing locks
the registration before its premium application, deciding the application locks the
application before the registration. Both hold the person first, so neither can hold one
row and wait for the other. Keep the person first in any new service.
"""

from __future__ import annotations

import datetime

from django.db.models import F

from accounts.models import User
from places.models import Municipality, TownPage

from .models import Activity, Announcement, PremiumApplication, Profile, Registration, Tier


def person_lock(person: User) -> User:
    """Serialise a person's registry changes (limits that span registrations)."""
    return User.objects.select_for_update().get(pk=person.pk)


def profile_lock(user: User) -> tuple[Profile, bool]:
    """The person's profile, locked; created (empty) if they have none yet."""
    return Profile.objects.select_for_update().get_or_create(user=user)


def premium_application_lock(pk: int) -> PremiumApplication:
    return PremiumApplication.objects.select_for_update().get(pk=pk)


def registration_lock(pk: int) -> Registration:
    return Registration.objects.select_for_update().get(pk=pk)


def premium_term_lock(pk: int, today: datetime.date) -> Registration | None:
    """The premium registration whose term ended before ``today``; ``None`` when another
    run has dealt with it meanwhile."""
    return (
        Registration.objects.select_for_update()
        .filter(pk=pk, tier=Tier.PREMIUM, premium_until__lt=today)
        .first()
    )


def premium_reminder_lock(pk: int) -> Registration | None:
    """The premium registration not yet reminded of its term's end; ``None`` when it has
    been meanwhile."""
    return (
        Registration.objects.select_for_update()
        .select_related("person", "municipality")
        .filter(pk=pk, tier=Tier.PREMIUM)
        .exclude(premium_reminded_for=F("premium_until"))
        .first()
    )


def activity_lock(pk: int) -> Activity:
    return Activity.objects.select_for_update().get(pk=pk)


def activity_by_reference_lock(reference: str) -> Activity | None:
    """The board's activity recorded under ``reference`` (``"signup:123"``), locked; its
    registration read alongside (not locked). ``None`` when there is none."""
    return (
        Activity.objects.select_for_update(of=("self",))
        .select_related("registration__municipality")
        .filter(reference=reference)
        .first()
    )


def municipality_lock(municipality: Municipality) -> None:
    """One writer at a time per town (say, of announcements)."""
    Municipality.objects.select_for_update().filter(pk=municipality.pk).exists()


def announcement_claim(announcement_id: int) -> Announcement | None:
    """The announcement, locked for this run; ``None`` when missing or another run has it."""
    return (
        Announcement.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("municipality")
        .filter(pk=announcement_id)
        .first()
    )


def lock_town_page(municipality):
    """The town's own page (made when it has none yet), for ``town_page_update``."""
    return TownPage.objects.select_for_update().get_or_create(municipality=municipality)[0]
