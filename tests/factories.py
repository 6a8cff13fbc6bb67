"""Factories for the objects tests make. People are created through the model manager."""

from __future__ import annotations

import time

import factory
from allauth.account.models import EmailAddress

from accounts.models import Role, User
from accounts.services import membership_grant
from places.models import Municipality, Prefecture

PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.jp")
    family_name = "山田"
    given_name = factory.Sequence(lambda n: f"花子{n}")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def verified(user, create, extracted, **kwargs):
        """A verified primary e-mail address, as allauth leaves one after confirmation."""
        if create and extracted is not False:
            EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)


def totp_code(secret: str) -> str:
    """The code an authenticator app shows now for ``secret``."""
    from allauth.mfa import app_settings
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    return format_hotp_value(hotp_value(secret, int(time.time()) // app_settings.TOTP_PERIOD))


def totp_activate(user: User) -> str:
    """Give ``user`` a TOTP second factor, as setting one up on the pages does; returns
    the secret (also kept as ``user.totp_secret``) for computing codes."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    user.totp_secret = secret
    return secret


def person_with_role(role: Role, where: str | None = None, *, mfa: bool = True, **kwargs) -> User:
    """A verified person holding ``role`` in the municipality or prefecture coded ``where``.

    Staff (every role but host) get a TOTP second factor, as the site requires of them before
    they see personal data (``user.totp_secret``); ``mfa=False`` gives them none."""
    user = UserFactory(**kwargs)
    municipality = prefecture = None
    if role == Role.PREFECTURE_STAFF:
        prefecture = Prefecture.objects.get(code=where)
    elif role != Role.NATIONAL_ADMIN:
        municipality = Municipality.objects.get(code=where)
    membership_grant(user=user, role=role, municipality=municipality, prefecture=prefecture)
    if mfa and role != Role.HOST:
        totp_activate(user)
    return user


def client_for(user=None, language: str = "ja", **kwargs):
    """A browser for the pages: in ``language`` (header and cookie), signed in as ``user``."""
    from django.conf import settings
    from django.test import Client

    client = Client(HTTP_ACCEPT_LANGUAGE=language, **kwargs)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    if user is not None:
        sign_in(client, user)
    return client


def sign_in(client, user) -> None:
    """``client.force_login(user)``, and, where the account has a second factor, the
    session's record of having passed it, as a login with the code leaves it (staff need
    that record, not only the factor, before they see personal data)."""
    from allauth.account.internal.flows.login import (
        _AUTHENTICATION_METHODS_USER_SESSION_KEY,
        AUTHENTICATION_METHODS_SESSION_KEY,
    )

    from accounts.middleware import MFA_SEEN_SESSION_KEY
    from accounts.selectors import has_second_factor

    client.force_login(user)
    if has_second_factor(user=user):
        session = client.session
        now = time.time()
        session[AUTHENTICATION_METHODS_SESSION_KEY] = [
            {"method": "password", "at": now, "email": user.email},
            {"method": "mfa", "at": now, "type": "totp"},
        ]
        session[_AUTHENTICATION_METHODS_USER_SESSION_KEY] = str(user.pk)
        session[MFA_SEEN_SESSION_KEY] = int(now)  # as the login signal notes it
        session.save()
