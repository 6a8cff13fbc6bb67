"""Reads of the registry. Who may read is decided by the caller's scope or ownership."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Count, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from places.models import Municipality

from . import flags
from .models import (
    Activity,
    AgeBand,
    Announcement,
    Category,
    Perk,
    PrefectureRegistration,
    PremiumApplication,
    Registration,
    ReviewStatus,
    Skill,
    Status,
    Tier,
)


def _activities_this_year(today: datetime.date) -> Coalesce:
    """Accepted activities since 1 January, as a correlated subquery: evaluated only for the
    rows a page shows, not grouped over every registrant of a town."""
    counted = (
        Activity.objects.filter(
            registration=OuterRef("pk"),
            status=ReviewStatus.APPROVED,
            occurred_on__gte=today.replace(month=1, day=1),
        )
        .order_by()
        .values("registration")
        .annotate(n=Count("pk"))
        .values("n")[:1]
    )
    return Coalesce(Subquery(counted), 0)


def registrations_of(*, person: User, include_withdrawn: bool = False) -> QuerySet[Registration]:
    """The person's registrations, with this year's activity count."""
    queryset = Registration.objects.filter(person=person).select_related("municipality__prefecture")
    if not include_withdrawn:
        queryset = queryset.filter(status=Status.ACTIVE)
    return queryset.annotate(
        activities_this_year=_activities_this_year(timezone.localdate())
    ).order_by("status", "-registered_at", "-id")


def registration_of(*, person: User, pk: int) -> Registration:
    """One of the person's own registrations; anyone else's is a 404."""
    registration = registrations_of(person=person, include_withdrawn=True).filter(pk=pk).first()
    if registration is None:
        raise Http404
    return registration


def prefecture_registrations_of(*, person: User) -> QuerySet[PrefectureRegistration]:
    return PrefectureRegistration.objects.filter(
        person=person, status=Status.ACTIVE
    ).select_related("prefecture")


def perks_for(*, registration: Registration) -> QuerySet[Perk]:
    """The perks a registrant gets: the basic ones, and the premium ones when premium."""
    tiers = [Tier.BASIC, Tier.PREMIUM] if registration.is_premium else [Tier.BASIC]
    return Perk.objects.filter(
        municipality_id=registration.municipality_id, is_active=True, tier__in=tiers
    ).order_by("tier", "id")


def perks_of(*, municipality: Municipality, include_inactive: bool = False) -> QuerySet[Perk]:
    queryset = Perk.objects.filter(municipality=municipality)
    if not include_inactive:
        queryset = queryset.filter(is_active=True)
    return queryset.order_by("tier", "id")


def activities_of(*, registration: Registration) -> QuerySet[Activity]:
    return registration.activities.order_by("-occurred_on", "-id")


def premium_slots_used(*, person: User) -> int:
    return (
        Registration.objects.filter(person=person, status=Status.ACTIVE, tier=Tier.PREMIUM).count()
        + PremiumApplication.objects.filter(
            registration__person=person, status=ReviewStatus.PENDING
        ).count()
    )


# --- Staff side (the caller checked the scope: registrants_read / manages_municipality) --


def registrants_of(*, municipality: Municipality) -> QuerySet[Registration]:
    """Active registrations of a municipality, with what a registrant row shows."""
    return (
        Registration.objects.filter(municipality=municipality, status=Status.ACTIVE)
        .select_related("person__profile")
        .annotate(activities_this_year=_activities_this_year(timezone.localdate()))
        .order_by("-registered_at", "-id")
    )


def registrants_filter(queryset: QuerySet[Registration], **criteria: Any) -> QuerySet:
    """Staff filters: tier, a relationship type (bit), origin, registered since/until,
    active within N days, announcements consented."""
    if criteria.get("tier"):
        queryset = queryset.filter(tier=criteria["tier"])
    if criteria.get("type_bit"):
        queryset = queryset.alias(type_hit=F("types").bitand(criteria["type_bit"])).filter(
            type_hit__gt=0
        )
    if criteria.get("origin"):
        queryset = queryset.filter(origin=criteria["origin"])
    if criteria.get("registered_from"):
        queryset = queryset.filter(registered_at__date__gte=criteria["registered_from"])
    if criteria.get("registered_to"):
        queryset = queryset.filter(registered_at__date__lte=criteria["registered_to"])
    if criteria.get("active_within_days"):
        since = timezone.localdate() - datetime.timedelta(days=criteria["active_within_days"])
        queryset = queryset.filter(last_activity_on__gte=since)
    if criteria.get("announcements") is not None:
        queryset = queryset.filter(allow_announcements=criteria["announcements"])
    return queryset


def person_name(person: User) -> str | None:
    """The person's 姓 名, ``None`` when they have none. Not ``get_full_name()``: it falls
    back to the e-mail address, which consent to the name does not cover."""
    return f"{person.family_name} {person.given_name}".strip() or None


def shared_name(registration: Registration) -> str | None:
    """The name the registrant agreed to show this registration's municipality, if any."""
    return person_name(registration.person) if registration.share_name else None


def registrant_row(registration: Registration, today: datetime.date | None = None) -> dict:
    """What staff may see of one registrant: the registration, and of the person only the
    fields they consented to (``None`` where not)."""
    today = today or timezone.localdate()
    person = registration.person
    profile = getattr(person, "profile", None) if person is not None else None
    band = AgeBand.for_birth_year(profile.birth_year, today) if profile else None
    return {
        "id": registration.pk,
        "registered_at": registration.registered_at,
        "types": registration.type_values(),
        "origin": registration.origin,
        "tier": registration.tier,
        "premium_until": registration.premium_until,
        "last_activity_on": registration.last_activity_on,
        "activities_this_year": getattr(registration, "activities_this_year", None),
        "allow_announcements": registration.allow_announcements,
        "name": shared_name(registration),
        "name_kana": (
            f"{person.family_name_kana} {person.given_name_kana}".strip()
            if registration.share_name
            else None
        ),
        "email": person.email if registration.share_contact else None,
        "age_band": (band.value if band else None) if registration.share_age_band else None,
        "skills": (
            flags.values_of(Skill, profile.skills if profile else 0)
            if registration.share_skills
            else None
        ),
        "interests": (
            flags.values_of(Category, profile.interests if profile else 0)
            if registration.share_skills
            else None
        ),
    }


def premium_queue(*, municipality: Municipality) -> QuerySet[PremiumApplication]:
    return (
        PremiumApplication.objects.filter(
            registration__municipality=municipality, status=ReviewStatus.PENDING
        )
        .select_related("registration__person")
        .order_by("applied_at", "id")
    )


def activity_queue(*, municipality: Municipality) -> QuerySet[Activity]:
    return (
        Activity.objects.filter(
            registration__municipality=municipality, status=ReviewStatus.PENDING
        )
        .select_related("registration__person")
        .order_by("submitted_at", "id")
    )


def announcements_of(*, municipality: Municipality) -> QuerySet[Announcement]:
    return Announcement.objects.filter(municipality=municipality).order_by("-created_at", "-id")


def announcement_audience(*, municipality: Municipality) -> QuerySet[Registration]:
    """The registrations an announcement of ``municipality`` reaches: active, and agreed to
    hear from it."""
    return Registration.objects.filter(
        municipality=municipality, status=Status.ACTIVE, allow_announcements=True
    )
