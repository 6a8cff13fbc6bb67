"""Every write about people, roles and the audit log."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from places.models import Municipality, Prefecture

from .models import AuditEvent, Membership, Role, User
from .selectors import staff_scope, staff_scope_forget


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
    command). A national administrator grants any role; a municipality's admin grants
    host and editor roles in that municipality; nobody else grants anything
    (PermissionDenied). A role that does not fit its place is a ValidationError.
    """
    if granted_by is not None and not _may_grant(granted_by, role, municipality):
        raise PermissionDenied(_("この役割を付与する権限がありません。"))
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
    except IntegrityError as exc:
        raise ValidationError(
            _("この役割は付与できません。すでに同じ役割があるか、所属先が役割に合いません。")
        ) from exc
    staff_scope_forget(user=user)
    return membership


def _may_grant(actor: User, role: Role | str, municipality: Municipality | None) -> bool:
    if actor.is_superuser:
        return True
    scope = staff_scope(user=actor)
    if scope.national:
        return True
    return (
        municipality is not None
        and role in (Role.HOST, Role.MUNICIPALITY_EDITOR)
        and scope.administers_municipality(municipality.code)
    )


def membership_revoke(*, membership: Membership, revoked_by: User | None = None) -> None:
    """Take a role away; the same people who may grant it may revoke it."""
    if revoked_by is not None and not _may_grant(
        revoked_by, membership.role, membership.municipality
    ):
        raise PermissionDenied(_("この役割を取り消す権限がありません。"))
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
