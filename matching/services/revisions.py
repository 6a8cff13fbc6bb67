"""Revisions: a host's change to a published task, held for the town's staff."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import audit_record
from core.errors import Code, Conflict, Denied
from notifications.models import Topic
from notifications.services import notification_send

from ..errors import MatchingCode
from ..locks import lock_pending_revision_of, lock_revision, lock_task
from ..models import (
    RevisionStatus,
    Session,
    SessionStatus,
    Task,
    TaskRevision,
)
from ..selectors import check_manage
from ._common import _session_errors, _staff_of, _task_context
from .tasks import TASK_FIELDS, _task_fields_check, changes_held


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
    check_manage(actor, task)
    if not changes_held(actor=actor, task=task):
        raise ValidationError(
            _("このお手伝いの変更は確認を待たずに保存できます。"), code=MatchingCode.CHANGE_NOT_HELD
        )
    now = timezone.now()
    with transaction.atomic():
        # One revision of a task at a time: its row is the lock (the task before sessions).
        live = lock_task(task.pk, related=("municipality",))
        previous = lock_pending_revision_of(live)
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
            raise ValidationError(
                _("公開中の内容から変わった項目がありません。"), code=MatchingCode.NO_CHANGES
            )
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
        raise Denied(
            _("自分が出した変更だけを取り下げられます。"), code=MatchingCode.NOT_OWN_REVISION
        )
    with transaction.atomic():
        revision = lock_revision(revision.pk)
        if revision.status != RevisionStatus.PENDING:
            raise Conflict(_("この変更はもう確認待ちではありません。"), code=Code.ALREADY_DECIDED)
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
