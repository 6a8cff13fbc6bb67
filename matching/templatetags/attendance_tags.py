"""The attendance window of a session for the host's participants page: whether marks may
be made or corrected now, until when, and who is still unmarked."""

from __future__ import annotations

from django import template
from django.utils import timezone

from ..models import Attendance, SignupStatus
from ..services import attendance_deadline, attendance_open

register = template.Library()


@register.simple_tag
def attendance_window(session, signups=(), viewer=None) -> dict:
    """``started``, ``open`` (marks may change now), ``deadline``, the ``choices`` of a mark,
    and ``unmarked``: how many confirmed sign-ups among ``signups`` have no mark yet, leaving
    out the ``viewer``'s own (they cannot mark it)."""
    now = timezone.now()
    viewer_id = getattr(viewer, "pk", None)
    return {
        "started": session.starts_at <= now,
        "open": attendance_open(session, now),
        "deadline": attendance_deadline(session),
        "choices": Attendance.choices,
        "unmarked": sum(
            1
            for signup in signups
            if signup.status == SignupStatus.CONFIRMED
            and not signup.attendance
            and signup.person_id != viewer_id
        ),
    }
