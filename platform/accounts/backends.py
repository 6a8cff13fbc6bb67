"""Logging in by e-mail address: allauth's backend, but never through an unverified address.

allauth falls back to an unverified address when no account has the address verified, so
an address someone added to their account without owning it would log in to (and reset)
that account. Here an address counts only once verified; the address an account signed up
with is still the account's own (``ModelBackend`` checks it, and allauth then asks for its
verification before letting the person in).
"""

from __future__ import annotations

from allauth.account.auth_backends import AuthenticationBackend
from allauth.account.models import EmailAddress
from django.contrib.auth.base_user import AbstractBaseUser


def users_by_verified_email(email: str, *, is_active: bool | None = None) -> list:
    """The accounts that hold ``email`` verified (one at most: verified addresses are
    unique)."""
    addresses = EmailAddress.objects.filter(email__iexact=email, verified=True).select_related(
        "user"
    )
    users = [address.user for address in addresses]
    if is_active is not None:
        users = [user for user in users if user.is_active == is_active]
    return users


class VerifiedEmailBackend(AuthenticationBackend):
    def _authenticate_by_email(self, email: str, password: str) -> AbstractBaseUser | None:
        for user in users_by_verified_email(email):
            if self._check_password(user, password):
                return user
        return None
