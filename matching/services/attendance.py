"""Attendance: the host marks who came, and the registry counts it as activity."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.selectors import staff_scope
from accounts.services import audit_record
from core.errors import Code, Conflict, Denied
from registry.services import activity_record

from ..errors import MatchingCode
from ..locks import lock_signup
from ..models import (
    Attendance,
    Signup,
    SignupStatus,
    Task,
)
from ._common import _check_manage


def attendance_mark(*, signup: Signup, actor: User, attendance: str) -> Signup:
    """The host marks a confirmed participant attended or no-show once the session began.

    Attendance is reported to the registry: it counts as the person's activity with the
    town (and as a designated activity when the task is one). Nobody marks their own; the
    attendance of the task's host, or of the town's own staff, goes to another staff
    member's review before it counts as a designated activity."""
    task = signup.session.task
    _check_manage(actor, task)
    if signup.person_id == actor.pk:
        raise Denied(
            _(
                "自分の出欠はつけられません。このお手伝いのほかの担当者（ヌシか市区町村の職員）に"
                "記録を依頼してください。"
            ),
            code=Code.OWN_ITEM,
        )
    if attendance not in Attendance.values:
        raise ValidationError(
            {
                "attendance": ValidationError(
                    _("出欠は「参加した」か「欠席」で指定してください。"),
                    code=MatchingCode.ATTENDANCE_INVALID,
                )
            }
        )
    now = timezone.now()
    with transaction.atomic():
        signup = lock_signup(signup.pk)
        if signup.status != SignupStatus.CONFIRMED:
            raise Conflict(
                _("出欠をつけられるのは参加が確定した人だけです。"),
                code=MatchingCode.SIGNUP_NOT_CONFIRMED,
            )
        if signup.session.starts_at > now:
            raise ValidationError(
                _("出欠は開催回が始まってからつけてください。"),
                code=MatchingCode.SESSION_NOT_STARTED,
            )
        if signup.attendance == Attendance.ATTENDED and attendance != Attendance.ATTENDED:
            raise Conflict(
                _("参加の記録は活動実績として登録済みのため、欠席に変えられません。"),
                code=MatchingCode.ATTENDANCE_RECORDED,
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
