"""Tasks: drafting, changing, submitting, publishing, closing, completing and calling
them off; the activity report; who takes part (for the host and staff).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.selectors import staff_scope
from accounts.services import audit_record
from core.errors import Code, Conflict, Denied
from core.photos import photo_clean
from notifications.models import Topic
from notifications.services import notification_send
from places.models import Municipality
from places.names import place_name

from ..errors import MatchingCode
from ..locks import lock_sessions_of, lock_task
from ..models import (
    EDITABLE_STATUSES,
    LIVE_STATUSES,
    Session,
    SessionStatus,
    Signup,
    SignupStatus,
    Task,
    TaskStatus,
)
from ..selectors import check_manage, participants_of
from ..selectors.search import task_search_key
from ._common import (
    _check_staff,
    _sessions_errors,
    _staff_of,
    _task_context,
    _task_dates_refresh,
    _task_url,
)
from .hosts import _host_name_errors, host_name_of
from .roster import roster_asks_errors
from .watching import _match_request

TASK_FIELDS = (
    "host_name",
    "title",
    "description",
    "host_message",
    "schedule",
    "category",
    "skills",
    "is_online",
    "address",
    "latitude",
    "longitude",
    "minimum_age",
    "what_to_bring",
    "reward",
    "conditions",
    "participant_costs",
    "weather_policy",
    "signup_mode",
    "signup_close_hours",
    "cancel_close_hours",
    "confirm_window_hours",
    "designated",
    "asks_phone",
    "asks_emergency_contact",
    "asks_birth_date",
    "asks_reason",
    "photo_alt",
)


# A change to one of these, once published, is told to the people signed up.
TOLD_FIELDS = (
    "title",
    "description",
    "schedule",
    "is_online",
    "address",
    "latitude",
    "longitude",
    "minimum_age",
    "what_to_bring",
    "reward",
    "conditions",
    "participant_costs",
    "weather_policy",
    "cancel_close_hours",
)


def _search_text(task: Task) -> str:
    """The task's search key (``core.search``): its texts with the reading of their kanji,
    and its municipality's name and official reading, so that ひだ finds a 飛騨市 task."""
    municipality = task.municipality
    return task_search_key(
        title=task.title,
        description=task.description,
        host_message=task.host_message,
        host_name=task.host_name,
        address=task.address,
        municipality_name=municipality.name,
        municipality_kana=municipality.kana,
    )


def _clean_task(task: Task) -> None:
    errors: dict[str, list[str]] = {}
    if (task.latitude is None) != (task.longitude is None):
        errors["latitude"] = [_("緯度と経度は両方を入力するか、両方を空にしてください。")]
    if task.confirm_window_hours == 0:
        errors["confirm_window_hours"] = [_("確認期限は1時間以上にするか、空欄にしてください。")]
    if task.is_online:
        task.latitude = task.longitude = None
    errors.update(roster_asks_errors(task))
    try:
        task.full_clean(exclude=["municipality", "host", "created_by", "prefecture"])
    except ValidationError as exc:
        for field, messages in exc.error_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def task_create(
    *,
    actor: User,
    municipality: Municipality,
    sessions: list[dict],
    photo=None,
    **fields: Any,
) -> Task:
    """A host or staff member drafts a task with its sessions (``starts_at``, ``ends_at``,
    ``capacity``). Staff may publish it at once; a host submits it for review."""
    unknown = set(fields) - set(TASK_FIELDS)
    if unknown:
        raise TypeError(f"Unknown task fields: {sorted(unknown)}")
    scope = staff_scope(user=actor)
    is_staff = scope.manages_municipality(municipality.code)
    if not (is_staff or scope.hosts_for(municipality.code)):
        raise Denied(
            _("%(name)s のお手伝いを作れるのは、その市区町村の職員と承認されたヌシだけです。")
            % {"name": place_name(municipality)},
            code=MatchingCode.NOT_HOST_HERE,
        )
    now = timezone.now()
    task = Task(
        municipality=municipality,
        prefecture_id=municipality.prefecture_id,
        host=None if is_staff else actor,
        created_by=actor,
        created_at=now,
        updated_at=now,
        **fields,
    )
    errors: dict[str, Any] = {}
    if is_staff:
        # Staff may name a partner organisation; else the task is the town's own.
        task.host_name = task.host_name or municipality.name
    else:
        errors.update(_host_name_errors(actor, municipality, fields.get("host_name")))
        task.host_name = host_name_of(actor, municipality)
    try:
        _clean_task(task)
    except ValidationError as exc:
        for field, messages in exc.error_dict.items():
            errors.setdefault(field, messages)
    errors.update(_sessions_errors(sessions, now))
    if photo is not None:
        try:
            task.photo = photo_clean(photo)
        except ValidationError as exc:
            errors["photo"] = exc.messages
    if errors:
        raise ValidationError(errors)
    task.search_text = _search_text(task)
    with transaction.atomic():
        task.save()
        Session.objects.bulk_create(
            [
                Session(
                    task=task,
                    starts_at=s["starts_at"],
                    ends_at=s["ends_at"],
                    capacity=s["capacity"],
                )
                for s in sorted(sessions, key=lambda s: s["starts_at"])
            ]
        )
        _task_dates_refresh(task.pk)
        audit_record(actor=actor, action="task.create", target=task, municipality=municipality)
    task.refresh_from_db()
    return task


def changes_held(*, actor: User, task: Task) -> bool:
    """Whether ``actor``'s change to ``task`` waits for the town's staff: a host's change
    once the task is public (a ``TaskRevision``). Staff changes apply at once."""
    return task.status in (TaskStatus.PUBLISHED, TaskStatus.CLOSED) and not staff_scope(
        user=actor
    ).manages_municipality(task.municipality_id)


def _refuse_held(actor: User, task: Task) -> None:
    if changes_held(actor=actor, task=task):
        raise Denied(
            _(
                "公開中のお手伝いの変更は、市区町村の職員が確認してから反映されます。"
                "変更の申請として送ってください。"
            ),
            code=MatchingCode.CHANGE_NEEDS_REVIEW,
        )


def _review_withdraw(task: Task, actor: User) -> None:
    """A host's change to a task in review takes it out of review, a draft again (to submit
    once more): staff never publish a version they have not read."""
    if task.status != TaskStatus.IN_REVIEW or staff_scope(user=actor).manages_municipality(
        task.municipality_id
    ):
        return
    Task.objects.filter(pk=task.pk, status=TaskStatus.IN_REVIEW).update(status=TaskStatus.DRAFT)
    task.status = TaskStatus.DRAFT
    audit_record(
        actor=actor, action="task.review_withdrawn", target=task, municipality=task.municipality
    )


def task_update(*, task: Task, actor: User, photo=None, **fields: Any) -> Task:
    """Change a task's content. Once published, its participants are told what changed.

    A host's change to a published task is not made here: it is a revision for the town's
    staff (``task_revision_submit``), applied by ``task_revision_decide``."""
    unknown = set(fields) - set(TASK_FIELDS)
    if unknown:
        raise TypeError(f"Unknown task fields: {sorted(unknown)}")
    check_manage(actor, task)
    _refuse_held(actor, task)
    return _task_update(task=task, actor=actor, fields=fields, photo=photo)


def _task_fields_check(task: Task, actor: User, fields: dict[str, Any], photo=None) -> list[str]:
    """Set ``fields`` on ``task`` (not saved) and check it; the names that change.
    ``photo``, an upload, is checked and re-encoded onto ``task.photo``."""
    if task.status not in EDITABLE_STATUSES:
        raise Conflict(
            _("「%(status)s」のお手伝いは変更できません。") % {"status": task.get_status_display()},
            code=MatchingCode.TASK_NOT_EDITABLE,
        )
    is_staff = staff_scope(user=actor).manages_municipality(task.municipality_id)
    errors: dict[str, Any] = {}
    if "host_name" in fields and not is_staff:
        if fields["host_name"] != task.host_name:
            errors.update(_host_name_errors(actor, task.municipality, fields["host_name"] or "-"))
        fields = {name: value for name, value in fields.items() if name != "host_name"}
    before = {name: getattr(task, name) for name in fields}
    for name, value in fields.items():
        setattr(task, name, value)
    try:
        _clean_task(task)
    except ValidationError as exc:
        for field, messages in exc.error_dict.items():
            errors.setdefault(field, []).extend(messages)
    if photo is not None:
        try:
            task.photo = photo_clean(photo)
        except ValidationError as exc:
            errors["photo"] = exc.messages
    if errors:
        raise ValidationError(errors)
    changed = [name for name in fields if before[name] != getattr(task, name)]
    if (
        "signup_mode" in changed
        and Signup.objects.filter(session__task=task, status__in=LIVE_STATUSES).exists()
    ):
        raise ValidationError(
            {
                "signup_mode": ValidationError(
                    _("申込がある間は、参加の決め方を変えられません。"),
                    code=MatchingCode.SIGNUP_MODE_LOCKED,
                )
            }
        )
    if "designated" in changed and task.status == TaskStatus.PUBLISHED and not is_staff:
        raise ValidationError(
            {
                "designated": ValidationError(
                    _("公開後の担い手活動の指定は、自治体職員だけが変えられます。"),
                    code=MatchingCode.DESIGNATED_STAFF_ONLY,
                )
            }
        )
    return changed


def _task_update(
    *, task: Task, actor: User, fields: dict[str, Any], photo=None, stored_photo: str = ""
) -> Task:
    """``task_update`` without its checks of who acts: also how an approved revision is
    applied (``stored_photo``: the revision's photo, already checked)."""
    try:
        changed = _task_fields_check(task, actor, fields, photo)
    except ValidationError:
        task.refresh_from_db()
        raise
    if stored_photo:
        task.photo = stored_photo
    if photo is not None or stored_photo:
        changed.append("photo")
    if not changed:
        return task
    now = timezone.now()
    task.updated_at = now
    task.search_text = _search_text(task)
    with transaction.atomic():
        task.save(update_fields=[*changed, "updated_at", "search_text"])
        _review_withdraw(task, actor)
        if "signup_close_hours" in changed:
            _task_dates_refresh(task.pk)
        audit_record(
            actor=actor,
            action="task.update",
            target=task,
            municipality=task.municipality,
            detail={"fields": changed},
        )
        if task.status == TaskStatus.PUBLISHED:
            _match_request(task)
        told = [name for name in changed if name in TOLD_FIELDS]
        if task.status == TaskStatus.PUBLISHED and told:
            people = Signup.objects.filter(
                session__task=task, status__in=LIVE_STATUSES
            ).values_list("person_id", flat=True)
            notification_send(
                recipients=people,
                kind="task_changed",
                topic=Topic.CHANGES,
                key=f"task:{task.pk}:changed:{now.isoformat()}",
                context=_task_context(task, field_names=told),
                url=_task_url(task),
            )
    return task


def task_submit(*, task: Task, actor: User) -> Task:
    """The host asks the municipality to review and publish the draft."""
    check_manage(actor, task)
    with transaction.atomic():
        task = lock_task(task.pk)
        if task.status != TaskStatus.DRAFT:
            raise Conflict(
                _("審査を依頼できるのは下書きのお手伝いだけです。"),
                code=MatchingCode.TASK_NOT_DRAFT,
            )
        _require_future_session(task)
        task.status = TaskStatus.IN_REVIEW
        task.submitted_at = timezone.now()
        task.save(update_fields=["status", "submitted_at"])
        audit_record(actor=actor, action="task.submit", target=task, municipality=task.municipality)
        notification_send(
            recipients=_staff_of(task.municipality_id),
            kind="task_submitted",
            topic=Topic.HOSTING,
            key=f"task:{task.pk}:submitted:{task.submitted_at.isoformat()}",
            context=_task_context(task, host=task.host_name),
            url=reverse("matching:staff_tasks", args=[task.municipality_id]),
            author=task.host_id,
            author_keys=["host"],
        )
    return task


def _require_future_session(task: Task) -> None:
    if not Session.objects.filter(
        task=task, status=SessionStatus.SCHEDULED, starts_at__gt=timezone.now()
    ).exists():
        raise ValidationError(
            _("これからの開催回がありません。開催回を追加してください。"),
            code=MatchingCode.NO_FUTURE_SESSION,
        )


def task_publish(*, task: Task, actor: User) -> Task:
    """The municipality's staff publish a draft or a task in review."""
    _check_staff(actor, task.municipality)
    with transaction.atomic():
        task = lock_task(task.pk)
        if task.status not in (TaskStatus.DRAFT, TaskStatus.IN_REVIEW):
            raise Conflict(
                _("公開できるのは下書きか審査中のお手伝いだけです。"),
                code=MatchingCode.TASK_NOT_PUBLISHABLE,
            )
        if task.status == TaskStatus.DRAFT and task.host_id and task.host_id != actor.pk:
            # A host's draft may be changing under the clerk's eyes (a change in review
            # makes it one again): only what the host submitted is published.
            raise Conflict(
                _("ヌシのお手伝いは、ヌシが審査に出してから公開できます。"),
                code=MatchingCode.HOST_DRAFT_NOT_SUBMITTED,
            )
        _require_future_session(task)
        task.status = TaskStatus.PUBLISHED
        task.published_at = timezone.now()
        task.review_note = ""
        task.save(update_fields=["status", "published_at", "review_note"])
        audit_record(
            actor=actor, action="task.publish", target=task, municipality=task.municipality
        )
        _match_request(task)
        if task.host_id and task.host_id != actor.pk:
            notification_send(
                recipients=[task.host_id],
                kind="task_published",
                topic=Topic.HOSTING,
                key=f"task:{task.pk}:published",
                context=_task_context(task),
                url=_task_url(task),
            )
    return task


def task_return(*, task: Task, actor: User, note: str) -> Task:
    """Staff send a task in review back to its host as a draft, saying what to change."""
    _check_staff(actor, task.municipality)
    note = note.strip()
    if not note:
        raise ValidationError(
            {
                "note": ValidationError(
                    _("差し戻しの理由を書いてください。"), code=Code.NOTE_REQUIRED
                )
            }
        )
    with transaction.atomic():
        task = lock_task(task.pk)
        if task.status != TaskStatus.IN_REVIEW:
            raise Conflict(
                _("差し戻せるのは審査中のお手伝いだけです。"), code=MatchingCode.TASK_NOT_IN_REVIEW
            )
        task.status = TaskStatus.DRAFT
        task.review_note = note[:1000]
        task.save(update_fields=["status", "review_note"])
        audit_record(actor=actor, action="task.return", target=task, municipality=task.municipality)
        notification_send(
            recipients=[task.host_id],
            kind="task_returned",
            topic=Topic.HOSTING,
            key=f"task:{task.pk}:returned:{timezone.now().isoformat()}",
            context=_task_context(task, note=task.review_note),
            url=_task_url(task),
            author=actor,
            author_keys=["note"],
        )
    return task


def task_close(*, task: Task, actor: User) -> Task:
    """Stop taking sign-ups; the people signed up keep their places."""
    check_manage(actor, task)
    with transaction.atomic():
        task = lock_task(task.pk)
        if task.status != TaskStatus.PUBLISHED:
            raise Conflict(
                _("募集を締め切れるのは募集中のお手伝いだけです。"),
                code=MatchingCode.TASK_NOT_PUBLISHED,
            )
        task.status = TaskStatus.CLOSED
        task.save(update_fields=["status"])
        audit_record(actor=actor, action="task.close", target=task, municipality=task.municipality)
    return task


def task_complete(*, task: Task, actor: User | None) -> Task:
    """Mark the task done, once its last session has begun."""
    if actor is not None:
        check_manage(actor, task)
    with transaction.atomic():
        task = lock_task(task.pk)
        if task.status not in (TaskStatus.PUBLISHED, TaskStatus.CLOSED):
            raise Conflict(
                _("終了にできるのは募集中か募集終了のお手伝いだけです。"),
                code=MatchingCode.TASK_NOT_RUNNING,
            )
        if Session.objects.filter(
            task=task, status=SessionStatus.SCHEDULED, starts_at__gt=timezone.now()
        ).exists():
            raise ValidationError(
                _("まだ始まっていない開催回があります。"), code=MatchingCode.SESSIONS_TO_COME
            )
        task.status = TaskStatus.COMPLETED
        task.save(update_fields=["status"])
        audit_record(
            actor=actor, action="task.complete", target=task, municipality=task.municipality
        )
    return task


def task_cancel(*, task: Task, actor: User, reason: str) -> Task:
    """Call the whole task off: every sign-up for a session still to come is cancelled and
    its person told. Sessions that have begun stay as they were."""
    check_manage(actor, task)
    reason = reason.strip()
    if not reason:
        raise ValidationError(
            {
                "reason": ValidationError(
                    _("中止の理由を書いてください。参加者に伝わります。"),
                    code=MatchingCode.REASON_REQUIRED,
                )
            }
        )
    now = timezone.now()
    with transaction.atomic():
        task = lock_task(task.pk)
        if task.status in (TaskStatus.COMPLETED, TaskStatus.CANCELLED):
            raise Conflict(
                _("「%(status)s」のお手伝いは中止できません。")
                % {"status": task.get_status_display()},
                code=MatchingCode.TASK_OVER,
            )
        sessions = lock_sessions_of(task)
        # Sessions that have begun are history: their people took part (attendance may be
        # marked, and counted in the registry); only the ones to come are called off.
        upcoming = [s.pk for s in sessions if s.starts_at > now]
        live = Signup.objects.filter(session_id__in=upcoming, status__in=LIVE_STATUSES)
        people = list(live.values_list("person_id", flat=True))
        live.update(status=SignupStatus.CANCELLED, cancelled_at=now, offer_expires_at=None)
        Session.objects.filter(pk__in=upcoming).update(status=SessionStatus.CANCELLED, taken=0)
        task.status = TaskStatus.CANCELLED
        task.cancelled_at = now
        task.cancel_reason = reason[:1000]
        task.save(update_fields=["status", "cancelled_at", "cancel_reason"])
        audit_record(actor=actor, action="task.cancel", target=task, municipality=task.municipality)
        notification_send(
            recipients=people,
            kind="task_cancelled",
            topic=Topic.CHANGES,
            key=f"task:{task.pk}:cancelled",
            context=_task_context(task, reason=task.cancel_reason),
            url=_task_url(task),
            author=actor,
            author_keys=["reason"],
        )
    return task


def task_report_publish(*, task: Task, actor: User, report: str, photo=None) -> Task:
    """The host publishes the activity report (活動レポート) after the event."""
    check_manage(actor, task)
    report = report.strip()
    if not report:
        raise ValidationError(
            {
                "report": ValidationError(
                    _("レポートの本文を書いてください。"), code=MatchingCode.REPORT_REQUIRED
                )
            }
        )
    if len(report) > 5000:
        raise ValidationError(
            {
                "report": ValidationError(
                    _("レポートは5000文字以内にしてください。"), code=MatchingCode.REPORT_TOO_LONG
                )
            }
        )
    if (
        task.status == TaskStatus.CANCELLED
        or not Session.objects.filter(
            task=task, status=SessionStatus.SCHEDULED, starts_at__lte=timezone.now()
        ).exists()
    ):
        raise ValidationError(
            _("活動レポートは、開催回が始まった後に公開できます。"),
            code=MatchingCode.REPORT_TOO_EARLY,
        )
    if photo is not None:
        try:
            task.report_photo = photo_clean(photo)
        except ValidationError as exc:
            raise ValidationError({"photo": exc.messages}) from exc
    task.report = report
    task.report_published_at = task.report_published_at or timezone.now()
    with transaction.atomic():
        task.save(update_fields=["report", "report_photo", "report_published_at"])
        audit_record(actor=actor, action="task.report", target=task, municipality=task.municipality)
    return task


def participants_read(*, viewer: User, task: Task, session: Session | None = None):
    """A task's participants (names, messages, attendance) for its host and the town's
    staff; every read is written to the audit log."""
    check_manage(viewer, task)
    with transaction.atomic():
        audit_record(
            actor=viewer,
            action="task.participants.read",
            target=task,
            municipality=task.municipality,
            detail={"session": session.pk} if session is not None else {},
        )
    rows = participants_of(task)
    return rows.filter(session=session) if session is not None else rows
