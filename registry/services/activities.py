"""Activities: recorded from the board or reported with evidence; they count for premium."""

from __future__ import annotations

import datetime
import uuid

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import audit_record
from core.errors import Conflict
from places.models import Municipality

from .. import locks
from ..errors import RegistryCode
from ..models import Activity, ActivitySource, Registration, ReviewStatus, Status

EVIDENCE_TYPES = {
    "pdf": b"%PDF",
    "jpg": b"\xff\xd8\xff",
    "jpeg": b"\xff\xd8\xff",
    "png": b"\x89PNG",
}
EVIDENCE_MAX_BYTES = 5 * 1024 * 1024


def activity_record(
    *,
    person: User,
    municipality: Municipality,
    title: str,
    occurred_on: datetime.date,
    designated: bool,
    reference: str,
    review: bool = False,
    recorded_by: User | None = None,
) -> Activity | None:
    """Record, accepted, what the board saw the person do in the municipality (attendance at
    a task). ``reference`` (say ``"signup:123"``) makes it idempotent. Returns ``None`` when
    the person is not registered with the municipality: there is nothing to count it for.

    ``review=True`` (the person hosts the task, or is staff of the town that runs it: they
    could mark themselves) records it pending instead, for another staff member's review in
    the activity queue, like uploaded evidence; it counts only once accepted, by someone
    other than the person and than ``recorded_by``, who marked the attendance."""
    if not reference:
        raise ValueError("activity_record needs a reference, to be idempotent.")
    with transaction.atomic():
        existing = locks.activity_by_reference_lock(reference)
        if existing is not None and existing.status != ReviewStatus.CANCELLED:
            return existing
        registration = Registration.objects.filter(
            person=person, municipality=municipality, status=Status.ACTIVE
        ).first()
        if registration is None:
            return None
        if existing is not None:
            # Withdrawn when the attendance was undone, and now marked again: the same row,
            # as if recorded afresh (back to review where it needs one).
            return _activity_restore(
                existing,
                registration=registration,
                title=title,
                occurred_on=occurred_on,
                designated=designated,
                review=review,
                recorded_by=recorded_by,
            )
        activity = Activity(
            registration=registration,
            title=title[:120],
            occurred_on=occurred_on,
            designated=designated,
            source=ActivitySource.BOARD,
            status=ReviewStatus.PENDING if review else ReviewStatus.APPROVED,
            reference=reference,
            reviewed_at=None if review else timezone.now(),
            recorded_by=recorded_by,
        )
        try:
            with transaction.atomic():
                activity.save()
        except IntegrityError:  # recorded by a concurrent call
            return Activity.objects.get(reference=reference)
        if not review:
            _engagement_touch(registration.pk, occurred_on)
    return activity


def _activity_restore(
    activity: Activity,
    *,
    registration: Registration,
    title: str,
    occurred_on: datetime.date,
    designated: bool,
    review: bool,
    recorded_by: User | None,
) -> Activity:
    """A withdrawn board activity (locked) recorded again, as ``activity_record`` would."""
    now = timezone.now()
    activity.registration = registration
    activity.title = title[:120]
    activity.occurred_on = occurred_on
    activity.designated = designated
    activity.status = ReviewStatus.PENDING if review else ReviewStatus.APPROVED
    activity.submitted_at = now
    activity.reviewed_at = None if review else now
    activity.reviewed_by = None
    activity.review_note = ""
    activity.recorded_by = recorded_by
    activity.save()
    if not review:
        _engagement_touch(registration.pk, occurred_on)
    return activity


def activity_withdraw(*, reference: str, actor: User | None = None) -> Activity | None:
    """The board undid what an activity was recorded from (the host corrected attendance
    away from "attended"): the activity, accepted or waiting for review, is cancelled. It
    then counts for nothing: not for premium, this year's activities, the registration's
    last activity, nor the review queue. The row stays, shown as withdrawn, and
    ``activity_record`` with the same reference brings it back.

    A refused activity stays refused; an unknown reference changes nothing. Returns the
    activity, or ``None`` when there is none. Locks: the activity, then its registration
    (``UPDATE`` of its last activity), as ``activity_review`` does."""
    if not reference:
        raise ValueError("activity_withdraw needs the reference the activity was recorded with.")
    with transaction.atomic():
        activity = locks.activity_by_reference_lock(reference)
        if activity is None or activity.status not in (
            ReviewStatus.PENDING,
            ReviewStatus.APPROVED,
        ):
            return activity
        previous = activity.status
        activity.status = ReviewStatus.CANCELLED
        activity.reviewed_at = timezone.now()
        activity.reviewed_by = actor if actor is not None and actor.is_authenticated else None
        activity.save(update_fields=["status", "reviewed_at", "reviewed_by"])
        if previous == ReviewStatus.APPROVED:
            _engagement_recount(activity.registration_id)
        audit_record(
            actor=actor,
            action="activity.withdraw",
            target=activity,
            municipality=activity.registration.municipality,
            detail={"reference": reference, "from": previous, "to": ReviewStatus.CANCELLED},
        )
    return activity


def _engagement_recount(registration_id: int) -> None:
    """The registration's last activity: the latest accepted one still counting (or none)."""
    latest = (
        Activity.objects.filter(registration=OuterRef("pk"), status=ReviewStatus.APPROVED)
        .order_by("-occurred_on")
        .values("occurred_on")[:1]
    )
    Registration.objects.filter(pk=registration_id).update(last_activity_on=Subquery(latest))


def _engagement_touch(registration_id: int, occurred_on: datetime.date) -> None:
    """Move the registration's last activity forward (never back)."""
    Registration.objects.filter(
        Q(last_activity_on__isnull=True) | Q(last_activity_on__lt=occurred_on),
        pk=registration_id,
    ).update(last_activity_on=occurred_on)


def activity_submit(
    *,
    registration: Registration,
    title: str,
    occurred_on: datetime.date,
    evidence=None,
    note: str = "",
) -> Activity:
    """The person reports a designated activity with evidence; staff review it."""
    today = timezone.localdate()
    errors: dict[str, ValidationError] = {}
    if occurred_on > today:
        errors["occurred_on"] = ValidationError(
            _("活動日に未来の日付は入れられません。"), code=RegistryCode.ACTIVITY_IN_FUTURE
        )
    elif occurred_on < today - datetime.timedelta(days=366):
        errors["occurred_on"] = ValidationError(
            _("1年以上前の活動は申告できません。"), code=RegistryCode.ACTIVITY_TOO_OLD
        )
    if evidence is None:
        errors["evidence"] = ValidationError(
            _("証拠の書類か写真（PDF・JPEG・PNG、5MB まで）を添付してください。"),
            code=RegistryCode.EVIDENCE_REQUIRED,
        )
    else:
        problem = _evidence_problem(evidence)
        if problem:
            errors["evidence"] = problem
    if not title.strip():
        errors["title"] = ValidationError(
            _("活動の内容を書いてください。"), code=RegistryCode.TITLE_REQUIRED
        )
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        registration = locks.registration_lock(registration.pk)
        if not registration.is_active:
            raise Conflict(
                _("取り下げた登録には活動を申告できません。"),
                code=RegistryCode.REGISTRATION_WITHDRAWN,
            )
        activity = Activity(
            registration=registration,
            title=title.strip(),
            occurred_on=occurred_on,
            designated=True,
            source=ActivitySource.UPLOAD,
            status=ReviewStatus.PENDING,
            note=note.strip(),
        )
        activity.full_clean(exclude=["registration", "evidence"])
        suffix = evidence.name.rsplit(".", 1)[-1].lower()
        activity.evidence.save(f"{uuid.uuid4().hex}.{suffix}", evidence, save=False)
        activity.save()
    return activity


def _evidence_problem(upload) -> ValidationError | None:
    name = getattr(upload, "name", "") or ""
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix not in EVIDENCE_TYPES:
        return ValidationError(
            _("証拠として添付できるのは PDF・JPEG・PNG のファイルです。"),
            code=RegistryCode.EVIDENCE_TYPE,
        )
    if upload.size > EVIDENCE_MAX_BYTES:
        return ValidationError(
            _("ファイルが大きすぎます。5MB までにしてください。"),
            code=RegistryCode.EVIDENCE_TOO_LARGE,
        )
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    if not head.startswith(EVIDENCE_TYPES[suffix]):
        return ValidationError(
            _("ファイルの中身が拡張子と合いません。PDF・JPEG・PNG のファイルを添付してください。"),
            code=RegistryCode.EVIDENCE_MISMATCH,
        )
    return None
