"""Demo content for the registry: the demo resident's profile, registrations, a premium tier
and activities, and perks of the three demo towns. Everything goes through the services, as
a person and the towns' staff would do it. Idempotent; refused in production."""

from __future__ import annotations

import datetime
import io

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
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
    PerkKind,
    PremiumApplication,
    Registration,
    RelationshipType,
    ReviewStatus,
    Skill,
    TieOrigin,
    Tier,
)

RESIDENT = "resident@demo.furusato.jp"
HOME = "131121"  # 世田谷区
DEMO_NOTE = "※デモ用の架空の特典です。実際の制度ではありません。"

# (code, types, origin, consent)
REGISTRATIONS = [
    (
        "212172",  # 飛騨市
        [RelationshipType.PARTICIPATION, RelationshipType.HOBBY],
        TieOrigin.VISITS,
        {
            "share_name": True,
            "share_contact": True,
            "share_age_band": True,
            "share_skills": True,
            "allow_announcements": True,
        },
    ),
    (
        "313289",  # 智頭町
        [RelationshipType.TELEWORK, RelationshipType.NON_VISITING],
        TieOrigin.FAMILY,
        {"share_age_band": True, "allow_announcements": True},
    ),
    (
        "325252",  # 海士町
        [RelationshipType.NON_VISITING],
        TieOrigin.FURUSATO_NOZEI,
        {},
    ),
]
PREMIUM = ("212172", "hida@demo.furusato.jp")

# (code, reference, title, days ago, designated)
ACTIVITIES = [
    ("212172", "demo:hida:cleanup", "古い町並みの清掃のお手伝い", 0, True),
    ("212172", "demo:hida:rice", "棚田の田植えのお手伝い", 45, True),
    ("212172", "demo:hida:festival", "秋祭りの会場準備", 120, False),
    ("313289", "demo:chizu:forest", "森林セラピーのガイド補助（オンライン打ち合わせ）", 20, False),
]

# (code, staff e-mail, tier, kind, title, description)
PERKS = [
    (
        "212172",
        "hida@demo.furusato.jp",
        Tier.BASIC,
        PerkKind.INFORMATION,
        "関係人口向けの情報誌（デモ）",
        "お手伝いの募集や季節の行事をまとめた情報誌を、年4回このサイトのお知らせでお届けします。",
    ),
    (
        "212172",
        "hida@demo.furusato.jp",
        Tier.BASIC,
        PerkKind.FACILITY,
        "市の施設の割引（デモ）",
        "市内の一部の資料館・温泉施設で、受付で登録証を示すと入館料が1割引になります。",
    ),
    (
        "212172",
        "hida@demo.furusato.jp",
        Tier.PREMIUM,
        PerkKind.TRANSPORT,
        "お手伝いに来るときの交通費の一部補助（デモ）",
        "担い手活動に参加するために市外から来るとき、公共交通の運賃の一部を年3回まで補助します。",
    ),
    (
        "313289",
        "chizu@demo.furusato.jp",
        Tier.BASIC,
        PerkKind.LODGING,
        "町内の宿泊施設の宿泊補助（デモ）",
        "町内の登録宿泊施設に泊まるとき、1泊あたり2,000円を補助します（年2泊まで）。",
    ),
    (
        "325252",
        "ama@demo.furusato.jp",
        Tier.BASIC,
        PerkKind.COWORKING,
        "コワーキングスペースの利用（デモ）",
        "島のコワーキングスペースを、ふるさと住民は1日500円で使えます。Wi-Fi・電源つき。",
    ),
    (
        "325252",
        "ama@demo.furusato.jp",
        Tier.PREMIUM,
        PerkKind.TRANSPORT,
        "フェリー運賃の一部補助（デモ）",
        "本土との往復フェリー運賃の一部を、年1回補助します。",
    ),
]


def _tiny_png() -> bytes:
    from PIL import Image

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
        if not Municipality.objects.filter(code=HOME).exists():
            raise CommandError("Load the municipalities first: manage.py load_municipalities")
        people = {
            user.email: user for user in User.objects.filter(email__endswith="@demo.furusato.jp")
        }
        if RESIDENT not in people or PREMIUM[1] not in people:
            raise CommandError("Create the demo accounts first: manage.py load_demo_accounts")
        resident = people[RESIDENT]
        towns = Municipality.objects.in_bulk([HOME, *(code for code, *_ in REGISTRATIONS)])
        today = timezone.localdate()
        created = {"registrations": 0, "activities": 0, "perks": 0}

        with transaction.atomic():
            services.profile_update(
                user=resident,
                home_municipality=towns[HOME],
                birth_year=1988,
                interests=mask_of(
                    Category, [Category.FARMING, Category.FESTIVALS, Category.DIGITAL]
                ),
                skills=mask_of(Skill, [Skill.WEB, Skill.PHOTO_VIDEO, Skill.DRIVING]),
                available_days=mask_of(AvailableDays, [AvailableDays.WEEKENDS]),
                available_months=mask_of(Month, [Month.MAY, Month.AUG, Month.OCT]),
                languages=mask_of(Language, [Language.JA, Language.EN]),
            )
            registrations = {}
            for code, types, origin, consent in REGISTRATIONS:
                registration = (
                    Registration.objects.filter(person=resident, municipality_id=code)
                    .order_by("-registered_at")
                    .first()
                )
                if registration is None:
                    registration = services.registration_create(
                        person=resident,
                        municipality=towns[code],
                        types=mask_of(RelationshipType, types),
                        origin=origin,
                        consent=consent,
                    )
                    created["registrations"] += 1
                registrations[code] = registration

            code, staff_email = PREMIUM
            registration = registrations[code]
            registration.refresh_from_db()
            if registration.is_active and not registration.is_premium:
                application = PremiumApplication.objects.filter(
                    registration=registration, status=ReviewStatus.PENDING
                ).first() or services.premium_apply(
                    registration=registration, message="週末なら市役所の窓口に行けます。"
                )
                services.premium_decide(
                    application=application, decided_by=people[staff_email], approve=True
                )

            for code, reference, title, days_ago, designated in ACTIVITIES:
                if Activity.objects.filter(reference=reference).exists():
                    continue
                activity = services.activity_record(
                    person=resident,
                    municipality=towns[code],
                    title=title,
                    occurred_on=today - datetime.timedelta(days=days_ago),
                    designated=designated,
                    reference=reference,
                )
                created["activities"] += activity is not None

            # One activity the person reported, waiting in 智頭町's review queue.
            chizu = registrations["313289"]
            if (
                chizu.is_active
                and not Activity.objects.filter(
                    registration=chizu, source=ActivitySource.UPLOAD
                ).exists()
            ):
                services.activity_submit(
                    registration=chizu,
                    title="智頭町の杉の間伐体験に参加",
                    occurred_on=today - datetime.timedelta(days=7),
                    evidence=SimpleUploadedFile("photo.png", _tiny_png(), content_type="image/png"),
                    note="町の森林組合の方に案内していただきました。",
                )
                created["activities"] += 1

            for code, staff_email, tier, kind, title, description in PERKS:
                if Perk.objects.filter(municipality_id=code, title=title).exists():
                    continue
                services.perk_save(
                    perk=Perk(
                        municipality=towns[code],
                        tier=tier,
                        kind=kind,
                        title=title,
                        description=f"{description}\n{DEMO_NOTE}",
                    ),
                    actor=people[staff_email],
                )
                created["perks"] += 1

        self.stdout.write(
            self.style.SUCCESS(
                "Demo registry ready: {registrations} registrations, {activities} activities, "
                "{perks} perks added.".format(**created)
            )
        )
