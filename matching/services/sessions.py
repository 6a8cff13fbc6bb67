"""Sessions: adding one to a task, moving it or changing its capacity, calling it off.

A session is locked after its task (``matching.locks``): a change to it writes the task's
dates too.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import audit_record
from core.errors import Conflict
from notifications.models import Topic
from notifications.services import notification_send

from ..errors import MatchingCode
from ..locks import lock_people, lock_session, lock_task
from ..models import (
    EDITABLE_STATUSES,
    HOLDING_STATUSES,
    LIVE_STATUSES,
    Session,
    SessionStatus,
    Signup,
    SignupStatus,
    Task,
    TaskStatus,
)
from ..selectors import check_manage
from ._common import (
    _session_context,
    _session_errors,
    _task_context,
    _task_dates_refresh,
    _task_url,
)
from .signups import _overlapping, _promote
from .tasks import _refuse_held, _review_withdraw
from .watching import _match_request, _tell_watchers


def session_add(
    *,
    task: Task,
    actor: User,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    capacity: int,
) -> Session:
    check_manage(actor, task)
    _refuse_held(actor, task)
    if task.status not in EDITABLE_STATUSES:
        raise Conflict(
            _("「%(status)s」のお手伝いには開催回を追加できません。")
            % {"status": task.get_status_display()},
            code=MatchingCode.TASK_NOT_EDITABLE,
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
    check_manage(actor, task)
    _refuse_held(actor, task)
    now = timezone.now()
    with transaction.atomic():
        lock_task(task.pk)  # the task before its session: this writes the task's dates
        session = lock_session(session.pk)
        if session.status != SessionStatus.SCHEDULED or task.status not in EDITABLE_STATUSES:
            raise Conflict(
                _("この開催回は変更できません。"), code=MatchingCode.SESSION_NOT_EDITABLE
            )
        if session.starts_at <= now:
            raise ValidationError(
                _("始まった開催回は変更できません。"), code=MatchingCode.SESSION_STARTED
            )
        new_start = starts_at or session.starts_at
        new_end = ends_at or session.ends_at
        new_capacity = session.capacity if capacity is None else capacity
        errors = _session_errors(new_start, new_end, new_capacity, now)
        if not errors and new_capacity < session.taken:
            errors["capacity"] = [
                ValidationError(
                    _("すでに%(taken)d人の参加が決まっているので、定員をそれより少なくできません。")
                    % {"taken": session.taken},
                    code=MatchingCode.CAPACITY_BELOW_SIGNUPS,
                )
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
            lock_people(person for _pk, person in holders)
            probe = Session(starts_at=new_start, ends_at=new_end)
            if any(_overlapping(person, probe, exclude_signup=pk) for pk, person in holders):
                raise Conflict(
                    {
                        "starts_at": ValidationError(
                            _("この日時に動かすと、参加が決まっている方の別の参加と重なります。"),
                            code=MatchingCode.OVERLAPPING_SESSION,
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
        lock_task(task.pk)  # the task before its session: this writes the task's dates
        session = lock_session(session.pk)
        if session.status != SessionStatus.SCHEDULED:
            raise Conflict(
                _("この開催回はすでに中止されています。"),
                code=MatchingCode.SESSION_ALREADY_CANCELLED,
            )
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
