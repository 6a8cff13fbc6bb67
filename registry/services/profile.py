"""The person's profile: home municipality, birth year and what they can and like to do."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User

from .. import locks
from ..errors import RegistryCode
from ..models import Profile, Registration, Status

PROFILE_FIELDS = (
    "home_municipality",
    "birth_year",
    "gender",
    "interests",
    "skills",
    "available_days",
    "available_months",
    "languages",
)


def profile_update(*, user: User, **fields: Any) -> Profile:
    """Set profile fields (any of ``PROFILE_FIELDS``); the rest stay as they are."""
    unknown = set(fields) - set(PROFILE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown profile fields: {sorted(unknown)}")
    with transaction.atomic():
        locks.person_lock(user)  # against a registration with the new home made meanwhile
        profile, _created = locks.profile_lock(user)
        for name, value in fields.items():
            setattr(profile, name, value)
        home = fields.get("home_municipality")
        if home is not None and (
            Registration.objects.filter(
                person=user, municipality=home, status=Status.ACTIVE
            ).exists()
        ):
            raise ValidationError(
                {
                    "home_municipality": ValidationError(
                        _(
                            "%(name)s にはふるさと住民として登録しています。"
                            "住所をそのまちに移した場合は、先にその登録を取り下げてください。"
                        )
                        % {"name": home.name},
                        code=RegistryCode.HOME_IS_REGISTERED,
                    )
                }
            )
        this_year = timezone.localdate().year
        if profile.birth_year is not None and not (
            this_year - 120 <= profile.birth_year <= this_year
        ):
            raise ValidationError(
                {
                    "birth_year": ValidationError(
                        _("生まれた年は %(low)s〜%(high)s で入力してください。")
                        % {"low": this_year - 120, "high": this_year},
                        code=RegistryCode.BIRTH_YEAR_OUT_OF_RANGE,
                    )
                }
            )
        profile.full_clean(exclude=["user"])
        profile.save()
    return profile


def profile_of(user: User) -> Profile:
    """The person's profile, empty (unsaved) if they have not written one."""
    try:
        return user.profile
    except Profile.DoesNotExist:
        return Profile(user=user)
