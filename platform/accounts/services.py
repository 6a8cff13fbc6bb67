"""Every write about people, roles and the audit log."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from core.errors import Denied
from core.text import as_typed, fixed_form
from places.models import Municipality, Prefecture

from . import locks
from .errors import AccountsCode
from .models import AuditEvent, Membership, Role, User
from .selectors import staff_scope, staff_scope_forget
from .signals import account_deleting, personal_data_requested


def audit_record(
    *,
    actor: User | None,
    action: str,
    target: Any = None,
    municipality: Municipality | None = None,
    detail: dict | None = None,
) -> AuditEvent:
    """Write one audit row. Call it inside the transaction of the act it records."""
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        municipality=municipality,
        detail=detail or {},
    )


def membership_grant(
    *,
    user: User,
    role: Role | str,
    municipality: Municipality | None = None,
    prefecture: Prefecture | None = None,
    granted_by: User | None = None,
) -> Membership:
    """Give ``user`` a role.

    ``granted_by`` is the person acting (``None`` for the system itself, e.g. a management
    command). A national administrator grants any role; a municipality's admin grants its
    editor role; any staff member of a municipality grants its host role (approving a host
    application); nobody else grants anything (``Denied``). A role that does not fit
    its place is a ValidationError.
    """
    if granted_by is not None and not _may_grant(granted_by, role, municipality):
        raise Denied(
            _("この役割を付与する権限がありません。"), code=AccountsCode.ROLE_GRANT_NOT_ALLOWED
        )
    membership = Membership(
        user=user,
        role=role,
        municipality=municipality,
        prefecture=prefecture,
        granted_by=granted_by,
    )
    try:
        with transaction.atomic():
            membership.full_clean(exclude=["user", "granted_by"], validate_constraints=False)
            membership.save()
            audit_record(
                actor=granted_by,
                action="membership.grant",
                target=membership,
                municipality=municipality,
                detail={"user": user.pk, "role": str(role)},
            )
            if role != Role.HOST:
                # A token taken before, with the password alone, must not carry staff power:
                # the person takes a new one with their second factor.
                Token.objects.filter(user=user).delete()
    except IntegrityError as exc:
        raise ValidationError(
            _("この役割は付与できません。すでに同じ役割があるか、所属先が役割に合いません。"),
            code=AccountsCode.ROLE_NOT_GRANTABLE,
        ) from exc
    staff_scope_forget(user=user)
    return membership


def _may_grant(actor: User, role: Role | str, municipality: Municipality | None) -> bool:
    if actor.is_superuser:
        return True
    scope = staff_scope(user=actor)
    if scope.national:
        return True
    if municipality is None:
        return False
    if role == Role.HOST:  # every staff member of the town approves its hosts
        return scope.manages_municipality(municipality.code)
    return role == Role.MUNICIPALITY_EDITOR and scope.administers_municipality(municipality.code)


def membership_revoke(*, membership: Membership, revoked_by: User | None = None) -> None:
    """Take a role away; the same people who may grant it may revoke it."""
    if revoked_by is not None and not _may_grant(
        revoked_by, membership.role, membership.municipality
    ):
        raise Denied(
            _("この役割を取り消す権限がありません。"), code=AccountsCode.ROLE_REVOKE_NOT_ALLOWED
        )
    with transaction.atomic():
        audit_record(
            actor=revoked_by,
            action="membership.revoke",
            target=membership,
            municipality=membership.municipality,
            detail={"user": membership.user_id, "role": membership.role},
        )
        membership.delete()
    staff_scope_forget(user=membership.user)


def personal_data_export(*, user: User) -> dict[str, Any]:
    """Everything the platform keeps about ``user``, JSON-ready (APPI: disclosure on request)."""
    data: dict[str, Any] = {
        "account": {
            "id": user.pk,
            "email": user.email,
            "family_name": user.family_name,
            "given_name": user.given_name,
            "family_name_kana": user.family_name_kana,
            "given_name_kana": user.given_name_kana,
            "date_joined": user.date_joined.isoformat(),
            "last_login": user.last_login.isoformat() if user.last_login else None,
            "email_addresses": [
                {"email": address.email, "verified": address.verified, "primary": address.primary}
                for address in EmailAddress.objects.filter(user=user).order_by("id")
            ],
            "roles": [
                {
                    "role": membership.role,
                    "municipality": membership.municipality_id,
                    "prefecture": membership.prefecture_id,
                    "since": membership.created_at.isoformat(),
                }
                for membership in Membership.objects.filter(user=user).order_by("id")
            ],
        }
    }
    for _receiver, section in personal_data_requested.send(sender=User, user=user):
        if section:
            name, value = section
            data[name] = value
    return data


def account_delete(*, user: User) -> None:
    """Delete the person's account: every app removes or anonymises what it keeps about them,
    then the account row is emptied (no name, no address, no password) and can never log in.

    The emptied row stays so that anonymised registrations still count as one person in the
    statistics (実人数); nothing in it identifies anyone.
    """
    with transaction.atomic():
        user = locks.lock_person(user.pk)
        if user.deleted_at is not None:
            return
        account_deleting.send(sender=User, user=user)
        EmailAddress.objects.filter(user=user).delete()
        Token.objects.filter(user=user).delete()
        user.memberships.all().delete()
        user.email = f"deleted-{user.pk}@deleted.invalid"
        user.family_name = user.given_name = ""
        user.family_name_kana = user.given_name_kana = ""
        user.set_unusable_password()
        user.is_active = user.is_staff = user.is_superuser = False
        user.last_login = None
        user.deleted_at = timezone.now()
        user.save()
        user.groups.clear()
        user.user_permissions.clear()
        audit_record(actor=None, action="account.delete", target=user)
    staff_scope_forget(user=user)


NAME_FIELDS = ("family_name", "given_name", "family_name_kana", "given_name_kana")


def user_names_update(*, user: User, **names: str) -> User:
    """Change the person's 姓・名 (kept as typed) and their furigana (a reading, of fixed
    form: NFKC-normalised), validated."""
    unknown = set(names) - set(NAME_FIELDS)
    if unknown:
        raise TypeError(f"Unknown name fields: {sorted(unknown)}")
    for field, value in names.items():
        setattr(user, field, fixed_form(value) if field.endswith("_kana") else as_typed(value))
    user.full_clean(exclude=["password", "email"], validate_constraints=False)
    user.save(update_fields=list(names))
    return user
