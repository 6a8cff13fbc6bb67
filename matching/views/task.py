"""One task's page, and watching it for a place to open."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.selectors import staff_scope
from core.pages import get_only, personal, safe_next
from core.public_cache import public_response
from places.versions import PLACES

from .. import selectors, services
from ..board_version import BOARD
from ..models import (
    EDITABLE_STATUSES,
    SessionStatus,
    SignupMode,
    TaskStatus,
)
from ._common import _refused, _task_url


def _manager_actions(task, sessions, *, is_staff: bool, now) -> dict[str, bool]:
    """Which status changes a manager of ``task`` is offered (the services decide)."""
    status = task.status
    begun = any(s.status == SessionStatus.SCHEDULED and s.starts_at <= now for s in sessions)
    to_come = any(s.status == SessionStatus.SCHEDULED and s.starts_at > now for s in sessions)
    return {
        "edit": status in EDITABLE_STATUSES,
        "submit": status == TaskStatus.DRAFT and not is_staff,
        "publish": is_staff and status in (TaskStatus.DRAFT, TaskStatus.IN_REVIEW),
        "return": is_staff and status == TaskStatus.IN_REVIEW,
        "close": status == TaskStatus.PUBLISHED,
        "complete": status in (TaskStatus.PUBLISHED, TaskStatus.CLOSED) and not to_come,
        "cancel": status not in (TaskStatus.COMPLETED, TaskStatus.CANCELLED),
        "report": begun and status != TaskStatus.CANCELLED,
    }


@get_only
def task_detail(request, pk: int):
    """A task's page; anonymous, from the public cache (a person's own sign-ups, watch and
    tools are read for them each time)."""
    return public_response(request, names=(BOARD, PLACES), build=lambda: _task_detail(request, pk))


def _task_detail(request, pk: int):
    task = selectors.task_get(user=request.user, pk=pk)
    sessions = list(selectors.sessions_of(task))
    for session in sessions:
        session.task = task
    mine = selectors.live_signups_of(user=request.user, task=task)
    positions = selectors.waitlist_positions(mine.values())
    now = timezone.now()
    rows = []
    for session in sessions:
        signup = mine.get(session.pk)
        rows.append(
            {
                "session": session,
                "signup": signup,
                "position": positions.get(signup.pk) if signup else None,
                "open": task.is_open
                and session.status == SessionStatus.SCHEDULED
                and now < session.signup_closes_at(),
                "past": session.starts_at <= now,
            }
        )
    manages = services.may_manage_task(request.user, task)
    is_staff = staff_scope(user=request.user).manages_municipality(task.municipality_id)
    # Watching is for people who have no place and want to hear when one opens.
    may_watch = request.user.is_authenticated and not manages and not mine
    watching = may_watch and selectors.is_watching(user=request.user, task=task)
    to_come = [r for r in rows if r["open"]]
    return render(
        request,
        "matching/task_detail.html",
        {
            "task": task,
            "rows": rows,
            "manages": manages,
            "is_staff": is_staff,
            "actions": _manager_actions(task, sessions, is_staff=is_staff, now=now)
            if manages
            else {},
            "pending_revision": selectors.revision_pending_of(task) if manages else None,
            "first_come": task.signup_mode == SignupMode.FIRST_COME,
            "watch": {
                "offered": may_watch
                and task.status == TaskStatus.PUBLISHED
                and bool(to_come)
                and not any(r["session"].places_left for r in to_come),
                "watching": watching,
                "full": bool(to_come) and not any(r["session"].places_left for r in to_come),
            },
        },
    )


@personal
@require_POST
def task_watch(request, pk: int):
    task = selectors.task_get(user=request.user, pk=pk)
    try:
        services.task_watch(task=task, person=request.user)
    except ValidationError as error:
        _refused(request, error)
    else:
        messages.success(
            request,
            _("「%(title)s」を見守ります。空きが出たら、お知らせでお伝えします。")
            % {"title": task.title},
        )
    return redirect(safe_next(request, _task_url(task) + "#watch"))


@personal
@require_POST
def task_unwatch(request, pk: int):
    task = selectors.task_get(user=request.user, pk=pk)
    services.task_unwatch(task=task, person=request.user)
    messages.success(request, _("「%(title)s」の見守りをやめました。") % {"title": task.title})
    return redirect(safe_next(request, _task_url(task) + "#watch"))
