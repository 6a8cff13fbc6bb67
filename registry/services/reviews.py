"""Staff decisions on premium applications and reported activities.

These two stay as they are until the shared review queue replaces them.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.selectors import staff_scope
from accounts.services import audit_record
from core.errors import Code, Conflict, Denied

from .. import locks
from ..errors import RegistryCode
from ..models import Activity, EventKind, PremiumApplication, ReviewStatus, Tier
from .activities import _engagement_touch
from .common import _event, one_year_after


def premium_decide(
    *,
    application: PremiumApplication,
    decided_by: User | None,
    approve: bool,
    note: str = "",
) -> PremiumApplication:
    """Approve or refuse a premium application after checking the person's identity.

    ``decided_by`` must be staff of the registration's municipality (``None`` for an
    automatic verifier). Approval starts a one-year term; it is audited either way.
    """
    municipality = application.registration.municipality
    if decided_by is not None and not staff_scope(user=decided_by).manages_municipality(
        municipality.code
    ):
        raise Denied(_("この市区町村の申請を審査する権限がありません。"), code=Code.NOT_STAFF_HERE)
    if decided_by is not None and decided_by.pk == application.registration.person_id:
        raise Denied(
            _("自分の申請は審査できません。ほかの職員に依頼してください。"), code=Code.OWN_ITEM
        )
    note = note.strip()
    if not approve and not note:
        raise ValidationError(
            {
                "note": ValidationError(
                    _("却下する理由を書いてください。申請者に伝わります。"),
                    code=Code.NOTE_REQUIRED,
                )
            }
        )
    today = timezone.localdate()
    with transaction.atomic():
        locks.person_lock(application.registration.person)
        application = locks.premium_application_lock(application.pk)
        registration = locks.registration_lock(application.registration_id)
        if application.status != ReviewStatus.PENDING:
            raise Conflict(
                _("この申請はすでに決定済みか、取り消されています。"),
                code=Code.ALREADY_DECIDED,
            )
        application.status = ReviewStatus.APPROVED if approve else ReviewStatus.REFUSED
        application.decided_at = timezone.now()
        application.decided_by = decided_by
        application.decision_note = note
        application.save(update_fields=["status", "decided_at", "decided_by", "decision_note"])
        if approve:
            if not registration.is_active:
                raise Conflict(
                    _("取り下げられた登録は承認できません。"),
                    code=RegistryCode.REGISTRATION_WITHDRAWN,
                )
            registration.tier = Tier.PREMIUM
            registration.premium_since = today
            registration.premium_until = one_year_after(today)
            registration.save(update_fields=["tier", "premium_since", "premium_until"])
        _event(
            registration,
            EventKind.PREMIUM_APPROVED if approve else EventKind.PREMIUM_REFUSED,
            decided_by,
            application=application.pk,
        )
        audit_record(
            actor=decided_by,
            action="premium.approve" if approve else "premium.refuse",
            target=application,
            municipality=municipality,
            detail={"registration": registration.pk, "verifier": application.verifier},
        )
    return application


def activity_review(
    *, activity: Activity, reviewer: User, accept: bool, note: str = ""
) -> Activity:
    municipality = activity.registration.municipality
    if not staff_scope(user=reviewer).manages_municipality(municipality.code):
        raise Denied(_("この市区町村の活動を審査する権限がありません。"), code=Code.NOT_STAFF_HERE)
    if reviewer.pk == activity.registration.person_id:
        raise Denied(
            _("自分の申告は審査できません。ほかの職員に依頼してください。"), code=Code.OWN_ITEM
        )
    if activity.recorded_by_id is not None and reviewer.pk == activity.recorded_by_id:
        raise Denied(
            _("自分で記録した出席は審査できません。ほかの職員に依頼してください。"),
            code=Code.OWN_ITEM,
        )
    if not accept and not note.strip():
        raise ValidationError(
            {
                "note": ValidationError(
                    _("認めない理由を書いてください。申告した人に伝わります。"),
                    code=Code.NOTE_REQUIRED,
                )
            }
        )
    with transaction.atomic():
        activity = locks.activity_lock(activity.pk)
        if activity.status != ReviewStatus.PENDING:
            raise Conflict(_("この活動はすでに審査済みです。"), code=Code.ALREADY_DECIDED)
        activity.status = ReviewStatus.APPROVED if accept else ReviewStatus.REFUSED
        activity.reviewed_at = timezone.now()
        activity.reviewed_by = reviewer
        activity.review_note = note.strip()
        activity.save(update_fields=["status", "reviewed_at", "reviewed_by", "review_note"])
        if accept:
            _engagement_touch(activity.registration_id, activity.occurred_on)
        audit_record(
            actor=reviewer,
            action="activity.accept" if accept else "activity.refuse",
            target=activity,
            municipality=municipality,
            detail={"registration": activity.registration_id},
        )
    return activity
