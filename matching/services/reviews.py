"""The staff's decisions: on a host application and on a host's revision of a task.

Kept together, as they are, until a review queue shared by the rooms replaces them.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role, User
from accounts.selectors import staff_scope
from accounts.services import audit_record, membership_grant
from core.errors import Code, Conflict, Denied
from notifications.models import Topic
from notifications.services import notification_send
from places.models import Municipality

from ..models import (
    HostApplication,
    HostApplicationStatus,
    RevisionStatus,
    Session,
    Task,
    TaskRevision,
)
from ..selectors import host_applications_pending
from ._common import _check_staff, _task_context
from .revisions import revision_session_changes, revision_values
from .sessions import session_add, session_update
from .tasks import _task_update


def host_application_decide(
    *, application: HostApplication, actor: User, approve: bool, note: str = ""
) -> HostApplication:
    """The municipality's staff approve (granting the host role) or refuse an application."""
    _check_staff(actor, application.municipality)
    if application.person_id == actor.pk:
        raise Denied(_("自分の申請は審査できません。"), code=Code.OWN_ITEM)
    with transaction.atomic():
        application = HostApplication.objects.select_for_update().get(pk=application.pk)
        if application.status != HostApplicationStatus.PENDING:
            raise Conflict(_("この申請はすでに審査されています。"), code=Code.ALREADY_DECIDED)
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


def task_revision_decide(
    *, revision: TaskRevision, actor: User, approve: bool, note: str = ""
) -> TaskRevision:
    """A staff member of the town approves a host's change (it is applied as a staff edit
    would be, participants told as usual) or rejects it (the host is told why). Nobody
    decides on their own change."""
    task = revision.task
    _check_staff(actor, task.municipality)
    if actor.pk in (revision.author_id, task.host_id):
        raise Denied(
            _("自分が出した変更は承認も却下もできません。ほかの職員に依頼してください。"),
            code=Code.OWN_ITEM,
        )
    note = note.strip()
    if not approve and not note:
        raise ValidationError(
            {
                "note": ValidationError(
                    _("却下の理由を書いてください。ヌシに伝わります。"), code=Code.NOTE_REQUIRED
                )
            }
        )
    now = timezone.now()
    with transaction.atomic():
        Task.objects.select_for_update().filter(pk=task.pk).exists()
        revision = TaskRevision.objects.select_for_update().get(pk=revision.pk)
        if revision.status != RevisionStatus.PENDING:
            raise Conflict(_("この変更はもう確認待ちではありません。"), code=Code.ALREADY_DECIDED)
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
