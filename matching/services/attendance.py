"""Attendance: the host marks who came, and the registry counts it as activity.

The mark can be corrected, among attended, excused absence and no-show and back to unmarked,
from the session's start until ``MATCHING_ATTENDANCE_CORRECTION_DAYS`` days after it ended;
the registry's activity follows each change (recorded on "attended", withdrawn when the mark
moves away from it, restored when it comes back)."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.selectors import staff_scope
from accounts.services import audit_record
from core.errors import Code, Conflict, Denied
from core.templatetags.core_tags import jdatetime
from registry.services import activity_record, activity_withdraw

from ..errors import MatchingCode
from ..locks import lock_session, lock_signup, lock_unmarked_signups_of
from ..models import (
    Attendance,
    Session,
    SessionStatus,
    Signup,
    SignupStatus,
    Task,
)
from ..selectors import check_manage

# The value that takes a mark back: the attendance is not recorded (未記録).
UNMARKED = ""


def attendance_deadline(session: Session) -> datetime.datetime:
    """The last moment the session's attendance may be marked or corrected."""
    return session.ends_at + datetime.timedelta(days=settings.MATCHING_ATTENDANCE_CORRECTION_DAYS)


def attendance_open(session: Session, now: datetime.datetime | None = None) -> bool:
    """Whether the session's attendance may be marked or corrected now."""
    now = now or timezone.now()
    return session.starts_at <= now <= attendance_deadline(session)


def attendance_mark(*, signup: Signup, actor: User, attendance: str) -> Signup:
    """The host (or the town's staff) marks a confirmed participant attended, absent with
    notice (excused), absent without notice (no-show), or takes the mark back
    (``UNMARKED``), from the session's start until the correction deadline
    (``attendance_deadline``). Each change is audited with what it was and what it became.

    The registry follows: "attended" counts as the person's activity with the town (and as a
    designated activity when the task is one); a mark moved away from "attended" withdraws
    that activity, and marking "attended" again restores it. Nobody marks their own; the
    attendance of the task's host, or of the town's own staff, goes to another staff
    member's review before it counts as a designated activity."""
    task = signup.session.task
    check_manage(actor, task)
    _check_not_own(signup, actor)
    if attendance != UNMARKED and attendance not in Attendance.values:
        raise ValidationError(
            {
                "attendance": ValidationError(
                    _(
                        "出欠は「参加した」「欠席（連絡あり）」「欠席（連絡なし）」のどれかで"
                        "指定してください（空にすると未記録に戻ります）。"
                    ),
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
        if signup.attendance == attendance:
            return signup  # a retry, or a press of the mark it has: nothing changes
        _check_window(signup.session, now)
        _change(signup, actor=actor, task=task, attendance=attendance, now=now)
    return signup


def attendance_mark_all(
    *, session: Session, actor: User, attendance: str = Attendance.ATTENDED
) -> list[Signup]:
    """ "Everyone present": mark every confirmed participant of the session whose attendance
    is not recorded yet, in one transaction, each change audited and reported to the
    registry as ``attendance_mark`` does. Marks already made are kept; the actor's own
    sign-up is left for someone else to mark. Returns the sign-ups it marked.

    Locks: the session, then its unmarked confirmed sign-ups in id order."""
    task = session.task
    check_manage(actor, task)
    if attendance not in Attendance.values:
        raise ValidationError(
            {
                "attendance": ValidationError(
                    _(
                        "まとめてつける出欠は「参加した」「欠席（連絡あり）」「欠席（連絡なし）」の"
                        "どれかで指定してください。"
                    ),
                    code=MatchingCode.ATTENDANCE_INVALID,
                )
            }
        )
    now = timezone.now()
    with transaction.atomic():
        session = lock_session(session.pk)
        if session.status == SessionStatus.CANCELLED:
            raise Conflict(
                _("中止した開催回には出欠をつけられません。"),
                code=MatchingCode.SESSION_CANCELLED,
            )
        _check_window(session, now)
        marked = lock_unmarked_signups_of(session, exclude_person=actor.pk)
        for signup in marked:
            _change(signup, actor=actor, task=task, attendance=attendance, now=now)
    return marked


def _check_not_own(signup: Signup, actor: User) -> None:
    if signup.person_id == actor.pk:
        raise Denied(
            _(
                "自分の出欠はつけられません。このお手伝いのほかの担当者（ヌシか市区町村の職員）に"
                "記録を依頼してください。"
            ),
            code=Code.OWN_ITEM,
        )


def _check_window(session: Session, now: datetime.datetime) -> None:
    if session.starts_at > now:
        raise ValidationError(
            _("出欠は開催回が始まってからつけてください。"),
            code=MatchingCode.SESSION_NOT_STARTED,
        )
    deadline = attendance_deadline(session)
    if now > deadline:
        raise Conflict(
            _(
                "この回の出欠を直せるのは %(deadline)s までで、期限を過ぎています。"
                "出欠はもう変えられません。"
            )
            % {"deadline": jdatetime(deadline)},
            code=MatchingCode.ATTENDANCE_CLOSED,
        )


def _change(signup: Signup, *, actor: User, task: Task, attendance: str, now) -> None:
    """Write the new mark (the sign-up locked), its audit row and the registry's record."""
    previous = signup.attendance
    signup.attendance = attendance
    signup.attendance_marked_at = now if attendance != UNMARKED else None
    signup.save(update_fields=["attendance", "attendance_marked_at"])
    audit_record(
        actor=actor,
        action="signup.attendance",
        target=signup,
        municipality=task.municipality,
        detail={"from": previous, "to": attendance, "attendance": attendance},
    )
    reference = f"signup:{signup.pk}"
    if attendance == Attendance.ATTENDED:
        activity_record(
            person=signup.person,
            municipality=task.municipality,
            title=task.title,
            occurred_on=timezone.localdate(signup.session.starts_at),
            designated=task.designated,
            reference=reference,
            review=task.designated and _runs_the_task(signup.person, task),
            recorded_by=actor,
        )
    elif previous == Attendance.ATTENDED:
        activity_withdraw(reference=reference, actor=actor)


def _runs_the_task(person: User, task: Task) -> bool:
    """Whether the person hosts the task or is staff of its town: their attendance could be
    of their own making, so it is no designated activity until someone else reviews it."""
    return task.host_id == person.pk or staff_scope(user=person).manages_municipality(
        task.municipality_id
    )
