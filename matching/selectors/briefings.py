"""Reads of a task's briefing: who may see it, and what an e-mail shows when it is sent."""

from __future__ import annotations

from ..models import HOLDING_STATUSES, Signup, Task, TaskBriefing
from .board import may_manage_task


def briefing_of(task: Task) -> TaskBriefing | None:
    """The task's briefing, if one was written (for its managers)."""
    return TaskBriefing.objects.filter(task_id=task.pk).first()


def briefing_of_task_id(task_id: int) -> TaskBriefing | None:
    """The briefing of a task by its id, unless empty (for a notice already addressed)."""
    briefing = TaskBriefing.objects.filter(task_id=task_id).first()
    return None if briefing is None or briefing.is_empty else briefing


def holds_place(*, user, task: Task) -> bool:
    """Whether ``user`` holds a place on one of the task's sessions."""
    if not user.is_authenticated:
        return False
    return Signup.objects.filter(
        person_id=user.pk, session__task_id=task.pk, status__in=HOLDING_STATUSES
    ).exists()


def briefing_shown_to(*, user, task: Task) -> TaskBriefing | None:
    """The briefing ``user`` may read: a manager's or a place-holder's; else None."""
    if not user.is_authenticated:
        return None
    if not (may_manage_task(user, task) or holds_place(user=user, task=task)):
        return None
    briefing = briefing_of(task)
    return None if briefing is None or briefing.is_empty else briefing


def briefing_of_signup(signup_id: int) -> TaskBriefing | None:
    """The briefing of the task of a sign-up that holds a place now (else None): what its
    e-mail shows, read when the e-mail is sent, so a later change is reflected and a
    cancelled or waiting person is shown nothing."""
    signup = (
        Signup.objects.filter(pk=signup_id, status__in=HOLDING_STATUSES)
        .select_related("session__task__briefing")
        .first()
    )
    if signup is None:
        return None
    briefing = getattr(signup.session.task, "briefing", None)
    return None if briefing is None or briefing.is_empty else briefing
