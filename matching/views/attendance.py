"""Attendance of a whole session at once ("everyone present"), for its host and staff; one
participant's mark is ``participants.attendance``."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from core.pages import personal

from .. import selectors, services
from ..models import Attendance
from ._common import _refused


@personal
@require_POST
def attendance_all(request, pk: int):
    """Mark every confirmed participant of the session not marked yet as attended."""
    session = selectors.session_managed_get(user=request.user, pk=pk)
    try:
        marked = services.attendance_mark_all(
            session=session, actor=request.user, attendance=Attendance.ATTENDED
        )
    except ValidationError as error:
        _refused(request, error)
    else:
        if marked:
            messages.success(
                request,
                ngettext(
                    "%(count)d 人を「参加した」にしました。",
                    "%(count)d 人を「参加した」にしました。",
                    len(marked),
                )
                % {"count": len(marked)},
            )
        else:
            messages.info(request, _("出欠のついていない参加者はいませんでした。"))
    return redirect(
        reverse("matching:participants", args=[session.task_id]) + f"#session-{session.pk}"
    )
