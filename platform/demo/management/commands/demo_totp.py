"""Print the current second-factor code of a demo account (embedded default only)."""

import time

from allauth.mfa import app_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from allauth.mfa.utils import decrypt
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Print the current TOTP code of a demo account, for logging in as demo staff "
        "(refused where FURUSATO_DEMO_CONTENT_ALLOWED is off)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("email", help="e.g. hida@demo.furusato.jp")

    def handle(self, *args, email: str, **options) -> None:
        if not settings.DEMO_CONTENT_ALLOWED:
            raise CommandError("Demo codes are not available here (production settings).")
        authenticator = Authenticator.objects.filter(
            user__email__iexact=email, type=Authenticator.Type.TOTP
        ).first()
        if authenticator is None:
            raise CommandError(f"{email} has no TOTP second factor (manage.py load_demo_accounts).")
        secret = decrypt(authenticator.data["secret"])
        counter = int(time.time()) // app_settings.TOTP_PERIOD
        self.stdout.write(format_hotp_value(hotp_value(secret, counter)))
