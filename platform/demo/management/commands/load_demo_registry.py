"""Demo content for the registry: the demo resident's profile, registrations, a premium tier
and activities, and perks of the three demo towns. Everything goes through the services, as
a person and the towns' staff would do it; the content is ``demo/data/registry.yaml``.
Idempotent; refused in production."""

from __future__ import annotations

import datetime
import io

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from PIL import Image

from accounts.models import User
from demo.content import content
from places.models import Municipality
from registry import services
from registry.flags import mask_of
from registry.models import (
    Activity,
    ActivitySource,
    AvailableDays,
    Category,
    Language,
    Month,
    Perk,
    PremiumApplication,
    Registration,
    RelationshipType,
    ReviewStatus,
    Skill,
)


def _tiny_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (31, 111, 80)).save(buffer, format="PNG")
    return buffer.getvalue()


class Command(BaseCommand):
    help = (
        "Give the demo resident registrations in 飛騨市・智頭町・海士町 (one premium) and the "
        "demo towns perks (refused where FURUSATO_DEMO_CONTENT_ALLOWED is off)."
    )

    def handle(self, *args, **options) -> None:
        if not settings.DEMO_CONTENT_ALLOWED:
            raise CommandError("Demo content is not allowed here (production settings).")
        demo = content("registry")
        profile, premium = demo["profile"], demo["premium"]
        home = profile["home"]
        if not Municipality.objects.filter(code=home).exists():
            raise CommandError("Load the municipalities first: manage.py load_municipalities")
        people = {
            user.email: user for user in User.objects.filter(email__endswith="@demo.furusato.jp")
        }
        if demo["resident"] not in people or premium["decided_by"] not in people:
            raise CommandError("Create the demo accounts first: manage.py load_demo_accounts")
        resident = people[demo["resident"]]
        towns = Municipality.objects.in_bulk(
            [home, *(entry["municipality"] for entry in demo["registrations"])]
        )
        today = timezone.localdate()
        created = {"registrations": 0, "activities": 0, "perks": 0}

        with transaction.atomic():
            services.profile_update(
                user=resident,
                home_municipality=towns[home],
                birth_year=profile["birth_year"],
                interests=mask_of(Category, profile["interests"]),
                skills=mask_of(Skill, profile["skills"]),
                available_days=mask_of(AvailableDays, profile["available_days"]),
                available_months=mask_of(Month, [str(m) for m in profile["available_months"]]),
                languages=mask_of(Language, profile["languages"]),
            )
            registrations = {}
            for entry in demo["registrations"]:
                code = entry["municipality"]
                registration = (
                    Registration.objects.filter(person=resident, municipality_id=code)
                    .order_by("-registered_at")
                    .first()
                )
                if registration is None:
                    registration = services.registration_create(
                        person=resident,
                        municipality=towns[code],
                        types=mask_of(RelationshipType, entry["types"]),
                        origin=entry["origin"],
                        consent=entry["consent"],
                    )
                    created["registrations"] += 1
                registrations[code] = registration

            registration = registrations[premium["municipality"]]
            registration.refresh_from_db()
            if registration.is_active and not registration.is_premium:
                application = PremiumApplication.objects.filter(
                    registration=registration, status=ReviewStatus.PENDING
                ).first() or services.premium_apply(
                    registration=registration, message=premium["message"]
                )
                services.premium_decide(
                    application=application, actor=people[premium["decided_by"]], approve=True
                )

            for entry in demo["activities"]:
                if Activity.objects.filter(reference=entry["reference"]).exists():
                    continue
                activity = services.activity_record(
                    person=resident,
                    municipality=towns[entry["municipality"]],
                    title=entry["title"],
                    occurred_on=today - datetime.timedelta(days=entry["days_ago"]),
                    designated=entry["designated"],
                    reference=entry["reference"],
                )
                created["activities"] += activity is not None

            # One activity the person reported, waiting in the town's review queue.
            reported = demo["reported_activity"]
            registration = registrations[reported["municipality"]]
            if (
                registration.is_active
                and not Activity.objects.filter(
                    registration=registration, source=ActivitySource.UPLOAD
                ).exists()
            ):
                services.activity_submit(
                    registration=registration,
                    title=reported["title"],
                    occurred_on=today - datetime.timedelta(days=reported["days_ago"]),
                    evidence=SimpleUploadedFile("photo.png", _tiny_png(), content_type="image/png"),
                    note=reported["note"],
                )
                created["activities"] += 1

            for entry in demo["perks"]:
                code, title = entry["municipality"], entry["title"]
                if Perk.objects.filter(municipality_id=code, title=title).exists():
                    continue
                services.perk_save(
                    perk=Perk(
                        municipality=towns[code],
                        tier=entry["tier"],
                        kind=entry["kind"],
                        title=title,
                        description=f"{entry['description']}\n{demo['note']}",
                    ),
                    actor=people[entry["staff"]],
                )
                created["perks"] += 1

        self.stdout.write(
            self.style.SUCCESS(
                "Demo registry ready: {registrations} registrations, {activities} activities, "
                "{perks} perks added.".format(**created)
            )
        )
