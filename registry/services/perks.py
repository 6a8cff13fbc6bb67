"""Perks a municipality offers its registrants, edited by its staff."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.selectors import staff_scope
from accounts.services import audit_record
from core.errors import Code, Denied
from places.models import Municipality

from ..models import Perk


def _perk_check(actor: User, municipality: Municipality) -> None:
    if not staff_scope(user=actor).manages_municipality(municipality.code):
        raise Denied(_("この市区町村の特典を編集する権限がありません。"), code=Code.NOT_STAFF_HERE)


def perk_save(*, perk: Perk, actor: User) -> Perk:
    """Create or change a perk of the actor's municipality."""
    _perk_check(actor, perk.municipality)
    created = perk.pk is None
    with transaction.atomic():
        perk.full_clean()
        perk.save()
        audit_record(
            actor=actor,
            action="perk.create" if created else "perk.change",
            target=perk,
            municipality=perk.municipality,
        )
    return perk


def perk_delete(*, perk: Perk, actor: User) -> None:
    _perk_check(actor, perk.municipality)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="perk.delete",
            target=perk,
            municipality=perk.municipality,
            detail={"title": perk.title},
        )
        perk.delete()
