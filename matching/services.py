"""Every write of the board. Each function is one transaction.

Places are claimed under the session row's lock (``select_for_update``); the person's row
is locked after it, to keep a person's confirmed sessions from overlapping. Lock order is
always session, then person. Notifications are written to the inbox inside the same
transaction as the change that causes them.
"""

from __future__ import annotations

import datetime
import logging
import unicodedata
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role, User
from accounts.selectors import staff_scope
from accounts.services import audit_record, membership_grant
from core.queue import enqueue, send_now
from notifications.models import Topic
from notifications.services import notification_send
from places.kana import search_key
from places.models import Municipality
from registry import flags
from registry.models import AvailableDays, Month, Profile
from registry.services import activity_record, profile_of

from .models import (
    EDITABLE_STATUSES,
    HOLDING_STATUSES,
    LIVE_STATUSES,
    Attendance,
    HostApplication,
    HostApplicationStatus,
    Match,
    RecommendationRequest,
    RevisionStatus,
    Session,
    SessionStatus,
    Signup,
    SignupMode,
    SignupStatus,
    Task,
    TaskRevision,
    TaskStatus,
    TaskWatch,
)
from .photos import photo_clean
from .selectors import host_applications_pending, participants_of

logger = logging.getLogger(__name__)


class Conflict(ValidationError):
    """A request that clashes with the state of things (a second sign-up): HTTP 409."""

    http_status = 409


def _lock_session(session_id: int) -> Session:
    return (
        Session.objects.select_for_update(of=("self",))
        .select_related("task__municipality")
        .get(pk=session_id)
    )


def _lock_person(person_id: int) -> None:
    User.objects.select_for_update().filter(pk=person_id).exists()


def _task_url(task: Task) -> str:
    return reverse("matching:task_detail", args=[task.pk])


def _task_context(task: Task, **extra: Any) -> dict[str, Any]:
    return {
        "task_id": task.pk,
        "task_title": task.title,
        "municipality": task.municipality.name,
        **extra,
    }


def _session_context(session: Session) -> dict[str, Any]:
    return {
        "session_id": session.pk,
        "starts_at": session.starts_at.isoformat(),
        "ends_at": session.ends_at.isoformat(),
    }


# --- Hosts -------------------------------------------------------------------------------


def host_apply(
    *, person: User, municipality: Municipality, organisation: str = "", message: str
) -> HostApplication:
    """A person asks to host (ヌシ) for ``municipality``."""
    message = message.strip()
    if not message:
        raise ValidationError(
            {"message": _("どんなお手伝いを募集したいか、困りごとを書いてください。")}
        )
    if staff_scope(user=person).hosts_for(municipality.code):
        raise Conflict(
            {
                "municipality": _("%(name)s のヌシとしてすでに承認されています。")
                % {"name": municipality.name}
            }
        )
    application = HostApplication(
        person=person,
        municipality=municipality,
        organisation=organisation.strip(),
        message=message,
    )
    application.full_clean(exclude=["person", "municipality"], validate_constraints=False)
    try:
        with transaction.atomic():
            application.save()
            audit_record(
                actor=person, action="host.apply", target=application, municipality=municipality
            )
            notification_send(
                recipients=_staff_of(municipality.code),
                kind="host_applied",
                topic=Topic.HOSTING,
                key=f"host_application:{application.pk}:applied",
                context={
                    "municipality": municipality.name,
                    "organisation": application.organisation,
                },
                url=reverse("matching:host_applications", args=[municipality.code]),
                author=person,
                author_keys=["organisation"],
            )
    except IntegrityError as exc:
        raise Conflict(
            {
                "municipality": _("%(name)s へのヌシの申請はすでに審査中です。")
                % {"name": municipality.name}
            }
        ) from exc
    return application


def _staff_of(municipality_code: str) -> list[int]:
    """The ids of the municipality's staff, who review what its hosts send."""
    return list(
        User.objects.filter(
            memberships__municipality_id=municipality_code,
            memberships__role__in=[Role.MUNICIPALITY_ADMIN, Role.MUNICIPALITY_EDITOR],
        ).values_list("pk", flat=True)
    )


def _check_staff(actor: User, municipality: Municipality) -> None:
    if not staff_scope(user=actor).manages_municipality(municipality.code):
        raise PermissionDenied(_("この市区町村の職員だけができる操作です。"))


def host_application_decide(
    *, application: HostApplication, actor: User, approve: bool, note: str = ""
) -> HostApplication:
    """The municipality's staff approve (granting the host role) or refuse an application."""
    _check_staff(actor, application.municipality)
    if application.person_id == actor.pk:
        raise PermissionDenied(_("自分の申請は審査できません。"))
    with transaction.atomic():
        application = HostApplication.objects.select_for_update().get(pk=application.pk)
        if application.status != HostApplicationStatus.PENDING:
            raise Conflict(_("この申請はすでに審査されています。"))
        application.status = (
            HostApplicationStatus.APPROVED if approve else HostApplicationStatus.REFUSED
        )
        application.decided_at = timezone.now()
        application.decided_by = actor
        application.decision_note = note.strip()[:1000]
        application.save(update_fields=["status", "decided_at", "decided_by", "decision_note"])
        if approve and not staff_scope(user=application.person).hosts_for(
            application.municipality_id
        ):
            membership_grant(
                user=application.person,
                role=Role.HOST,
                municipality=application.municipality,
                granted_by=actor,
            )
        audit_record(
            actor=actor,
            action="host.approve" if approve else "host.refuse",
            target=application,
            municipality=application.municipality,
        )
        notification_send(
            recipients=[application.person_id],
            kind="host_approved" if approve else "host_refused",
            topic=Topic.HOSTING,
            key=f"host_application:{application.pk}:decided",
            context={
                "municipality": application.municipality.name,
                "note": application.decision_note,
            },
            url=reverse("matching:host_home"),
            author=actor,
            author_keys=["note"],
        )
    return application


def host_queue_read(*, viewer: User, municipality: Municipality):
    """The town's pending host applications (names and what they wrote) for its own staff;
    every read is written to the audit log, like every staff read of personal data."""
    _check_staff(viewer, municipality)
    with transaction.atomic():
        audit_record(
            actor=viewer, action="host.queue.read", target=municipality, municipality=municipality
        )
    return host_applications_pending(municipality_code=municipality.code)


# --- Tasks -------------------------------------------------------------------------------

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


def may_manage_task(user: User, task: Task) -> bool:
    """Staff of the task's municipality, or its host while they still host there."""
    scope = staff_scope(user=user)
    if scope.manages_municipality(task.municipality_id):
        return True
    return task.host_id == user.pk and scope.hosts_for(task.municipality_id)


def _check_manage(actor: User, task: Task) -> None:
    if not may_manage_task(actor, task):
        raise PermissionDenied(_("このお手伝いを管理する権限がありません。"))


def _search_text(task: Task) -> str:
    parts = [task.title, task.description, task.host_message, task.host_name, task.address]
    return search_key(" ".join(p for p in parts if p))


def _clean_task(task: Task) -> None:
    errors: dict[str, list[str]] = {}
    if (task.latitude is None) != (task.longitude is None):
        errors["latitude"] = [_("緯度と経度は両方を入力するか、両方を空にしてください。")]
    if task.confirm_window_hours == 0:
        errors["confirm_window_hours"] = [_("確認期限は1時間以上にするか、空欄にしてください。")]
    if task.is_online:
        task.latitude = task.longitude = None
    try:
        task.full_clean(exclude=["municipality", "host", "created_by", "prefecture"])
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def _session_errors(starts_at, ends_at, capacity, now) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if starts_at is None:
        errors["starts_at"] = [_("開始日時を入力してください。")]
    elif starts_at <= now:
        errors["starts_at"] = [_("開始日時は未来の日時にしてください。")]
    elif starts_at > now + datetime.timedelta(days=3 * 366):
        errors["starts_at"] = [_("開始日時は3年以内にしてください。")]
    if ends_at is None:
        errors["ends_at"] = [_("終了日時を入力してください。")]
    elif starts_at is not None and ends_at <= starts_at:
        errors["ends_at"] = [_("終了は開始より後の時刻にしてください。")]
    elif starts_at is not None and ends_at - starts_at > datetime.timedelta(days=14):
        errors["ends_at"] = [_("1回の開催は14日以内にしてください。長い場合は回を分けてください。")]
    if capacity is None or not isinstance(capacity, int) or capacity < 1:
        errors["capacity"] = [_("定員は1人以上にしてください。")]
    elif capacity > 10000:
        errors["capacity"] = [_("定員は10000人以下にしてください。")]
    return errors


def _sessions_errors(sessions: list[dict], now) -> dict[str, Any]:
    if not sessions:
        return {"sessions": [_("開催回を1つ以上入力してください。")]}
    if len(sessions) > 100:
        return {"sessions": [_("開催回は100回までです。")]}
    problems = [
        _session_errors(s.get("starts_at"), s.get("ends_at"), s.get("capacity"), now)
        for s in sessions
    ]
    if any(problems):
        # One message per session, in the order they were given.
        messages = []
        for number, errors in enumerate(problems, start=1):
            for message in (m for ms in errors.values() for m in ms):
                messages.append(_("%(n)d回目: %(message)s") % {"n": number, "message": message})
        return {"sessions": messages}
    return {}


def _task_dates_refresh(task_id: int) -> None:
    """Keep the task's first start, last end, last moment to sign up, and the days and
    months its sessions fall on (what the matcher compares with people's availability)."""
    times = list(
        Session.objects.filter(task_id=task_id, status=SessionStatus.SCHEDULED).values_list(
            "starts_at", "ends_at"
        )
    )
    hours = Task.objects.filter(pk=task_id).values_list("signup_close_hours", flat=True).get()
    days = months = 0
    for starts_at, _ends_at in times:
        local = timezone.localtime(starts_at)
        weekend = AvailableDays.WEEKENDS if local.weekday() >= 5 else AvailableDays.WEEKDAYS
        days |= flags.bit(AvailableDays, weekend)
        months |= flags.bit(Month, str(local.month))
    last_start = max((start for start, _end in times), default=None)
    Task.objects.filter(pk=task_id).update(
        starts_at=min((start for start, _end in times), default=None),
        ends_at=max((end for _start, end in times), default=None),
        signup_closes_at=(
            last_start - datetime.timedelta(hours=hours) if last_start is not None else None
        ),
        session_days=days,
        session_months=months,
    )


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
        raise PermissionDenied(
            _("%(name)s のお手伝いを作れるのは、その市区町村の職員と承認されたヌシだけです。")
            % {"name": municipality.name}
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
        for field, messages in exc.message_dict.items():
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


def host_name_of(person: User, municipality: Municipality) -> str:
    """The name a host's tasks show: the organisation the town's staff approved in the
    person's host application, else the person's own name (never their e-mail address)."""
    organisation = (
        HostApplication.objects.filter(
            person=person, municipality=municipality, status=HostApplicationStatus.APPROVED
        )
        .exclude(organisation="")
        .order_by("-decided_at", "-id")
        .values_list("organisation", flat=True)
        .first()
    )
    return organisation or person.public_name


def _host_name_errors(actor: User, municipality: Municipality, wanted: str | None) -> dict:
    """A host does not choose the name shown: it is the one the town approved."""
    approved = host_name_of(actor, municipality)
    if wanted and wanted != approved:
        return {
            "host_name": [
                _(
                    "ヌシの表示名は、市区町村が承認したヌシの申請の団体名（なければあなたの名前）"
                    "です。変えたいときは市区町村に連絡してください。"
                )
            ]
        }
    if not approved:
        return {
            "host_name": [_("表示する名前がありません。アカウントの設定で名前を登録してください。")]
        }
    return {}


def changes_held(*, actor: User, task: Task) -> bool:
    """Whether ``actor``'s change to ``task`` waits for the town's staff: a host's change
    once the task is public (a ``TaskRevision``). Staff changes apply at once."""
    return task.status in (TaskStatus.PUBLISHED, TaskStatus.CLOSED) and not staff_scope(
        user=actor
    ).manages_municipality(task.municipality_id)


def _refuse_held(actor: User, task: Task) -> None:
    if changes_held(actor=actor, task=task):
        raise PermissionDenied(
            _(
                "公開中のお手伝いの変更は、市区町村の職員が確認してから反映されます。"
                "変更の申請として送ってください。"
            )
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
    _check_manage(actor, task)
    _refuse_held(actor, task)
    return _task_update(task=task, actor=actor, fields=fields, photo=photo)


def _same_text(new: Any, old: Any) -> bool:
    return (
        isinstance(new, str)
        and isinstance(old, str)
        and new != old
        and unicodedata.normalize("NFKC", new) == unicodedata.normalize("NFKC", old)
    )


def _task_fields_check(task: Task, actor: User, fields: dict[str, Any], photo=None) -> list[str]:
    """Set ``fields`` on ``task`` (not saved) and check it; the names that change.
    ``photo``, an upload, is checked and re-encoded onto ``task.photo``."""
    if task.status not in EDITABLE_STATUSES:
        raise ValidationError(
            _("「%(status)s」のお手伝いは変更できません。") % {"status": task.get_status_display()}
        )
    is_staff = staff_scope(user=actor).manages_municipality(task.municipality_id)
    errors: dict[str, Any] = {}
    if "host_name" in fields and not is_staff:
        if fields["host_name"] != task.host_name:
            errors.update(_host_name_errors(actor, task.municipality, fields["host_name"] or "-"))
        fields = {name: value for name, value in fields.items() if name != "host_name"}
    # Text that differs from what is stored only in its form (full-width （）！ typed into a
    # form that folds them, say) is no change: the stored text stays as it was written.
    fields = {
        name: value for name, value in fields.items() if not _same_text(value, getattr(task, name))
    }
    before = {name: getattr(task, name) for name in fields}
    for name, value in fields.items():
        setattr(task, name, value)
    try:
        _clean_task(task)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
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
        raise ValidationError({"signup_mode": _("申込がある間は、参加の決め方を変えられません。")})
    if "designated" in changed and task.status == TaskStatus.PUBLISHED and not is_staff:
        raise ValidationError(
            {"designated": _("公開後の担い手活動の指定は、自治体職員だけが変えられます。")}
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
                context=_task_context(
                    task, fields=[str(Task._meta.get_field(name).verbose_name) for name in told]
                ),
                url=_task_url(task),
            )
    return task


def task_submit(*, task: Task, actor: User) -> Task:
    """The host asks the municipality to review and publish the draft."""
    _check_manage(actor, task)
    with transaction.atomic():
        task = Task.objects.select_for_update().get(pk=task.pk)
        if task.status != TaskStatus.DRAFT:
            raise ValidationError(_("審査を依頼できるのは下書きのお手伝いだけです。"))
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
        raise ValidationError(_("これからの開催回がありません。開催回を追加してください。"))


def task_publish(*, task: Task, actor: User) -> Task:
    """The municipality's staff publish a draft or a task in review."""
    _check_staff(actor, task.municipality)
    with transaction.atomic():
        task = Task.objects.select_for_update().get(pk=task.pk)
        if task.status not in (TaskStatus.DRAFT, TaskStatus.IN_REVIEW):
            raise ValidationError(_("公開できるのは下書きか審査中のお手伝いだけです。"))
        if task.status == TaskStatus.DRAFT and task.host_id and task.host_id != actor.pk:
            # A host's draft may be changing under the clerk's eyes (a change in review
            # makes it one again): only what the host submitted is published.
            raise ValidationError(_("ヌシのお手伝いは、ヌシが審査に出してから公開できます。"))
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
        raise ValidationError({"note": _("差し戻しの理由を書いてください。")})
    with transaction.atomic():
        task = Task.objects.select_for_update().get(pk=task.pk)
        if task.status != TaskStatus.IN_REVIEW:
            raise ValidationError(_("差し戻せるのは審査中のお手伝いだけです。"))
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
    _check_manage(actor, task)
    with transaction.atomic():
        task = Task.objects.select_for_update().get(pk=task.pk)
        if task.status != TaskStatus.PUBLISHED:
            raise ValidationError(_("募集を締め切れるのは募集中のお手伝いだけです。"))
        task.status = TaskStatus.CLOSED
        task.save(update_fields=["status"])
        audit_record(actor=actor, action="task.close", target=task, municipality=task.municipality)
    return task


def task_complete(*, task: Task, actor: User | None) -> Task:
    """Mark the task done, once its last session has begun."""
    if actor is not None:
        _check_manage(actor, task)
    with transaction.atomic():
        task = Task.objects.select_for_update().get(pk=task.pk)
        if task.status not in (TaskStatus.PUBLISHED, TaskStatus.CLOSED):
            raise ValidationError(_("終了にできるのは募集中か募集終了のお手伝いだけです。"))
        if Session.objects.filter(
            task=task, status=SessionStatus.SCHEDULED, starts_at__gt=timezone.now()
        ).exists():
            raise ValidationError(_("まだ始まっていない開催回があります。"))
        task.status = TaskStatus.COMPLETED
        task.save(update_fields=["status"])
        audit_record(
            actor=actor, action="task.complete", target=task, municipality=task.municipality
        )
    return task


def task_cancel(*, task: Task, actor: User, reason: str) -> Task:
    """Call the whole task off: every sign-up for a session still to come is cancelled and
    its person told. Sessions that have begun stay as they were."""
    _check_manage(actor, task)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("中止の理由を書いてください。参加者に伝わります。")})
    now = timezone.now()
    with transaction.atomic():
        task = Task.objects.select_for_update().get(pk=task.pk)
        if task.status in (TaskStatus.COMPLETED, TaskStatus.CANCELLED):
            raise ValidationError(
                _("「%(status)s」のお手伝いは中止できません。")
                % {"status": task.get_status_display()}
            )
        sessions = list(
            Session.objects.select_for_update().filter(task=task).order_by("pk")
        )  # the fixed order: sessions by id
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
    _check_manage(actor, task)
    report = report.strip()
    if not report:
        raise ValidationError({"report": _("レポートの本文を書いてください。")})
    if len(report) > 5000:
        raise ValidationError({"report": _("レポートは5000文字以内にしてください。")})
    if (
        task.status == TaskStatus.CANCELLED
        or not Session.objects.filter(
            task=task, status=SessionStatus.SCHEDULED, starts_at__lte=timezone.now()
        ).exists()
    ):
        raise ValidationError(_("活動レポートは、開催回が始まった後に公開できます。"))
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
    _check_manage(viewer, task)
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


# --- Sessions ----------------------------------------------------------------------------


def session_add(
    *,
    task: Task,
    actor: User,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    capacity: int,
) -> Session:
    _check_manage(actor, task)
    _refuse_held(actor, task)
    if task.status not in EDITABLE_STATUSES:
        raise ValidationError(
            _("「%(status)s」のお手伝いには開催回を追加できません。")
            % {"status": task.get_status_display()}
        )
    errors = _session_errors(starts_at, ends_at, capacity, timezone.now())
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        session = Session.objects.create(
            task=task, starts_at=starts_at, ends_at=ends_at, capacity=capacity
        )
        _review_withdraw(task, actor)
        _task_dates_refresh(task.pk)
        audit_record(
            actor=actor, action="session.add", target=session, municipality=task.municipality
        )
        if task.status == TaskStatus.PUBLISHED:
            _match_request(task)
            _tell_watchers(session, timezone.now())
    return session


def session_update(
    *,
    session: Session,
    actor: User,
    starts_at: datetime.datetime | None = None,
    ends_at: datetime.datetime | None = None,
    capacity: int | None = None,
) -> Session:
    """Move a session or change its capacity. Its people are told of a new time; a larger
    capacity promotes the waiting list; capacity below the places taken is refused."""
    task = session.task
    _check_manage(actor, task)
    _refuse_held(actor, task)
    now = timezone.now()
    with transaction.atomic():
        session = _lock_session(session.pk)
        if session.status != SessionStatus.SCHEDULED or task.status not in EDITABLE_STATUSES:
            raise ValidationError(_("この開催回は変更できません。"))
        if session.starts_at <= now:
            raise ValidationError(_("始まった開催回は変更できません。"))
        new_start = starts_at or session.starts_at
        new_end = ends_at or session.ends_at
        new_capacity = session.capacity if capacity is None else capacity
        errors = _session_errors(new_start, new_end, new_capacity, now)
        if not errors and new_capacity < session.taken:
            errors["capacity"] = [
                _("すでに%(taken)d人の参加が決まっているので、定員をそれより少なくできません。")
                % {"taken": session.taken}
            ]
        if errors:
            raise ValidationError(errors)
        moved = (new_start, new_end) != (session.starts_at, session.ends_at)
        if moved:
            holders = list(
                Signup.objects.filter(session=session, status__in=HOLDING_STATUSES)
                .order_by("person_id")
                .values_list("pk", "person_id")
            )
            list(
                User.objects.select_for_update()
                .filter(pk__in=[person for _pk, person in holders])
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            probe = Session(starts_at=new_start, ends_at=new_end)
            if any(_overlapping(person, probe, exclude_signup=pk) for pk, person in holders):
                raise ValidationError(
                    {
                        "starts_at": _(
                            "この日時に動かすと、参加が決まっている方の別の参加と重なります。"
                        )
                    }
                )
        session.starts_at, session.ends_at, session.capacity = new_start, new_end, new_capacity
        session.save(update_fields=["starts_at", "ends_at", "capacity"])
        _review_withdraw(task, actor)
        if moved:
            Signup.objects.filter(session=session).update(
                starts_at=new_start, ends_at=new_end, reminded_at=None
            )
            Signup.objects.filter(
                session=session, status=SignupStatus.OFFERED, offer_expires_at__gt=new_start
            ).update(offer_expires_at=new_start)
            _task_dates_refresh(task.pk)
            notification_send(
                recipients=Signup.objects.filter(
                    session=session, status__in=LIVE_STATUSES
                ).values_list("person_id", flat=True),
                kind="session_moved",
                topic=Topic.CHANGES,
                key=f"session:{session.pk}:moved:{now.isoformat()}",
                context=_task_context(task, **_session_context(session)),
                url=_task_url(task),
            )
        _promote(session, now)
        _tell_watchers(session, now)
        if moved and task.status == TaskStatus.PUBLISHED:
            _match_request(task)
        audit_record(
            actor=actor, action="session.update", target=session, municipality=task.municipality
        )
    return session


def session_cancel(*, session: Session, actor: User, reason: str) -> Session:
    """Call one session off; its people are told. The task's other sessions go on."""
    task = session.task
    _check_manage(actor, task)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("中止の理由を書いてください。参加者に伝わります。")})
    now = timezone.now()
    with transaction.atomic():
        session = _lock_session(session.pk)
        if session.status != SessionStatus.SCHEDULED:
            raise ValidationError(_("この開催回はすでに中止されています。"))
        live = Signup.objects.filter(session=session, status__in=LIVE_STATUSES)
        people = list(live.values_list("person_id", flat=True))
        live.update(status=SignupStatus.CANCELLED, cancelled_at=now, offer_expires_at=None)
        session.status = SessionStatus.CANCELLED
        session.taken = 0
        session.save(update_fields=["status", "taken"])
        _task_dates_refresh(task.pk)
        audit_record(
            actor=actor, action="session.cancel", target=session, municipality=task.municipality
        )
        if task.status == TaskStatus.PUBLISHED:
            _match_request(task)
        notification_send(
            recipients=people,
            kind="session_cancelled",
            topic=Topic.CHANGES,
            key=f"session:{session.pk}:cancelled",
            context=_task_context(task, reason=reason[:1000], **_session_context(session)),
            url=_task_url(task),
            author=actor,
            author_keys=["reason"],
        )
    return session


# --- Revisions: a host's change to a published task, held for the town's staff -----------


def _session_change_entry(task: Task, entry: dict, now) -> tuple[dict, dict]:
    """One session change of a revision, checked: ``(entry as stored, errors)``."""
    session_id = entry.get("session")
    if session_id is None:
        starts_at, ends_at, capacity = (
            entry.get("starts_at"),
            entry.get("ends_at"),
            entry.get("capacity"),
        )
        errors = _session_errors(starts_at, ends_at, capacity, now)
    else:
        session = Session.objects.filter(pk=session_id, task=task).first()
        if session is None:
            return {}, {"session": [_("このお手伝いの開催回ではありません。")]}
        if session.status != SessionStatus.SCHEDULED or session.starts_at <= now:
            return {}, {"session": [_("この開催回は変更できません。")]}
        starts_at = entry.get("starts_at") or session.starts_at
        ends_at = entry.get("ends_at") or session.ends_at
        capacity = session.capacity if entry.get("capacity") is None else entry["capacity"]
        errors = _session_errors(starts_at, ends_at, capacity, now)
        if not errors and capacity < session.taken:
            errors["capacity"] = [
                _("すでに%(taken)d人の参加が決まっているので、定員をそれより少なくできません。")
                % {"taken": session.taken}
            ]
        if not errors and (starts_at, ends_at, capacity) == (
            session.starts_at,
            session.ends_at,
            session.capacity,
        ):
            return {}, {}  # no change to this one
    if errors:
        return {}, errors
    return {
        "session": session_id,
        "starts_at": starts_at.isoformat(),
        "ends_at": ends_at.isoformat(),
        "capacity": capacity,
    }, {}


def revision_values(revision: TaskRevision) -> dict[str, Any]:
    """The task fields a revision changes, as the model holds them."""
    return dict(revision.changes)


def revision_session_changes(revision: TaskRevision) -> list[dict[str, Any]]:
    """A revision's session changes with their times as datetimes."""
    return [
        {
            **entry,
            "starts_at": datetime.datetime.fromisoformat(entry["starts_at"]),
            "ends_at": datetime.datetime.fromisoformat(entry["ends_at"]),
        }
        for entry in revision.sessions
    ]


def task_revision_submit(
    *,
    task: Task,
    actor: User,
    fields: dict[str, Any] | None = None,
    photo=None,
    sessions: list[dict] | None = None,
) -> TaskRevision:
    """A host changes a published task: the change is held as a revision for the town's
    staff, and the task stays as published until one of them approves it. A revision still
    pending is replaced by one holding both (the host's latest word on each field).

    ``sessions``: new ones (``starts_at``, ``ends_at``, ``capacity``) and changes to
    existing ones (with ``session``, the id)."""
    fields = dict(fields or {})
    unknown = set(fields) - set(TASK_FIELDS)
    if unknown:
        raise TypeError(f"Unknown task fields: {sorted(unknown)}")
    _check_manage(actor, task)
    if not changes_held(actor=actor, task=task):
        raise ValidationError(_("このお手伝いの変更は確認を待たずに保存できます。"))
    now = timezone.now()
    with transaction.atomic():
        # One revision of a task at a time: its row is the lock (the task before sessions).
        live = Task.objects.select_for_update().select_related("municipality").get(pk=task.pk)
        previous = (
            TaskRevision.objects.select_for_update()
            .filter(task=live, status=RevisionStatus.PENDING)
            .first()
        )
        wanted = {**(previous.changes if previous else {}), **fields}
        probe = Task.objects.select_related("municipality").get(pk=live.pk)
        _task_fields_check(probe, actor, wanted, photo)
        changes = {
            name: getattr(probe, name)
            for name in wanted
            if name != "host_name" and getattr(probe, name) != getattr(live, name)
        }
        # Session changes: the earlier revision's, then these (the later word on a session).
        entries: dict[Any, dict] = {}
        errors: list[str] = []
        given = [
            *(revision_session_changes(previous) if previous else []),
            *(sessions or []),
        ]
        for number, entry in enumerate(given, start=1):
            stored, problems = _session_change_entry(live, entry, now)
            for message in (m for ms in problems.values() for m in ms):
                errors.append(_("%(n)d回目: %(message)s") % {"n": number, "message": message})
            if stored:
                key = stored["session"] if stored["session"] is not None else f"new-{number}"
                entries[key] = stored
            elif entry.get("session") is not None:
                entries.pop(entry["session"], None)
        if errors:
            raise ValidationError({"sessions": errors})
        new_photo = probe.photo if photo is not None else None
        keep_photo = previous.photo.name if previous and previous.photo and not new_photo else ""
        if not changes and not entries and not new_photo and not keep_photo:
            raise ValidationError(_("公開中の内容から変わった項目がありません。"))
        if previous is not None:
            previous.status = RevisionStatus.REPLACED
            previous.decided_at = now
            previous.save(update_fields=["status", "decided_at"])
        revision = TaskRevision(
            task=live,
            author=actor,
            changes=changes,
            sessions=list(entries.values()),
            created_at=now,
        )
        if new_photo:
            revision.photo = new_photo
        elif keep_photo:
            revision.photo.name = keep_photo
        revision.save()
        audit_record(
            actor=actor,
            action="task.revision.submit",
            target=revision,
            municipality=live.municipality,
            detail={
                "task": live.pk,
                "fields": sorted(changes) + (["photo"] if revision.photo else []),
                "sessions": len(revision.sessions),
                "replaces": previous.pk if previous else None,
            },
        )
        if previous is None:
            # Once per change waiting: a further edit replaces it in the same queue, where
            # staff find the latest (no new message per keystroke of a busy host).
            notification_send(
                recipients=_staff_of(live.municipality_id),
                kind="task_revision_submitted",
                topic=Topic.HOSTING,
                key=f"task_revision:{revision.pk}:submitted",
                context=_task_context(live, host=live.host_name),
                url=reverse("matching:staff_tasks", args=[live.municipality_id]),
                author=actor,
                author_keys=["host"],
            )
    return revision


def task_revision_withdraw(*, revision: TaskRevision, actor: User) -> TaskRevision:
    """The host takes back a change still waiting for review."""
    task = revision.task
    if actor.pk not in (revision.author_id, task.host_id):
        raise PermissionDenied(_("自分が出した変更だけを取り下げられます。"))
    with transaction.atomic():
        revision = TaskRevision.objects.select_for_update().get(pk=revision.pk)
        if revision.status != RevisionStatus.PENDING:
            raise Conflict(_("この変更はもう確認待ちではありません。"))
        revision.status = RevisionStatus.WITHDRAWN
        revision.decided_at = timezone.now()
        revision.save(update_fields=["status", "decided_at"])
        audit_record(
            actor=actor,
            action="task.revision.withdraw",
            target=revision,
            municipality=task.municipality,
            detail={"task": task.pk},
        )
    return revision


def task_revision_decide(
    *, revision: TaskRevision, actor: User, approve: bool, note: str = ""
) -> TaskRevision:
    """A staff member of the town approves a host's change (it is applied as a staff edit
    would be, participants told as usual) or rejects it (the host is told why). Nobody
    decides on their own change."""
    task = revision.task
    _check_staff(actor, task.municipality)
    if actor.pk in (revision.author_id, task.host_id):
        raise PermissionDenied(
            _("自分が出した変更は承認も却下もできません。ほかの職員に依頼してください。")
        )
    note = note.strip()
    if not approve and not note:
        raise ValidationError({"note": _("却下の理由を書いてください。ヌシに伝わります。")})
    now = timezone.now()
    with transaction.atomic():
        Task.objects.select_for_update().filter(pk=task.pk).exists()
        revision = TaskRevision.objects.select_for_update().get(pk=revision.pk)
        if revision.status != RevisionStatus.PENDING:
            raise Conflict(_("この変更はもう確認待ちではありません。"))
        if approve:
            task = Task.objects.select_related("municipality").get(pk=task.pk)
            _task_update(
                task=task,
                actor=actor,
                fields=revision_values(revision),
                stored_photo=revision.photo.name if revision.photo else "",
            )
            for entry in revision_session_changes(revision):
                times = {"starts_at": entry["starts_at"], "ends_at": entry["ends_at"]}
                if entry["session"] is None:
                    session_add(task=task, actor=actor, capacity=entry["capacity"], **times)
                else:
                    session = Session.objects.select_related("task__municipality").get(
                        pk=entry["session"], task=task
                    )
                    session_update(
                        session=session, actor=actor, capacity=entry["capacity"], **times
                    )
        revision.status = RevisionStatus.APPROVED if approve else RevisionStatus.REJECTED
        revision.decided_at = now
        revision.decided_by = actor
        revision.decision_note = note[:1000]
        revision.save(update_fields=["status", "decided_at", "decided_by", "decision_note"])
        audit_record(
            actor=actor,
            action="task.revision.approve" if approve else "task.revision.reject",
            target=revision,
            municipality=task.municipality,
            detail={"task": task.pk},
        )
        notification_send(
            recipients=[revision.author_id or task.host_id or None],
            kind="task_revision_approved" if approve else "task_revision_rejected",
            topic=Topic.HOSTING,
            key=f"task_revision:{revision.pk}:decided",
            context=_task_context(task, note=revision.decision_note),
            url=reverse("matching:revision_detail", args=[revision.pk]),
            author=actor,
            author_keys=["note"],
        )
    return revision


# --- Sign-ups ----------------------------------------------------------------------------


def _overlapping(person_id: int, session: Session, exclude_signup: int | None = None):
    qs = Signup.objects.filter(
        person_id=person_id,
        status__in=HOLDING_STATUSES,
        starts_at__lt=session.ends_at,
        ends_at__gt=session.starts_at,
    )
    if exclude_signup is not None:
        qs = qs.exclude(pk=exclude_signup)
    return qs.select_related("session__task").first()


def _overlap_error(other: Signup) -> ValidationError:
    return Conflict(
        {
            "session": _(
                "同じ時間に「%(title)s」への参加が決まっています。重なる回には申し込めません。"
            )
            % {"title": other.session.task.title}
        }
    )


def signup_create(*, session: Session, person: User, message: str = "") -> Signup:
    """Sign ``person`` up for ``session``: a place if one is left (first come), else the
    waiting list; on a host-approved task, a request the host accepts or declines."""
    now = timezone.now()
    message = message.strip()
    if len(message) > 1000:
        raise ValidationError({"message": _("メッセージは1000文字以内にしてください。")})
    with transaction.atomic():
        session = _lock_session(session.pk)
        task = session.task
        if task.status != TaskStatus.PUBLISHED:
            raise ValidationError(
                _("このお手伝いはいま申し込めません（%(status)s）。")
                % {"status": task.get_status_display()}
            )
        if session.status != SessionStatus.SCHEDULED:
            raise ValidationError(_("この開催回は中止になりました。"))
        if now >= session.signup_closes_at():
            raise ValidationError(_("この回の申し込みは締め切りました。"))
        if task.minimum_age:
            birth_year = profile_of(person).birth_year
            if birth_year is None:
                raise ValidationError(
                    _("年齢の条件があるお手伝いです。プロフィールに生まれた年を設定してください。")
                )
            if timezone.localdate().year - birth_year < task.minimum_age:
                raise ValidationError(
                    _("このお手伝いは%(age)d歳以上の方が対象です。") % {"age": task.minimum_age}
                )
        _lock_person(person.pk)
        if Signup.objects.filter(session=session, person=person, status__in=LIVE_STATUSES).exists():
            raise Conflict({"session": _("この回にはすでに申し込んでいます。")})
        signup = Signup(
            session=session,
            person=person,
            starts_at=session.starts_at,
            ends_at=session.ends_at,
            message=message,
            created_at=now,
        )
        if task.signup_mode == SignupMode.APPROVAL:
            signup.status = SignupStatus.PENDING
        elif session.taken < session.capacity:
            other = _overlapping(person.pk, session)
            if other is not None:
                raise _overlap_error(other)
            signup.status = SignupStatus.CONFIRMED
            signup.confirmed_at = now
            Session.objects.filter(pk=session.pk).update(taken=F("taken") + 1)
        else:
            signup.status = SignupStatus.WAITLISTED
        try:
            with transaction.atomic():
                signup.save()
        except IntegrityError as exc:  # cannot happen under the locks; the database agrees
            raise Conflict({"session": _("この回にはすでに申し込んでいます。")}) from exc
        _tell(signup, task, f"signup_{signup.status}")
    return signup


def _tell(signup: Signup, task: Task, kind: str) -> None:
    notification_send(
        recipients=[signup.person_id],
        kind=kind,
        topic=Topic.PROMOTIONS if kind == "signup_promoted" else Topic.SIGNUPS,
        key=f"signup:{signup.pk}:{kind}:{signup.status}",
        context=_task_context(
            task,
            status=signup.status,
            offer_expires_at=(
                signup.offer_expires_at.isoformat() if signup.offer_expires_at else None
            ),
            **_session_context(signup.session),
        ),
        url=reverse("matching:my_signups"),
    )


def _promote(session: Session, now: datetime.datetime) -> int:
    """Give free places to the waiting list, in order. Call with the session locked.

    Someone now holding an overlapping session is passed over and stays on the list."""
    task = session.task
    if (
        task.signup_mode != SignupMode.FIRST_COME
        or task.status not in (TaskStatus.PUBLISHED, TaskStatus.CLOSED)
        or session.status != SessionStatus.SCHEDULED
        or session.starts_at <= now
    ):
        return 0
    free = session.capacity - session.taken
    promoted = 0
    last_id = 0
    while free > 0:
        batch = list(
            Signup.objects.filter(
                session=session, status=SignupStatus.WAITLISTED, pk__gt=last_id
            ).order_by("pk")[:500]
        )
        if not batch:
            break
        # All of the batch's people at once, in id order: two promotions locking the same
        # people never wait on each other in a cycle.
        list(
            User.objects.select_for_update()
            .filter(pk__in=[s.person_id for s in batch])
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        for signup in batch:
            last_id = signup.pk
            if _overlapping(signup.person_id, session) is not None:
                continue
            signup.session = session
            if task.confirm_window_hours:
                signup.status = SignupStatus.OFFERED
                signup.offer_expires_at = min(
                    now + datetime.timedelta(hours=task.confirm_window_hours), session.starts_at
                )
            else:
                signup.status = SignupStatus.CONFIRMED
                signup.confirmed_at = now
            signup.save(update_fields=["status", "offer_expires_at", "confirmed_at"])
            _tell(signup, task, "signup_promoted")
            promoted += 1
            free -= 1
            if free == 0:
                break
    if promoted:
        Session.objects.filter(pk=session.pk).update(taken=F("taken") + promoted)
        session.taken += promoted
    return promoted


def _release(session: Session, now: datetime.datetime) -> None:
    """One place was given back: count it, then offer it on (the waiting list first, then
    the people watching the task)."""
    Session.objects.filter(pk=session.pk).update(taken=F("taken") - 1)
    session.taken -= 1
    _promote(session, now)
    _tell_watchers(session, now)


def signup_cancel(*, signup: Signup, actor: User) -> Signup:
    """The person cancels, until the task's cancellation deadline. A place given back goes
    to the waiting list in the same transaction."""
    if signup.person_id != actor.pk:
        raise PermissionDenied(_("自分の申込だけをキャンセルできます。"))
    now = timezone.now()
    with transaction.atomic():
        session = _lock_session(signup.session_id)
        signup = Signup.objects.get(pk=signup.pk)
        if signup.status not in LIVE_STATUSES:
            raise ValidationError(
                _("この申込はすでに終わっています（%(status)s）。")
                % {"status": signup.get_status_display()}
            )
        held = signup.status in HOLDING_STATUSES
        if session.starts_at <= now:
            raise ValidationError(
                _("始まった回はキャンセルできません。ヌシに直接連絡してください。")
            )
        if held and now >= session.cancel_closes_at():
            raise ValidationError(
                _(
                    "キャンセルの締め切り（%(deadline)s）を過ぎています。"
                    "参加できない場合は、ヌシに直接連絡してください。"
                )
                % {
                    "deadline": timezone.localtime(session.cancel_closes_at()).strftime(
                        "%Y-%m-%d %H:%M"
                    )
                }
            )
        signup.status = SignupStatus.CANCELLED
        signup.cancelled_at = now
        signup.offer_expires_at = None
        signup.save(update_fields=["status", "cancelled_at", "offer_expires_at"])
        if held:
            _release(session, now)
    return signup


def signup_confirm(*, signup: Signup, actor: User) -> Signup:
    """The person promoted from the waiting list takes the offered place."""
    if signup.person_id != actor.pk:
        raise PermissionDenied(_("自分の申込だけを確定できます。"))
    now = timezone.now()
    with transaction.atomic():
        _lock_session(signup.session_id)
        signup = Signup.objects.get(pk=signup.pk)
        if signup.status != SignupStatus.OFFERED:
            raise ValidationError(_("確定を待っている申込ではありません。"))
        if signup.offer_expires_at <= now or signup.starts_at <= now:
            raise ValidationError(_("確認の期限を過ぎたため、この席は次の方に回りました。"))
        signup.status = SignupStatus.CONFIRMED
        signup.confirmed_at = now
        signup.offer_expires_at = None
        signup.save(update_fields=["status", "confirmed_at", "offer_expires_at"])
    return signup


def offers_expire(*, now: datetime.datetime | None = None, max_rows: int = 5000) -> int:
    """Offers not confirmed in time lapse; each place passes to the next person. Idempotent,
    one short transaction per offer (run by beat)."""
    now = now or timezone.now()
    expired = 0
    for pk, session_id in (
        Signup.objects.filter(status=SignupStatus.OFFERED, offer_expires_at__lte=now)
        .order_by("offer_expires_at", "pk")
        .values_list("pk", "session_id")[:max_rows]
    ):
        with transaction.atomic():
            session = _lock_session(session_id)
            changed = Signup.objects.filter(
                pk=pk, status=SignupStatus.OFFERED, offer_expires_at__lte=now
            ).update(status=SignupStatus.EXPIRED, offer_expires_at=None)
            if not changed:
                continue
            signup = Signup.objects.get(pk=pk)
            _tell(signup, session.task, "signup_expired")
            _release(session, now)
            expired += 1
    return expired


def signup_decide(*, signup: Signup, actor: User, accept: bool) -> Signup:
    """On a host-approved task, the host (or staff) accepts a request while places are
    left, or declines it."""
    task = signup.session.task
    _check_manage(actor, task)
    now = timezone.now()
    with transaction.atomic():
        session = _lock_session(signup.session_id)
        signup = Signup.objects.get(pk=signup.pk)
        if signup.status != SignupStatus.PENDING:
            raise ValidationError(_("承認待ちの申込ではありません。"))
        if accept:
            if session.taken >= session.capacity:
                raise Conflict(_("この回は定員に達しています。"))
            if session.starts_at <= now:
                raise ValidationError(_("始まった回の申込は承認できません。"))
            _lock_person(signup.person_id)
            other = _overlapping(signup.person_id, session)
            if other is not None:
                raise Conflict(
                    _("この方は同じ時間に別のお手伝い（%(title)s）への参加が決まっています。")
                    % {"title": other.session.task.title}
                )
            signup.status = SignupStatus.CONFIRMED
            signup.confirmed_at = now
            Session.objects.filter(pk=session.pk).update(taken=F("taken") + 1)
        else:
            signup.status = SignupStatus.DECLINED
        signup.save(update_fields=["status", "confirmed_at"])
        audit_record(
            actor=actor,
            action="signup.accept" if accept else "signup.decline",
            target=signup,
            municipality=task.municipality,
        )
        _tell(signup, task, "signup_accepted" if accept else "signup_declined")
    return signup


def attendance_mark(*, signup: Signup, actor: User, attendance: str) -> Signup:
    """The host marks a confirmed participant attended or no-show once the session began.

    Attendance is reported to the registry: it counts as the person's activity with the
    town (and as a designated activity when the task is one). Nobody marks their own; the
    attendance of the task's host, or of the town's own staff, goes to another staff
    member's review before it counts as a designated activity."""
    task = signup.session.task
    _check_manage(actor, task)
    if signup.person_id == actor.pk:
        raise PermissionDenied(
            _(
                "自分の出欠はつけられません。このお手伝いのほかの担当者（ヌシか市区町村の職員）に"
                "記録を依頼してください。"
            )
        )
    if attendance not in Attendance.values:
        raise ValidationError({"attendance": _("出欠は「参加した」か「欠席」で指定してください。")})
    now = timezone.now()
    with transaction.atomic():
        signup = (
            Signup.objects.select_for_update(of=("self",))
            .select_related("session")
            .get(pk=signup.pk)
        )
        if signup.status != SignupStatus.CONFIRMED:
            raise ValidationError(_("出欠をつけられるのは参加が確定した人だけです。"))
        if signup.session.starts_at > now:
            raise ValidationError(_("出欠は開催回が始まってからつけてください。"))
        if signup.attendance == Attendance.ATTENDED and attendance != Attendance.ATTENDED:
            raise ValidationError(
                _("参加の記録は活動実績として登録済みのため、欠席に変えられません。")
            )
        if signup.attendance == attendance:
            return signup
        signup.attendance = attendance
        signup.attendance_marked_at = now
        signup.save(update_fields=["attendance", "attendance_marked_at"])
        audit_record(
            actor=actor,
            action="signup.attendance",
            target=signup,
            municipality=task.municipality,
            detail={"attendance": attendance},
        )
        if attendance == Attendance.ATTENDED:
            activity_record(
                person=signup.person,
                municipality=task.municipality,
                title=task.title,
                occurred_on=timezone.localdate(signup.session.starts_at),
                designated=task.designated,
                reference=f"signup:{signup.pk}",
                review=task.designated and _runs_the_task(signup.person, task),
                recorded_by=actor,
            )
    return signup


def _runs_the_task(person: User, task: Task) -> bool:
    """Whether the person hosts the task or is staff of its town: their attendance could be
    of their own making, so it is no designated activity until someone else reviews it."""
    return task.host_id == person.pk or staff_scope(user=person).manages_municipality(
        task.municipality_id
    )


def signup_thank(*, signup: Signup, actor: User, message: str) -> Signup:
    """A participant leaves a thank-you message for the host after taking part."""
    if signup.person_id != actor.pk:
        raise PermissionDenied(_("自分の申込にだけメッセージを残せます。"))
    message = message.strip()
    if not message:
        raise ValidationError({"message": _("メッセージを書いてください。")})
    if len(message) > 1000:
        raise ValidationError({"message": _("メッセージは1000文字以内にしてください。")})
    if signup.status != SignupStatus.CONFIRMED or signup.attendance == Attendance.NO_SHOW:
        raise ValidationError(_("ありがとうメッセージは、参加した回に残せます。"))
    if signup.session.starts_at > timezone.now():
        raise ValidationError(_("ありがとうメッセージは、開催回が始まってから残せます。"))
    with transaction.atomic():
        signup.thanks = message
        signup.thanks_at = timezone.now()
        signup.save(update_fields=["thanks", "thanks_at"])
        task = signup.session.task
        notification_send(
            recipients=[task.host_id or None],
            kind="thanks_received",
            topic=Topic.HOSTING,
            key=f"signup:{signup.pk}:thanks",
            context=_task_context(task, message=message),
            url=_task_url(task),
            author=signup.person_id,
            author_keys=["message"],
        )
    return signup


# --- Periodic ----------------------------------------------------------------------------


def tasks_advance(*, now: datetime.datetime | None = None, max_rows: int = 5000) -> dict:
    """Close published tasks whose every session stopped taking sign-ups, and complete
    tasks whose last session has ended. Idempotent; bounded per run (run by beat)."""
    now = now or timezone.now()
    counts = {"closed": 0, "completed": 0}
    ended = list(
        Task.objects.filter(
            status__in=[TaskStatus.PUBLISHED, TaskStatus.CLOSED], ends_at__lte=now
        ).values_list("pk", flat=True)[:max_rows]
    )
    counts["completed"] = Task.objects.filter(
        pk__in=ended, status__in=[TaskStatus.PUBLISHED, TaskStatus.CLOSED], ends_at__lte=now
    ).update(status=TaskStatus.COMPLETED)
    # Still published, but no session takes sign-ups any more.
    closable = list(
        Task.objects.filter(status=TaskStatus.PUBLISHED, signup_closes_at__lte=now).values_list(
            "pk", flat=True
        )[:max_rows]
    )
    counts["closed"] = Task.objects.filter(
        pk__in=closable, status=TaskStatus.PUBLISHED, signup_closes_at__lte=now
    ).update(status=TaskStatus.CLOSED)
    return counts


# --- A person's rights -------------------------------------------------------------------


def board_data_of(*, user: User) -> dict[str, Any]:
    """What the board keeps about the person, JSON-ready (their export)."""
    signups = (
        Signup.objects.filter(person=user)
        .select_related("session__task__municipality")
        .order_by("created_at", "id")
    )
    return {
        "watching": [
            {"task": title, "since": since.isoformat()}
            for title, since in TaskWatch.objects.filter(person=user).values_list(
                "task__title", "created_at"
            )
        ],
        "recommendations": [
            {"task": title, "score": round(score, 1), "reasons": int(reasons)}
            for title, score, reasons in Match.objects.filter(person=user).values_list(
                "task__title", "score", "reasons"
            )
        ],
        "signups": [
            {
                "task": s.session.task.title,
                "municipality": s.session.task.municipality_id,
                "starts_at": s.session.starts_at.isoformat(),
                "status": s.status,
                "message": s.message,
                "created_at": s.created_at.isoformat(),
                "attendance": s.attendance,
                "thanks": s.thanks,
            }
            for s in signups
        ],
        "host_applications": [
            {
                "municipality": a.municipality_id,
                "organisation": a.organisation,
                "message": a.message,
                "status": a.status,
                "applied_at": a.applied_at.isoformat(),
            }
            for a in HostApplication.objects.filter(person=user).order_by("applied_at", "id")
        ],
        "hosted_tasks": list(
            Task.objects.filter(host=user).order_by("id").values_list("pk", flat=True)
        ),
    }


def board_anonymise(*, user: User) -> None:
    """On account deletion: the person's live sign-ups are cancelled (their places go to the
    waiting lists), their messages blanked, their matches and watches deleted, pending host
    applications withdrawn, and tasks
    they hosted stay with the municipality (whose staff manage them) under its name.

    Runs inside ``account_delete``, which holds the person's row: a session is locked after
    it here, against the usual order; a deadlock with a concurrent promotion of this very
    person is detected by PostgreSQL and rolls the deletion back; the person tries again."""
    now = timezone.now()
    # Sessions that have begun keep their record (attendance counts for the statistics).
    live = Signup.objects.filter(person=user, status__in=LIVE_STATUSES, starts_at__gt=now).order_by(
        "session_id"
    )
    for signup_id, session_id in live.values_list("pk", "session_id"):
        session = _lock_session(session_id)
        signup = Signup.objects.get(pk=signup_id)
        held = signup.status in HOLDING_STATUSES
        signup.status = SignupStatus.CANCELLED
        signup.cancelled_at = now
        signup.offer_expires_at = None
        signup.save(update_fields=["status", "cancelled_at", "offer_expires_at"])
        if held:
            _release(session, now)
    Signup.objects.filter(person=user).update(message="", thanks="")
    Match.objects.filter(person=user).delete()
    TaskWatch.objects.filter(person=user).delete()
    HostApplication.objects.filter(person=user, status=HostApplicationStatus.PENDING).update(
        status=HostApplicationStatus.WITHDRAWN, decided_at=now
    )
    HostApplication.objects.filter(person=user).update(message="", organisation="")
    name = user.public_name
    for task in Task.objects.filter(host=user).select_related("municipality"):
        task.host = None
        if task.host_name == name:
            task.host_name = task.municipality.name
        task.save(update_fields=["host", "host_name"])


# --- The matcher, reminders and the people watching --------------------------------------


def _match_request(task: Task, *, wave: int | None = None) -> None:
    """Ask the matcher to rank the task's people again, in the current transaction. The
    request is a column: if no worker takes the queued job (broker down), beat's sweep
    finds it."""
    fields: dict[str, Any] = {"match_requested_at": timezone.now()}
    if wave is not None:
        fields["match_wave"] = wave
    Task.objects.filter(pk=task.pk).update(**fields)
    enqueue("matching.task_match", task.pk)


def task_match(*, task_id: int) -> dict[str, int]:
    """Do a task's matcher request: rank and store its matches, then tell the best people
    not yet told, within the wave's budget. Idempotent (one notification per person and
    task, whatever the reruns); returns what it did."""
    from .matcher import task_rank

    task = Task.objects.select_related("municipality", "prefecture").filter(pk=task_id).first()
    if task is None or task.match_requested_at is None:
        return {"matches": 0, "told": 0}
    requested = task.match_requested_at
    matches = told = 0
    if task.status == TaskStatus.PUBLISHED:
        matches = task_rank(task, wave=task.match_wave)
        told = _matches_tell(task)
    else:
        Match.objects.filter(task=task, notified_at__isnull=True).delete()
    # Done, unless the task changed again meanwhile (then the newer request stays).
    Task.objects.filter(pk=task.pk, match_requested_at=requested).update(match_requested_at=None)
    return {"matches": matches, "told": told}


def _open_places(task: Task, now: datetime.datetime) -> int:
    sessions = Session.objects.filter(
        task=task,
        status=SessionStatus.SCHEDULED,
        starts_at__gt=now + datetime.timedelta(hours=task.signup_close_hours),
    ).aggregate(capacity=Sum("capacity"), taken=Sum("taken"))
    return (sessions["capacity"] or 0) - (sessions["taken"] or 0)


def _matches_tell(task: Task) -> int:
    """Tell the best-matched people not yet told, best first: per open place
    ``MATCHING_NOTIFY_PER_PLACE`` people (twice that in the wide net), at most
    ``MATCHING_NOTIFY_MAX``; people over their weekly cap or who turned these off are
    passed over."""
    from .matcher import reason_codes

    now = timezone.now()
    places = _open_places(task, now)
    if places <= 0:
        return 0
    limit = min(
        settings.MATCHING_NOTIFY_MAX * task.match_wave,
        settings.MATCHING_NOTIFY_PER_PLACE * places * task.match_wave,
    )
    budget = limit - Match.objects.filter(task=task, notified_at__isnull=False).count()
    tried: set[int] = set()
    told_count = 0
    for _round in range(5):
        if budget <= 0:
            break
        chunk = list(
            Match.objects.filter(task=task, notified_at__isnull=True)
            .exclude(person_id__in=tried)
            .order_by("-score", "person_id")[:budget]
        )
        if not chunk:
            break
        tried.update(match.person_id for match in chunk)
        profiles = Profile.objects.in_bulk([match.person_id for match in chunk])
        with transaction.atomic():
            told = notification_send(
                recipients=[match.person_id for match in chunk],
                kind="task_matched",
                topic=Topic.MATCHES,
                key=f"task:{task.pk}:matched",
                context=_task_context(
                    task,
                    category=task.category,
                    starts_at=task.starts_at.isoformat() if task.starts_at else None,
                ),
                personal={
                    match.person_id: {
                        "reasons": reason_codes(match, task, profiles.get(match.person_id))
                    }
                    for match in chunk
                },
                url=_task_url(task),
                weekly_cap=settings.NOTIFICATIONS_MATCH_WEEKLY_CAP,
            )
            Match.objects.filter(task=task, person_id__in=told).update(notified_at=now)
        told_count += len(told)
        budget -= len(told)
    return told_count


def matches_sweep(*, now: datetime.datetime | None = None, max_rows: int = 500) -> int:
    """Matcher requests no worker has taken (a broker that was down): queue them again."""
    return _requeue(Task.objects, "match_requested_at", "pk", "matching.task_match", now, max_rows)


def _requeue(rows, requested_at: str, id_field: str, task: str, now, max_rows: int) -> int:
    """Queue the task named ``task`` again for the rows whose request (``requested_at``) no
    worker took within half a sweep, oldest first: what a broker that was down dropped."""
    since = (now or timezone.now()) - datetime.timedelta(seconds=settings.SWEEP_SECONDS / 2)
    due = list(
        rows.filter(**{f"{requested_at}__lte": since})
        .order_by(requested_at)
        .values_list(id_field, flat=True)[:max_rows]
    )
    for value in due:
        send_now(task, value)
    return len(due)


def person_refresh_request(*, person_id: int) -> None:
    """Ask for a person's recommendations to be scored again, in the current transaction:
    a request row (the newest time wins) and the job queued after the commit; if no worker
    takes the job (broker down), ``person_refresh_sweep`` finds the row."""
    RecommendationRequest.objects.update_or_create(
        person_id=person_id, defaults={"requested_at": timezone.now()}
    )
    enqueue("matching.person_refresh", person_id)


def person_recommendations_refresh(*, person_id: int) -> int:
    """Score the live tasks around a person again (their profile or registrations
    changed), and mark their request done unless a newer one came meanwhile."""
    from .matcher import person_rank

    requested = (
        RecommendationRequest.objects.filter(person_id=person_id)
        .values_list("requested_at", flat=True)
        .first()
    )
    person = User.objects.filter(pk=person_id, is_active=True).first()
    ranked = person_rank(person) if person is not None else 0
    if requested is not None:
        RecommendationRequest.objects.filter(person_id=person_id, requested_at=requested).delete()
    return ranked


def person_refresh_sweep(*, now: datetime.datetime | None = None, max_rows: int = 500) -> int:
    """Recommendation refreshes no worker has done (a broker that was down): queue them
    again, oldest first."""
    return _requeue(
        RecommendationRequest.objects,
        "requested_at",
        "person_id",
        "matching.person_refresh",
        now,
        max_rows,
    )


def reminders_send(*, now: datetime.datetime | None = None, max_rows: int = 5000) -> int:
    """Remind confirmed participants ``MATCHING_REMINDER_HOURS`` before their session. Due
    by the sign-up's own time in the database (beat picks them up every 15 minutes);
    once per sign-up and time (a moved session is reminded again)."""
    now = now or timezone.now()
    horizon = now + datetime.timedelta(hours=settings.MATCHING_REMINDER_HOURS)
    due = list(
        Signup.objects.filter(
            status=SignupStatus.CONFIRMED,
            reminded_at__isnull=True,
            starts_at__gt=now,
            starts_at__lte=horizon,
        )
        .select_related("session__task__municipality")
        .order_by("starts_at", "id")[:max_rows]
    )
    for start in range(0, len(due), 200):
        batch = due[start : start + 200]
        with transaction.atomic():
            for signup in batch:
                task = signup.session.task
                notification_send(
                    recipients=[signup.person_id],
                    kind="session_reminder",
                    topic=Topic.REMINDERS,
                    key=f"signup:{signup.pk}:reminder:{signup.starts_at.isoformat()}",
                    context=_task_context(
                        task,
                        address=task.address,
                        is_online=task.is_online,
                        what_to_bring=task.what_to_bring,
                        weather_policy=task.weather_policy,
                        **_session_context(signup.session),
                    ),
                    url=_task_url(task),
                )
            Signup.objects.filter(
                pk__in=[signup.pk for signup in batch], reminded_at__isnull=True
            ).update(reminded_at=now)
    return len(due)


def sessions_understaffed(*, now: datetime.datetime | None = None, max_rows: int = 500) -> int:
    """Sessions a few days away with places left: their host and the town's staff are
    told (once per session) and the matcher casts its wide net for the task."""
    now = now or timezone.now()
    horizon = now + datetime.timedelta(days=settings.MATCHING_UNDERSTAFFED_DAYS)
    sessions = list(
        Session.objects.filter(
            status=SessionStatus.SCHEDULED,
            understaffed_alerted_at__isnull=True,
            starts_at__gt=now,
            starts_at__lte=horizon,
            task__status=TaskStatus.PUBLISHED,
            taken__lt=F("capacity"),
        )
        .select_related("task__municipality")
        .order_by("starts_at", "id")[:max_rows]
    )
    alerted = 0
    for session in sessions:
        task = session.task
        with transaction.atomic():
            if not Session.objects.filter(
                pk=session.pk, understaffed_alerted_at__isnull=True
            ).update(understaffed_alerted_at=now):
                continue
            notification_send(
                recipients=[task.host_id, *_staff_of(task.municipality_id)],
                kind="session_understaffed",
                topic=Topic.HOSTING,
                key=f"session:{session.pk}:understaffed",
                context=_task_context(
                    task,
                    capacity=session.capacity,
                    taken=session.taken,
                    places_left=session.capacity - session.taken,
                    **_session_context(session),
                ),
                url=reverse("matching:participants", args=[task.pk]),
            )
            _match_request(task, wave=2)
        alerted += 1
    return alerted


def _tell_watchers(session: Session, now: datetime.datetime) -> int:
    """A place is free and nobody waits for it: tell the people watching the task (once a
    day per session). Call with the session locked."""
    task = session.task
    if (
        session.taken >= session.capacity
        or session.status != SessionStatus.SCHEDULED
        or task.status != TaskStatus.PUBLISHED
        or now >= session.signup_closes_at()
        or Signup.objects.filter(session=session, status=SignupStatus.WAITLISTED).exists()
    ):
        return 0
    watchers = (
        TaskWatch.objects.filter(task=task)
        .exclude(
            person__in=Signup.objects.filter(session=session, status__in=LIVE_STATUSES).values(
                "person_id"
            )
        )
        .values_list("person_id", flat=True)
    )
    return len(
        notification_send(
            recipients=watchers,
            kind="place_opened",
            topic=Topic.PLACES,
            key=f"session:{session.pk}:opened:{timezone.localdate(now).isoformat()}",
            context=_task_context(
                task, places_left=session.capacity - session.taken, **_session_context(session)
            ),
            url=_task_url(task),
        )
    )


def task_watch(*, task: Task, person: User) -> TaskWatch:
    """Watch a public task, to hear when a place opens. Watching twice is watching once."""
    if task.status != TaskStatus.PUBLISHED:
        raise ValidationError(_("募集中のお手伝いだけを見守れます。"))
    watch, _created = TaskWatch.objects.get_or_create(task=task, person=person)
    return watch


def task_unwatch(*, task: Task, person: User) -> None:
    TaskWatch.objects.filter(task=task, person=person).delete()
