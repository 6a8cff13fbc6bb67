"""Demo people and roles for trying the site (embedded default only; refused in production)."""

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import MUNICIPALITY_ROLES, Membership, Role, User
from accounts.services import membership_grant
from demo.second_factor import DEMO_TOTP_SECRET, demo_second_factor_give
from places.models import Municipality, Prefecture

DEMO_PASSWORD = "furusato-demo-2026"  # noqa: S105  (demo only, printed in the README)

# (e-mail, 姓, 名, role, municipality or prefecture code)
DEMO_PEOPLE = [
    ("admin@demo.furusato.jp", "運営", "花子", Role.NATIONAL_ADMIN, None),
    ("gifu@demo.furusato.jp", "岐阜", "県職員", Role.PREFECTURE_STAFF, "21"),
    ("hida@demo.furusato.jp", "飛騨", "市職員", Role.MUNICIPALITY_ADMIN, "212172"),
    ("chizu@demo.furusato.jp", "智頭", "町職員", Role.MUNICIPALITY_ADMIN, "313289"),
    ("ama@demo.furusato.jp", "海士", "町職員", Role.MUNICIPALITY_EDITOR, "325252"),
    ("host@demo.furusato.jp", "山田", "太郎", Role.HOST, "313289"),
    ("resident@demo.furusato.jp", "佐藤", "美咲", None, None),
]


class Command(BaseCommand):
    help = "Create demo accounts with roles (refused where FURUSATO_DEMO_CONTENT_ALLOWED is off)."

    def handle(self, *args, **options) -> None:
        if not settings.DEMO_CONTENT_ALLOWED:
            raise CommandError("Demo accounts are not allowed here (production settings).")
        if not Municipality.objects.exists():
            raise CommandError("Load the municipalities first: manage.py load_municipalities")
        with transaction.atomic():
            for email, family, given, role, where in DEMO_PEOPLE:
                user, created = User.objects.get_or_create(
                    email=email, defaults={"family_name": family, "given_name": given}
                )
                if created:
                    user.set_password(DEMO_PASSWORD)
                    user.is_staff = role == Role.NATIONAL_ADMIN
                    user.is_superuser = role == Role.NATIONAL_ADMIN
                    user.save()
                EmailAddress.objects.update_or_create(
                    user=user, email=email, defaults={"verified": True, "primary": True}
                )
                if role not in (None, Role.HOST):
                    demo_second_factor_give(user=user)
                if role is None or Membership.objects.filter(user=user, role=role).exists():
                    continue
                membership_grant(
                    user=user,
                    role=role,
                    municipality=Municipality.objects.get(code=where)
                    if role in MUNICIPALITY_ROLES
                    else None,
                    prefecture=Prefecture.objects.get(code=where)
                    if role == Role.PREFECTURE_STAFF
                    else None,
                )
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(DEMO_PEOPLE)} demo accounts ready; password: {DEMO_PASSWORD}; "
                f"staff TOTP secret: {DEMO_TOTP_SECRET} (or: manage.py demo_totp EMAIL)"
            )
        )
