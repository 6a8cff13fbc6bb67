"""A task's participants for its host and staff: attendance and the decision on requests."""

from __future__ import annotations

from collections import defaultdict

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.pages import get_only, personal

from .. import selectors, services
from ..models import (
    Attendance,
    SignupMode,
    SignupStatus,
)
from ._common import _managed_task, _refused

# Who comes first in a session's list of sign-ups.
PARTICIPANT_ORDER = {
    SignupStatus.CONFIRMED: 0,
    SignupStatus.OFFERED: 1,
    SignupStatus.PENDING: 2,
    SignupStatus.WAITLISTED: 3,
}


@personal
@get_only
def participants(request, pk: int):
    task = _managed_task(request, pk)
    sessions = list(selectors.sessions_of(task))
    signups = defaultdict(list)
    for signup in services.participants_read(viewer=request.user, task=task):
        signups[signup.session_id].append(signup)
    now = timezone.now()
    groups = []
    for session in sessions:
        session.task = task
        rows = sorted(
            signups.get(session.pk, []), key=lambda s: (PARTICIPANT_ORDER.get(s.status, 9), s.pk)
        )
        groups.append({"session": session, "signups": rows, "started": session.starts_at <= now})
    return render(
        request,
        "matching/participants.html",
        {"task": task, "groups": groups, "approval": task.signup_mode == SignupMode.APPROVAL},
    )


def _participants_url(signup) -> str:
    return reverse("matching:participants", args=[signup.session.task_id]) + (
        f"#session-{signup.session_id}"
    )


@personal
@require_POST
def attendance(request, pk: int):
    signup = selectors.signup_managed_get(user=request.user, pk=pk)
    value = request.POST.get("attendance", "")
    try:
        services.attendance_mark(signup=signup, actor=request.user, attendance=value)
    except ValidationError as error:
        _refused(request, error)
    else:
        messages.success(
            request,
            _("%(name)s さんの出欠を「%(attendance)s」にしました。")
            % {
                "name": (signup.person.public_name or _("（名前の登録なし）")),
                "attendance": Attendance(value).label if value else _("未記録"),
            },
        )
    return redirect(_participants_url(signup))


@personal
@require_POST
def signup_decide(request, pk: int):
    signup = selectors.signup_managed_get(user=request.user, pk=pk)
    decision = request.POST.get("decision", "")
    if decision not in ("accept", "decline"):
        messages.error(request, _("「参加を承認」か「お断り」を選んでください。"))
        return redirect(_participants_url(signup))
    try:
        services.signup_decide(signup=signup, actor=request.user, accept=decision == "accept")
    except ValidationError as error:
        _refused(request, error)
    else:
        name = signup.person.public_name or _("（名前の登録なし）")
        if decision == "accept":
            messages.success(request, _("%(name)s さんの参加を承認しました。") % {"name": name})
        else:
            messages.success(request, _("%(name)s さんの申込をお断りしました。") % {"name": name})
    return redirect(_participants_url(signup))
