"""Template helpers of sign-up care and of what the host sees: how long a request has
waited, whether a sign-up still offers its calendar file, why a session takes no sign-up,
and the held session a waiting list would overlap."""

from __future__ import annotations

from django import template
from django.utils import timezone
from django.utils.translation import ngettext

from ..models import SignupMode
from ..services.hosting import (
    _overlapping,
    calendar_offered,
    session_offered,
    signup_closed_reason,
)

register = template.Library()


@register.filter
def waited(since) -> str:
    """「3日前から待っています」: how long a request has waited, in whole units."""
    if not since:
        return ""
    seconds = max(0, int((timezone.now() - since).total_seconds()))
    days, hours, minutes = seconds // 86400, seconds // 3600, seconds // 60
    if days:
        return ngettext("%(n)d日前から待っています", "%(n)d日前から待っています", days) % {
            "n": days
        }
    if hours:
        return ngettext("%(n)d時間前から待っています", "%(n)d時間前から待っています", hours) % {
            "n": hours
        }
    return ngettext("%(n)d分前から待っています", "%(n)d分前から待っています", max(1, minutes)) % {
        "n": max(1, minutes)
    }


register.filter("calendar_offered", calendar_offered)


@register.simple_tag
def signup_closed(session) -> str:
    """Why ``session`` takes no sign-up (nor a place on its waiting list) now, or ""."""
    return signup_closed_reason(session, timezone.now())


@register.simple_tag
def overlap_warning(session, user):
    """The person's held sign-up that a place on this session's waiting list (or a
    request) would overlap, or None: the sign-up page warns and asks to confirm."""
    if not getattr(user, "is_authenticated", False):
        return None
    task = session.task
    if task.signup_mode != SignupMode.APPROVAL and session.taken < session.capacity:
        return None  # a place now: the service refuses an overlap outright
    return _overlapping(user.pk, session)


@register.filter
def confirmed_count(session) -> int:
    """The session's confirmed places: its places held (``taken``) less the offers still
    waiting for the person's confirmation (annotated by ``sessions_of``, else counted)."""
    return session.taken - session_offered(session)
