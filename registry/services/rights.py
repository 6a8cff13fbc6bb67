"""The person's rights (receivers of accounts' signals): their data export and anonymising."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.files.storage import storages
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User

from .. import flags
from ..models import (
    Activity,
    AvailableDays,
    Category,
    EventKind,
    Language,
    Month,
    PrefectureRegistration,
    PremiumApplication,
    Profile,
    Registration,
    RegistrationEvent,
    RelationshipType,
    ReviewStatus,
    Skill,
    Status,
    Tier,
)
from .profile import profile_of


def registry_data_of(*, user: User) -> dict[str, Any]:
    """The registry's part of the person's data export."""
    profile = profile_of(user)
    registrations = []
    for registration in (
        Registration.objects.filter(person=user)
        .select_related("municipality")
        .prefetch_related("events", "activities", "premium_applications")
        .order_by("registered_at", "id")
    ):
        registrations.append(
            {
                "id": registration.pk,
                "municipality": {
                    "code": registration.municipality_id,
                    "name": registration.municipality.name,
                },
                "home_municipality": registration.home_municipality_id,
                "types": registration.type_values(),
                "origin": registration.origin,
                "status": registration.status,
                "registered_at": _iso(registration.registered_at),
                "withdrawn_at": _iso(registration.withdrawn_at),
                "tier": registration.tier,
                "premium_since": _iso(registration.premium_since),
                "premium_until": _iso(registration.premium_until),
                "consent": registration.consent(),
                "guardian_name": registration.guardian_name,
                "guardian_consented_at": _iso(registration.guardian_consented_at),
                "last_activity_on": _iso(registration.last_activity_on),
                "history": [
                    {"kind": event.kind, "at": _iso(event.at), "detail": _readable(event.detail)}
                    for event in registration.events.all()
                ],
                "activities": [
                    {
                        "title": activity.title,
                        "occurred_on": activity.occurred_on.isoformat(),
                        "designated": activity.designated,
                        "source": activity.source,
                        "status": activity.status,
                        "note": activity.note,
                        "evidence": activity.evidence.name or None,
                    }
                    for activity in registration.activities.all()
                ],
                "premium_applications": [
                    {
                        "status": application.status,
                        "applied_at": _iso(application.applied_at),
                        "message": application.message,
                        "decided_at": _iso(application.decided_at),
                        "decision_note": application.decision_note,
                    }
                    for application in registration.premium_applications.all()
                ],
            }
        )
    return {
        "profile": {
            "home_municipality": profile.home_municipality_id,
            "birth_year": profile.birth_year,
            "gender": profile.gender or None,
            "interests": flags.values_of(Category, profile.interests),
            "skills": flags.values_of(Skill, profile.skills),
            "available_days": flags.values_of(AvailableDays, profile.available_days),
            "available_months": flags.values_of(Month, profile.available_months),
            "languages": flags.values_of(Language, profile.languages),
        },
        "registrations": registrations,
        "prefecture_registrations": [
            {
                "prefecture": row.prefecture_id,
                "status": row.status,
                "registered_at": _iso(row.registered_at),
                "withdrawn_at": _iso(row.withdrawn_at),
            }
            for row in PrefectureRegistration.objects.filter(person=user).order_by("id")
        ],
    }


def _iso(value) -> str | None:
    """ISO 8601; times in Asia/Tokyo, as the API gives them."""
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value)
    return value.isoformat() if value else None


def _readable(detail: dict) -> dict:
    """An event's detail for the person: relationship types by name, not as a bitmask."""
    if isinstance(detail.get("types"), int):
        return {**detail, "types": flags.values_of(RelationshipType, detail["types"])}
    return detail


def registry_anonymise(*, user: User) -> None:
    """On account deletion: registrations stay for statistics, withdrawn and stripped of
    everything personal; evidence files and the profile are deleted."""
    now = timezone.now()
    storage = storages["private"]
    files = list(
        Activity.objects.filter(registration__person=user)
        .exclude(evidence="")
        .values_list("evidence", flat=True)
    )
    # Files go once the deletion has committed: a rollback must not leave rows without files.
    for name in files:
        transaction.on_commit(lambda name=name: storage.delete(name))
    Activity.objects.filter(registration__person=user).update(
        title="-", evidence="", note="", review_note=""
    )
    PremiumApplication.objects.filter(registration__person=user).update(
        message="", decision_note=""
    )
    PremiumApplication.objects.filter(
        registration__person=user, status=ReviewStatus.PENDING
    ).update(status=ReviewStatus.CANCELLED, decided_at=now)
    active_ids = list(
        Registration.objects.filter(person=user, status=Status.ACTIVE).values_list("pk", flat=True)
    )
    Registration.objects.filter(person=user).update(
        guardian_name="",
        share_name=False,
        share_contact=False,
        share_age_band=False,
        share_skills=False,
        allow_announcements=False,
        card_serial=F("card_serial") + 1,
    )
    Registration.objects.filter(pk__in=active_ids).update(
        status=Status.WITHDRAWN,
        withdrawn_at=now,
        tier=Tier.BASIC,
        premium_since=None,
        premium_until=None,
    )
    RegistrationEvent.objects.filter(registration__person=user).update(detail={})
    RegistrationEvent.objects.bulk_create(
        RegistrationEvent(registration_id=pk, kind=EventKind.ANONYMISED, at=now)
        for pk in active_ids
    )
    PrefectureRegistration.objects.filter(person=user, status=Status.ACTIVE).update(
        status=Status.WITHDRAWN, withdrawn_at=now
    )
    Profile.objects.filter(user=user).delete()
