"""The board's two review queues: host applications (the host role granted) and a host's
revision of a published task (applied as a staff edit would be). Both are decided through
the one review queue (``accounts.review``); this module says only what is theirs."""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.models import Role, User
from accounts.review import Queue, Words, review_decide
from accounts.selectors import staff_scope
from accounts.services import audit_record, membership_grant
from notifications.models import Topic
from notifications.services import notification_send
from places.models import Municipality
from places.names import place_ref

from .. import locks
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

NOT_STAFF = _("この市区町村の職員だけができる操作です。")


def _host_apply(application: HostApplication, actor: User, approve: bool) -> None:
    """Approval makes the person a host of the town (unless they are one already); either
    way they are told, with the staff's note."""
    if approve and not staff_scope(user=application.person).hosts_for(application.municipality_id):
        membership_grant(
            user=application.person,
            role=Role.HOST,
            municipality=application.municipality,
            granted_by=actor,
        )
    notification_send(
        recipients=[application.person_id],
        kind="host_approved" if approve else "host_refused",
        topic=Topic.HOSTING,
        key=f"host_application:{application.pk}:decided",
        context={
            "municipality": place_ref(application.municipality),
            "note": application.decision_note,
        },
        url=reverse("matching:host_home"),
        author=actor,
        author_keys=["note"],
    )


HOST_APPLICATIONS = Queue(
    name="application",
    audit=("host.approve", "host.refuse"),
    pending=HostApplicationStatus.PENDING,
    approved=HostApplicationStatus.APPROVED,
    refused=HostApplicationStatus.REFUSED,
    municipality=lambda application: application.municipality,
    own=lambda application, actor: (
        _("自分の申請は審査できません。") if application.person_id == actor.pk else None
    ),
    lock=lambda application: locks.lock_host_application(application.pk),
    apply=_host_apply,
    note_required=False,
    words=Words(
        decision=_("審査"),
        approve=_("承認する"),
        refuse=_("承認しない"),
        note=_("申請した人へのコメント（任意）"),
        not_staff=NOT_STAFF,
        note_required="",
        already_decided=_("この申請はすでに審査されています。"),
    ),
)


def host_application_decide(
    *, application: HostApplication, actor: User, approve: bool, note: str = ""
) -> HostApplication:
    """The municipality's staff approve (granting the host role) or refuse an application."""
    return review_decide(
        HOST_APPLICATIONS, item=application, actor=actor, approve=approve, note=note
    )


def host_queue_read(*, viewer: User, municipality: Municipality):
    """The town's pending host applications (names and what they wrote) for its own staff;
    every read is written to the audit log, like every staff read of personal data."""
    _check_staff(viewer, municipality)
    with transaction.atomic():
        audit_record(
            actor=viewer, action="host.queue.read", target=municipality, municipality=municipality
        )
    return host_applications_pending(municipality_code=municipality.code)


def _revision_lock(revision: TaskRevision) -> TaskRevision:
    """The task, then its revision (``matching.locks``)."""
    locks.lock_task(revision.task_id)
    return locks.lock_revision(revision.pk)


def _revision_apply(revision: TaskRevision, actor: User, approve: bool) -> None:
    """Approval applies the change as a staff edit would (participants told as usual);
    either way the host is told, with the staff's note."""
    task = Task.objects.select_related("municipality").get(pk=revision.task_id)  # locked
    if approve:
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
                session_update(session=session, actor=actor, capacity=entry["capacity"], **times)
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


TASK_REVISIONS = Queue(
    name="revision",
    audit=("task.revision.approve", "task.revision.reject"),
    pending=RevisionStatus.PENDING,
    approved=RevisionStatus.APPROVED,
    refused=RevisionStatus.REJECTED,
    municipality=lambda revision: revision.task.municipality,
    own=lambda revision, actor: (
        _("自分が出した変更は承認も却下もできません。ほかの職員に依頼してください。")
        if actor.pk in (revision.author_id, revision.task.host_id)
        else None
    ),
    lock=_revision_lock,
    apply=_revision_apply,
    audit_detail=lambda revision: {"task": revision.task_id},
    words=Words(
        decision=_("確認"),
        approve=_("承認して反映する"),
        refuse=_("却下する"),
        note=_("却下の理由（ヌシに伝わります）"),
        not_staff=NOT_STAFF,
        note_required=_("却下の理由を書いてください。ヌシに伝わります。"),
        already_decided=_("この変更はもう確認待ちではありません。"),
    ),
)


def task_revision_decide(
    *, revision: TaskRevision, actor: User, approve: bool, note: str = ""
) -> TaskRevision:
    """A staff member of the town approves a host's change or rejects it (the host is told
    why). Nobody decides on their own change."""
    return review_decide(TASK_REVISIONS, item=revision, actor=actor, approve=approve, note=note)
