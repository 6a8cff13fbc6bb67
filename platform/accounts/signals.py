"""A password change or reset ends every API token of the person: a token taken by someone
else stops working the moment the account is recovered."""

from allauth.account.adapter import get_adapter
from allauth.account.models import EmailAddress
from allauth.account.signals import (
    email_added,
    email_confirmed,
    password_changed,
    password_reset,
    password_set,
)
from allauth.mfa.models import Authenticator
from allauth.mfa.signals import authenticator_added, authenticator_removed
from allauth.usersessions.adapter import get_adapter as get_usersessions_adapter
from allauth.usersessions.models import UserSession
from django.contrib.auth.signals import user_logged_in
from django.dispatch import Signal, receiver
from rest_framework.authtoken.models import Token

from .middleware import (
    session_forget_second_factor,
    session_mark_enrolled,
    session_start_idle_clock,
)
from .selectors import must_use_second_factor


@receiver(password_changed)
@receiver(password_reset)
@receiver(password_set)
def revoke_api_tokens(sender, request, user, **kwargs) -> None:
    Token.objects.filter(user=user).delete()


@receiver(email_added)
def notify_email_added(sender, request, user, email_address, **kwargs) -> None:
    """The account's current address hears of a new one (allauth tells only of changes
    and removals): someone with the session cannot quietly attach an address."""
    current = EmailAddress.objects.filter(user=user, primary=True).exclude(pk=email_address.pk)
    if current := current.first():
        get_adapter(request).send_notification_mail(
            "account/email/email_added",
            user,
            {"added_email": email_address.email},
            email=current.email,
        )


@receiver(email_confirmed)
def release_unverified_copies(sender, request, email_address, **kwargs) -> None:
    """Once its owner confirmed an address, other accounts' unverified claims on it go."""
    EmailAddress.objects.filter(email__iexact=email_address.email, verified=False).exclude(
        user_id=email_address.user_id
    ).delete()


@receiver(user_logged_in)
def start_idle_clock(sender, request, user, **kwargs) -> None:
    """Staff sessions (accounts/middleware.py) start their idle clock at login."""
    if request is not None and hasattr(request, "session") and must_use_second_factor(user=user):
        session_start_idle_clock(request, user)


@receiver(authenticator_added)
def second_factor_added(sender, request, user, authenticator, **kwargs) -> None:
    """A person's first second factor: the session that set it up proved it (it entered the
    new factor's code, or used the key), and every other session and API token of the person
    ends — one opened with the password alone must not outlive the factor. Later factors (a
    second key, recovery codes) mark nothing: a session must pass an existing factor."""
    factors = Authenticator.objects.filter(
        user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
    )
    if authenticator.type == Authenticator.Type.RECOVERY_CODES or factors.count() != 1:
        return
    Token.objects.filter(user=user).delete()
    if request is not None and hasattr(request, "session"):
        others = UserSession.objects.filter(user=user).exclude(
            session_key=request.session.session_key
        )
        get_usersessions_adapter().end_sessions(others)
        session_mark_enrolled(request, user)


@receiver(authenticator_removed)
def recheck_second_factor(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        session_forget_second_factor(request)


# --- Hooks for the rooms above: a person's rights over their data -----------------------
# ``accounts`` cannot import the apps that keep data about a person (arrows point down), so
# it asks them. Receivers run inside the service's transaction.

#: Sent with ``user``; each receiver returns ``(section_name, json_ready_data)``.
personal_data_requested = Signal()

#: Sent with ``user`` just before the account is emptied; receivers delete or anonymise
#: what they keep about the person.
account_deleting = Signal()
