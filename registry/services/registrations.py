"""Registering with a municipality, consent, withdrawing and the resident card."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.selectors import staff_scope
from accounts.services import audit_record
from core.errors import Conflict, Denied
from places.models import Municipality

from .. import locks
from ..cards import card_check
from ..errors import RegistryCode
from ..models import (
    CONSENT_FIELDS,
    EventKind,
    PrefectureRegistration,
    PremiumApplication,
    Registration,
    ReviewStatus,
    Status,
    Tier,
    may_be_minor,
)
from ..selectors import shared_name
from .common import _event
from .profile import profile_of


def registration_create(
    *,
    person: User,
    municipality: Municipality,
    types: int,
    origin: str,
    consent: dict[str, bool] | None = None,
    guardian_name: str = "",
    guardian_consent: bool = False,
) -> Registration:
    """Register ``person`` as a furusato resident of ``municipality`` (and its prefecture)."""
    consent = {name: bool((consent or {}).get(name, False)) for name in CONSENT_FIELDS}
    now = timezone.now()
    with transaction.atomic():
        locks.person_lock(person)
        profile = profile_of(person)
        if not profile.is_complete:
            raise ValidationError(
                _("登録の前に、プロフィールで住所の市区町村と生まれた年を設定してください。"),
                code=RegistryCode.PROFILE_INCOMPLETE,
            )
        if municipality.pk == profile.home_municipality_id:
            raise ValidationError(
                {
                    "municipality": ValidationError(
                        _(
                            "%(name)s は住民票のある市区町村なので登録できません。"
                            "ふるさと住民登録は、住んでいるまち以外のまちとの関わりのための制度です。"
                        )
                        % {"name": municipality.name},
                        code=RegistryCode.HOME_MUNICIPALITY,
                    )
                }
            )
        if Registration.objects.filter(
            person=person, municipality=municipality, status=Status.ACTIVE
        ).exists():
            raise _already_registered(municipality)
        guardian_name = guardian_name.strip()
        minor = may_be_minor(profile.birth_year, timezone.localdate())
        if minor and not (guardian_consent and guardian_name):
            raise ValidationError(
                {
                    "guardian_consent": ValidationError(
                        _("18歳未満の方の登録には、保護者の同意と保護者の氏名が必要です。"),
                        code=RegistryCode.GUARDIAN_CONSENT_REQUIRED,
                    )
                }
            )
        registration = Registration(
            person=person,
            municipality=municipality,
            home_municipality_id=profile.home_municipality_id,
            types=types,
            origin=origin,
            registered_at=now,
            guardian_name=guardian_name if minor else "",
            guardian_consented_at=now if minor else None,
            **consent,
        )
        if not types:
            raise ValidationError(
                {
                    "types": ValidationError(
                        _("関わり方を1つ以上選んでください。"), code=RegistryCode.TYPES_REQUIRED
                    )
                }
            )
        registration.full_clean(
            exclude=["person", "municipality", "home_municipality"], validate_constraints=False
        )
        try:
            with transaction.atomic():
                registration.save()
        except IntegrityError as exc:  # a concurrent duplicate
            raise _already_registered(municipality) from exc
        if not PrefectureRegistration.objects.filter(
            person=person, prefecture_id=municipality.prefecture_id, status=Status.ACTIVE
        ).exists():
            PrefectureRegistration.objects.create(
                person=person, prefecture_id=municipality.prefecture_id, registered_at=now
            )
        _event(
            registration,
            EventKind.REGISTERED,
            person,
            consent=consent,
            types=types,
            origin=origin,
            minor=minor,
        )
    return registration


def _already_registered(municipality: Municipality) -> Conflict:
    return Conflict(
        {
            "municipality": Conflict(
                _("%(name)s にはすでに登録しています。") % {"name": municipality.name},
                code=RegistryCode.ALREADY_REGISTERED,
            )
        }
    )


def consent_change(*, registration: Registration, actor: User, **consent: bool) -> Registration:
    """Change what the municipality may see or send; recorded with the whole consent."""
    unknown = set(consent) - set(CONSENT_FIELDS)
    if unknown:
        raise TypeError(f"Unknown consent fields: {sorted(unknown)}")
    with transaction.atomic():
        registration = locks.registration_lock(registration.pk)
        if not registration.is_active:
            raise Conflict(
                _("取り下げた登録の同意は変更できません。"),
                code=RegistryCode.REGISTRATION_WITHDRAWN,
            )
        changed = [name for name, value in consent.items() if getattr(registration, name) != value]
        if not changed:
            return registration
        for name in changed:
            setattr(registration, name, bool(consent[name]))
        registration.save(update_fields=changed)
        _event(
            registration,
            EventKind.CONSENT_CHANGED,
            actor,
            consent=registration.consent(),
            changed=changed,
        )
    return registration


def registration_withdraw(*, registration: Registration, actor: User) -> Registration:
    """Withdraw: the row stays as history; cards stop working; premium and its application end."""
    now = timezone.now()
    with transaction.atomic():
        locks.person_lock(registration.person)
        registration = locks.registration_lock(registration.pk)
        if not registration.is_active:
            return registration
        was_premium = registration.is_premium
        registration.status = Status.WITHDRAWN
        registration.withdrawn_at = now
        registration.card_serial = F("card_serial") + 1
        registration.tier = Tier.BASIC
        registration.premium_since = registration.premium_until = None
        registration.save(
            update_fields=[
                "status",
                "withdrawn_at",
                "card_serial",
                "tier",
                "premium_since",
                "premium_until",
            ]
        )
        registration.refresh_from_db(fields=["card_serial"])
        PremiumApplication.objects.filter(
            registration=registration, status=ReviewStatus.PENDING
        ).update(status=ReviewStatus.CANCELLED, decided_at=now)
        if was_premium:
            _event(registration, EventKind.PREMIUM_ENDED, actor, reason="withdrawn")
        _event(registration, EventKind.WITHDRAWN, actor)
        _prefecture_registration_sync(registration.person_id, registration.municipality, now)
    return registration


def _prefecture_registration_sync(person_id: int, municipality: Municipality, now) -> None:
    """End the prefecture registration when no active registration is left in it."""
    still_there = Registration.objects.filter(
        person_id=person_id,
        municipality__prefecture_id=municipality.prefecture_id,
        status=Status.ACTIVE,
    ).exists()
    if not still_there:
        PrefectureRegistration.objects.filter(
            person_id=person_id, prefecture_id=municipality.prefecture_id, status=Status.ACTIVE
        ).update(status=Status.WITHDRAWN, withdrawn_at=now)


def card_reissue(*, registration: Registration, actor: User) -> Registration:
    """A new card: every token shown before (say on a lost phone) is revoked."""
    with transaction.atomic():
        updated = Registration.objects.filter(pk=registration.pk, status=Status.ACTIVE).update(
            card_serial=F("card_serial") + 1
        )
        if not updated:
            raise Conflict(
                _("取り下げた登録の登録証は再発行できません。"),
                code=RegistryCode.REGISTRATION_WITHDRAWN,
            )
        registration.refresh_from_db()
        _event(registration, EventKind.CARD_REISSUED, actor)
    return registration


def card_verify(*, token: str, viewer: User) -> dict[str, Any]:
    """Check a card as staff: status and tier; the person's consented fields only for the
    staff of the card's own municipality. Every check is written to the audit log."""
    scope = staff_scope(user=viewer)
    if not scope.is_staff:
        raise Denied(
            _("登録証を確かめられるのは自治体の職員だけです。"),
            code=RegistryCode.CARD_CHECK_STAFF_ONLY,
        )
    check = card_check(token)
    result: dict[str, Any] = {"status": str(check.status), "status_label": check.status.label}
    registration = check.registration
    revealed: list[str] = []
    if registration is not None and check.status != "invalid":
        municipality = registration.municipality
        result.update(
            municipality={
                "code": municipality.code,
                "name": municipality.name,
                "romaji": municipality.romaji,
            },
            tier=registration.tier,
            tier_label=str(registration.get_tier_display()),
            premium_until=registration.premium_until,
            registered_on=timezone.localdate(registration.registered_at),
        )
        if check.status == "valid" and scope.manages_municipality(municipality.code):
            person = registration.person
            if registration.share_name:
                result["name"] = shared_name(registration)
                revealed.append("name")
            if registration.share_age_band:
                band = profile_of(person).age_band()
                result["age_band"] = str(band.label) if band else None
                revealed.append("age_band")
    with transaction.atomic():
        audit_record(
            actor=viewer,
            action="card.verify",
            target=registration,
            municipality=registration.municipality if registration else None,
            detail={"status": str(check.status), "revealed": revealed},
        )
    return result
