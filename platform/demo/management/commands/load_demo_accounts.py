"""Demo people and roles for trying the site, from ``demo/data/accounts.yaml`` (embedded
default only; refused in production)."""

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import MUNICIPALITY_ROLES, Membership, Role, User
from accounts.services import membership_grant
from demo.content import DEMO_PASSWORD, DEMO_TOTP_SECRET, content
from demo.second_factor import demo_second_factor_give
from places.models import Municipality, Prefecture


class Command(BaseCommand):
    help = "Create demo accounts with roles (refused where FURUSATO_DEMO_CONTENT_ALLOWED is off)."

    def handle(self, *args, **options) -> None:
        if not settings.DEMO_CONTENT_ALLOWED:
            raise CommandError("Demo accounts are not allowed here (production settings).")
        if not Municipality.objects.exists():
            raise CommandError("Load the municipalities first: manage.py load_municipalities")
        people = content("accounts")["accounts"]
        with transaction.atomic():
            for person in people:
                email, role = person["email"], person["role"]
                family, given = person["family_name"], person["given_name"]
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
                    municipality=Municipality.objects.get(code=person["municipality"])
                    if role in MUNICIPALITY_ROLES
                    else None,
                    prefecture=Prefecture.objects.get(code=person["prefecture"])
                    if role == Role.PREFECTURE_STAFF
                    else None,
                )
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(people)} demo accounts ready; password: {DEMO_PASSWORD}; "
                f"staff TOTP secret: {DEMO_TOTP_SECRET} (or: manage.py demo_totp EMAIL)"
            )
        )
