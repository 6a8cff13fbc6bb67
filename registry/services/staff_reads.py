"""Staff reads of personal data: only a town's own staff, and every read audited."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.selectors import staff_scope
from accounts.services import audit_record
from core.errors import Code, Denied
from places.models import Municipality

from ..selectors import activity_queue, premium_queue, registrants_of


def registrants_read(
    *, viewer: User, municipality: Municipality, action: str, detail: dict | None = None
):
    """Open the municipality's registrants to its own staff, and write the read to the audit
    log. Staff of other towns, prefectures and the country see statistics, not people."""
    if not staff_scope(user=viewer).manages_municipality(municipality.code):
        raise Denied(_("この市区町村の登録者を見る権限がありません。"), code=Code.NOT_STAFF_HERE)
    with transaction.atomic():
        audit_record(
            actor=viewer,
            action=action,
            target=municipality,
            municipality=municipality,
            detail=detail or {},
        )
    return registrants_of(municipality=municipality)


def premium_queue_read(*, viewer: User, municipality: Municipality):
    """The premium applications waiting for this town's staff (names, for the identity
    check): for its own staff only, and every read audited."""
    _staff_read(viewer, municipality, "premium.queue.read")
    return premium_queue(municipality=municipality)


def activity_queue_read(*, viewer: User, municipality: Municipality):
    """Reported activities waiting for this town's staff; audited like every staff read."""
    _staff_read(viewer, municipality, "activity.queue.read")
    return activity_queue(municipality=municipality)


def _staff_read(viewer: User, municipality: Municipality, action: str) -> None:
    if not staff_scope(user=viewer).manages_municipality(municipality.code):
        raise Denied(_("この市区町村の職員だけが見られます。"), code=Code.NOT_STAFF_HERE)
    with transaction.atomic():
        audit_record(actor=viewer, action=action, target=municipality, municipality=municipality)
