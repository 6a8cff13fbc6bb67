"""Sign-ups: taking a place (or a place on the waiting list), cancelling, confirming an
offered place, the host's decision on a request, a thank-you after taking part.

Places are claimed under the session row's lock; the person's row is locked after it, to
keep a person's confirmed sessions from overlapping (``matching.locks``). Notifications
are written to the inbox inside the same transaction as the change that causes them.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import audit_record
from core.errors import Conflict, Denied
from notifications.models import Topic
from notifications.services import Send, notification_send_many
from registry.services import profile_of

from ..errors import MatchingCode
from ..locks import lock_people, lock_person, lock_session, lock_session_and_person
from ..models import (
    HOLDING_STATUSES,
    LIVE_STATUSES,
    Attendance,
    Session,
    SessionStatus,
    Signup,
    SignupMode,
    SignupStatus,
    Task,
    TaskStatus,
)
from ..selectors import check_manage
from ._common import _session_context, _task_context
from ._writes import signup_write
from .hosting import (
    _overlapping,
    host_hears,
    host_hears_thanks,
    host_notice,
    runners_of,
    runners_read,
    session_counts_read,
)
from .roster import signup_details_clean, signup_details_row
from .watching import _tell_watchers


def _overlap_error(other: Signup) -> ValidationError:
    return Conflict(
        {
            "session": ValidationError(
                _("同じ時間に「%(title)s」への参加が決まっています。重なる回には申し込めません。")
                % {"title": other.session.task.title},
                code=MatchingCode.OVERLAPPING_SESSION,
            )
        }
    )


def signup_create(
    *,
    session: Session,
    person: User,
    message: str = "",
    details: dict | None = None,
    confirm_overlap: bool = False,
) -> Signup:
    """Sign ``person`` up for ``session``: a place if one is left (first come), else the
    waiting list; on a host-approved task, a request the host accepts or declines.

    ``details``: what the person agreed to give the host for the roster (name, furigana,
    and what the task asks), stored with the sign-up (``services.roster``).

    A place on the waiting list (or a request) for a session that overlaps one the person
    holds would be passed over: refused (409 ``overlap_not_confirmed``) unless
    ``confirm_overlap`` says they know."""
    now = timezone.now()
    message = message.strip()
    if len(message) > 1000:
        raise ValidationError(
            {
                "message": ValidationError(
                    _("メッセージは1000文字以内にしてください。"),
                    code=MatchingCode.MESSAGE_TOO_LONG,
                )
            }
        )
    with transaction.atomic():
        # The session's row and the person's (to keep their sessions from overlapping),
        # with the task, its town and who runs it, in one statement.
        session = lock_session_and_person(
            session.pk, person.pk, read={**runners_read(), **session_counts_read()}
        )
        task = session.task
        if task.status != TaskStatus.PUBLISHED:
            raise Conflict(
                _("このお手伝いはいま申し込めません（%(status)s）。")
                % {"status": task.get_status_display()},
                code=MatchingCode.TASK_NOT_PUBLISHED,
            )
        if session.status != SessionStatus.SCHEDULED:
            raise Conflict(_("この開催回は中止になりました。"), code=MatchingCode.SESSION_CANCELLED)
        if now >= session.signup_closes_at():
            raise Conflict(_("この回の申し込みは締め切りました。"), code=MatchingCode.SIGNUP_CLOSED)
        if task.minimum_age:
            birth_year = profile_of(person).birth_year
            if birth_year is None:
                raise ValidationError(
                    _("年齢の条件があるお手伝いです。プロフィールに生まれた年を設定してください。"),
                    code=MatchingCode.BIRTH_YEAR_REQUIRED,
                )
            if timezone.localdate().year - birth_year < task.minimum_age:
                raise ValidationError(
                    _("このお手伝いは%(age)d歳以上の方が対象です。") % {"age": task.minimum_age},
                    code=MatchingCode.BELOW_MINIMUM_AGE,
                )
        if details is not None:
            details = signup_details_clean(task=task, details=details)
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
            signup.status = SignupStatus.CONFIRMED
            signup.confirmed_at = now
        else:
            signup.status = SignupStatus.WAITLISTED
        confirmed = signup.status == SignupStatus.CONFIRMED
        # A live sign-up for this session, or a held one overlapping it (a waiting place or
        # a request goes on over one when the person has confirmed they know), stops the
        # write: both are read by the write itself, under the session's and person's locks.
        row = signup_details_row(signup=signup, details=details) if details is not None else None
        try:
            written = signup_write(
                signup=signup, details=row, overlap=confirmed or not confirm_overlap
            )
        except IntegrityError as exc:  # cannot happen under the locks; the database agrees
            raise _already_signed_up() from exc
        if not written:
            raise _refusal(person.pk, session, confirmed=confirmed)
        # The session as it is now, for the caller's answer (the API's counts of it).
        if confirmed:
            session.taken += 1
        elif signup.status == SignupStatus.WAITLISTED and hasattr(session, "waiting"):
            session.waiting += 1
        # The person's notice and the host's, in one statement.
        notification_send_many(
            [
                _notice(signup, task, f"signup_{signup.status}"),
                host_notice(
                    signup,
                    task,
                    "requested" if signup.status == SignupStatus.PENDING else "signed_up",
                    runners=runners_of(session),
                    person_name=(row.full_name if row is not None else "")
                    or person.public_name
                    or "",
                ),
            ]
        )
    return signup


def _already_signed_up() -> Conflict:
    return Conflict(
        {
            "session": ValidationError(
                _("この回にはすでに申し込んでいます。"), code=MatchingCode.ALREADY_SIGNED_UP
            )
        }
    )


def _refusal(person_id: int, session: Session, *, confirmed: bool) -> Conflict:
    """Why the write of a sign-up was stopped (``signup_write``): already signed up, or an
    overlap (refused for a place, to be confirmed for a waiting place or a request)."""
    if Signup.objects.filter(
        session_id=session.pk, person_id=person_id, status__in=LIVE_STATUSES
    ).exists():
        return _already_signed_up()
    other = _overlapping(person_id, session)
    if other is None:  # gone meanwhile: cannot happen under the person's lock
        return _already_signed_up()
    if confirmed:
        return _overlap_error(other)
    return Conflict(
        _(
            "同じ時間に「%(title)s」への参加が決まっています。この回のキャンセル待ち（承認待ち）に"
            "入っても、重なる回に参加が決まっている間は繰り上がりません。"
            "それでもよければ、確認して申し込んでください。"
        )
        % {"title": other.session.task.title},
        code=MatchingCode.OVERLAP_NOT_CONFIRMED,
    )


def _tell(signup: Signup, task: Task, kind: str) -> None:
    notification_send_many([_notice(signup, task, kind)])


def _notice(signup: Signup, task: Task, kind: str) -> Send:
    """The person's notice of what happened to their sign-up (``kind``)."""
    return Send(
        recipients=[signup.person_id],
        kind=kind,
        topic=Topic.PROMOTIONS if kind == "signup_promoted" else Topic.SIGNUPS,
        key=f"signup:{signup.pk}:{kind}:{signup.status}",
        context=_task_context(
            task,
            status=signup.status,
            signup_id=signup.pk,  # the briefing is read from it when the e-mail is sent
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
        # All of the batch's people at once, in id order (``lock_people``).
        lock_people(s.person_id for s in batch)
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
            host_hears(signup, task, "promoted")
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


def signup_cancel(*, signup: Signup, actor: User, reason: str = "") -> Signup:
    """The person cancels, until the task's cancellation deadline, saying why if they wish
    (shown to the host). A place given back goes to the waiting list in the same
    transaction."""
    if signup.person_id != actor.pk:
        raise Denied(_("自分の申込だけをキャンセルできます。"), code=MatchingCode.NOT_OWN_SIGNUP)
    reason = reason.strip()
    if len(reason) > 1000:
        raise ValidationError(
            {
                "reason": ValidationError(
                    _("キャンセルの理由は1000文字以内にしてください。"),
                    code=MatchingCode.CANCEL_REASON_TOO_LONG,
                )
            }
        )
    now = timezone.now()
    with transaction.atomic():
        session = lock_session(signup.session_id)
        signup = Signup.objects.get(pk=signup.pk)
        if signup.status not in LIVE_STATUSES:
            raise Conflict(
                _("この申込はすでに終わっています（%(status)s）。")
                % {"status": signup.get_status_display()},
                code=MatchingCode.SIGNUP_OVER,
            )
        held = signup.status in HOLDING_STATUSES
        if session.starts_at <= now:
            raise ValidationError(
                _("始まった回はキャンセルできません。ヌシに直接連絡してください。"),
                code=MatchingCode.SESSION_STARTED,
            )
        if held and now >= session.cancel_closes_at():
            raise Conflict(
                _(
                    "キャンセルの締め切り（%(deadline)s）を過ぎています。"
                    "参加できない場合は、ヌシに直接連絡してください。"
                )
                % {
                    "deadline": timezone.localtime(session.cancel_closes_at()).strftime(
                        "%Y-%m-%d %H:%M"
                    )
                },
                code=MatchingCode.CANCEL_CLOSED,
            )
        signup.status = SignupStatus.CANCELLED
        signup.cancelled_at = now
        signup.offer_expires_at = None
        signup.cancel_reason = reason
        signup.session = session
        signup.save(update_fields=["status", "cancelled_at", "offer_expires_at", "cancel_reason"])
        host_hears(signup, session.task, "cancelled")
        if held:
            _release(session, now)
    return signup


def signup_confirm(*, signup: Signup, actor: User) -> Signup:
    """The person promoted from the waiting list takes the offered place."""
    if signup.person_id != actor.pk:
        raise Denied(_("自分の申込だけを確定できます。"), code=MatchingCode.NOT_OWN_SIGNUP)
    now = timezone.now()
    with transaction.atomic():
        lock_session(signup.session_id)
        signup = Signup.objects.get(pk=signup.pk)
        if signup.status != SignupStatus.OFFERED:
            raise Conflict(_("確定を待っている申込ではありません。"), code=MatchingCode.NOT_OFFERED)
        if signup.offer_expires_at <= now or signup.starts_at <= now:
            raise Conflict(
                _("確認の期限を過ぎたため、この席は次の方に回りました。"),
                code=MatchingCode.OFFER_EXPIRED,
            )
        signup.status = SignupStatus.CONFIRMED
        signup.confirmed_at = now
        signup.offer_expires_at = None
        signup.save(update_fields=["status", "confirmed_at", "offer_expires_at"])
    return signup


def signup_decide(*, signup: Signup, actor: User, accept: bool) -> Signup:
    """On a host-approved task, the host (or staff) accepts a request while places are
    left, or declines it."""
    task = signup.session.task
    check_manage(actor, task)
    now = timezone.now()
    with transaction.atomic():
        session = lock_session(signup.session_id)
        signup = Signup.objects.get(pk=signup.pk)
        if signup.status != SignupStatus.PENDING:
            raise Conflict(
                _("承認待ちの申込ではありません。"), code=MatchingCode.SIGNUP_NOT_PENDING
            )
        if accept:
            if session.taken >= session.capacity:
                raise Conflict(_("この回は定員に達しています。"), code=MatchingCode.SESSION_FULL)
            if session.starts_at <= now:
                raise ValidationError(
                    _("始まった回の申込は承認できません。"), code=MatchingCode.SESSION_STARTED
                )
            lock_person(signup.person_id)
            other = _overlapping(signup.person_id, session)
            if other is not None:
                raise Conflict(
                    _("この方は同じ時間に別のお手伝い（%(title)s）への参加が決まっています。")
                    % {"title": other.session.task.title},
                    code=MatchingCode.OVERLAPPING_SESSION,
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


def signup_thank(*, signup: Signup, actor: User, message: str) -> Signup:
    """A participant leaves a thank-you message for the host after taking part."""
    if signup.person_id != actor.pk:
        raise Denied(_("自分の申込にだけメッセージを残せます。"), code=MatchingCode.NOT_OWN_SIGNUP)
    message = message.strip()
    if not message:
        raise ValidationError(
            {
                "message": ValidationError(
                    _("メッセージを書いてください。"), code=MatchingCode.MESSAGE_REQUIRED
                )
            }
        )
    if len(message) > 1000:
        raise ValidationError(
            {
                "message": ValidationError(
                    _("メッセージは1000文字以内にしてください。"),
                    code=MatchingCode.MESSAGE_TOO_LONG,
                )
            }
        )
    if signup.status != SignupStatus.CONFIRMED or signup.attendance in (
        Attendance.NO_SHOW,
        Attendance.EXCUSED,
    ):
        raise ValidationError(
            _("ありがとうメッセージは、参加した回に残せます。"), code=MatchingCode.NOT_ATTENDED
        )
    if signup.session.starts_at > timezone.now():
        raise ValidationError(
            _("ありがとうメッセージは、開催回が始まってから残せます。"),
            code=MatchingCode.SESSION_NOT_STARTED,
        )
    with transaction.atomic():
        signup.thanks = message
        signup.thanks_at = timezone.now()
        signup.save(update_fields=["thanks", "thanks_at"])
        host_hears_thanks(signup, signup.session.task, message)
    return signup
