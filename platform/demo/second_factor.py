"""The demo staff's second factor: one published TOTP secret for every demo staff account
(embedded default only; the commands that create demo people refuse elsewhere)."""

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP

# Add it to an authenticator app, or print the current code: ``manage.py demo_totp EMAIL``.
from .content import DEMO_TOTP_SECRET


def demo_second_factor_give(*, user) -> None:
    """Give a demo staff account the published TOTP secret, once."""
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, DEMO_TOTP_SECRET)
