"""The registry's two review queues: premium applications (the person's identity checked)
and reported activities (the evidence looked at). Both are decided through the one review
queue (``accounts.review``); this module says only what is theirs."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.review import Queue, Words, review_decide
from core.errors import Conflict

from .. import locks
from ..errors import RegistryCode
from ..models import Activity, EventKind, PremiumApplication, ReviewStatus, Tier
from .activities import _engagement_touch
from .common import _event, one_year_after


def _premium_lock(application: PremiumApplication) -> PremiumApplication:
    """Person, then application, then registration (``registry.locks``)."""
    locks.person_lock(application.registration.person)
    locked = locks.premium_application_lock(application.pk)
    locked.registration = locks.registration_lock(locked.registration_id)
    return locked


def _premium_apply(application: PremiumApplication, actor: User | None, approve: bool) -> None:
    """Approval starts a one-year term; either way the registration's history says so."""
    registration = application.registration
    if approve:
        if not registration.is_active:
            raise Conflict(
                _("取り下げられた登録は承認できません。"), code=RegistryCode.REGISTRATION_WITHDRAWN
            )
        today = timezone.localdate()
        registration.tier = Tier.PREMIUM
        registration.premium_since = today
        registration.premium_until = one_year_after(today)
        registration.save(update_fields=["tier", "premium_since", "premium_until"])
    _event(
        registration,
        EventKind.PREMIUM_APPROVED if approve else EventKind.PREMIUM_REFUSED,
        actor,
        application=application.pk,
    )


PREMIUM_APPLICATIONS = Queue(
    name="application",
    audit=("premium.approve", "premium.refuse"),
    pending=ReviewStatus.PENDING,
    approved=ReviewStatus.APPROVED,
    refused=ReviewStatus.REFUSED,
    municipality=lambda application: application.registration.municipality,
    own=lambda application, actor: (
        _("自分の申請は審査できません。ほかの職員に依頼してください。")
        if actor.pk == application.registration.person_id
        else None
    ),
    lock=_premium_lock,
    apply=_premium_apply,
    audit_detail=lambda application: {
        "registration": application.registration_id,
        "verifier": application.verifier,
    },
    words=Words(
        decision=_("決定"),
        approve=_("承認する"),
        refuse=_("却下する"),
        note=_("理由・メモ（却下のときは必須）"),
        not_staff=_("この市区町村の申請を審査する権限がありません。"),
        note_required=_("却下する理由を書いてください。申請者に伝わります。"),
        already_decided=_("この申請はすでに決定済みか、取り消されています。"),
    ),
)


def premium_decide(
    *, application: PremiumApplication, actor: User | None, approve: bool, note: str = ""
) -> PremiumApplication:
    """Approve or refuse a premium application after checking the person's identity.

    ``actor`` must be staff of the registration's municipality (``None`` for an automatic
    verifier). Approval starts a one-year term; it is audited either way."""
    return review_decide(
        PREMIUM_APPLICATIONS, item=application, actor=actor, approve=approve, note=note
    )


def _activity_own(activity: Activity, actor: User) -> str | None:
    if actor.pk == activity.registration.person_id:
        return _("自分の申告は審査できません。ほかの職員に依頼してください。")
    if activity.recorded_by_id is not None and actor.pk == activity.recorded_by_id:
        return _("自分で記録した出席は審査できません。ほかの職員に依頼してください。")
    return None


def _activity_apply(activity: Activity, actor: User | None, approve: bool) -> None:
    if approve:
        _engagement_touch(activity.registration_id, activity.occurred_on)


ACTIVITIES = Queue(
    name="activity",
    audit=("activity.accept", "activity.refuse"),
    pending=ReviewStatus.PENDING,
    approved=ReviewStatus.APPROVED,
    refused=ReviewStatus.REFUSED,
    municipality=lambda activity: activity.registration.municipality,
    own=_activity_own,
    lock=lambda activity: locks.activity_lock(activity.pk),
    apply=_activity_apply,
    at_field="reviewed_at",
    by_field="reviewed_by",
    note_field="review_note",
    audit_detail=lambda activity: {"registration": activity.registration_id},
    words=Words(
        decision=_("審査"),
        approve=_("認める"),
        refuse=_("認めない"),
        note=_("理由・メモ（認めないときは必須）"),
        not_staff=_("この市区町村の活動を審査する権限がありません。"),
        note_required=_("認めない理由を書いてください。申告した人に伝わります。"),
        already_decided=_("この活動はすでに審査済みです。"),
    ),
)


def activity_decide(*, activity: Activity, actor: User, approve: bool, note: str = "") -> Activity:
    """Accept a reported activity (it counts towards premium and engagement) or refuse it
    with a reason the person is told."""
    return review_decide(ACTIVITIES, item=activity, actor=actor, approve=approve, note=note)
