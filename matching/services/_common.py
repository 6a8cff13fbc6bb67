"""What the board's services share: the context of their notifications, who may manage
a task, and the checks and dates of sessions.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role, User
from accounts.selectors import staff_scope
from core.errors import Code, Denied
from core.holidays import is_day_off
from places.models import Municipality
from places.names import place_ref
from registry import flags
from registry.models import AvailableDays, Month

from ..models import (
    Session,
    SessionStatus,
    Task,
)

logger = logging.getLogger(__name__)


def _task_url(task: Task) -> str:
    return reverse("matching:task_detail", args=[task.pk])


def _task_context(task: Task, **extra: Any) -> dict[str, Any]:
    return {
        "task_id": task.pk,
        "task_title": task.title,
        "municipality": place_ref(task.municipality),
        **extra,
    }


def _session_context(session: Session) -> dict[str, Any]:
    return {
        "session_id": session.pk,
        "starts_at": session.starts_at.isoformat(),
        "ends_at": session.ends_at.isoformat(),
    }


def _staff_of(municipality_code: str) -> list[int]:
    """The ids of the municipality's staff, who review what its hosts send."""
    return list(
        User.objects.filter(
            memberships__municipality_id=municipality_code,
            memberships__role__in=[Role.MUNICIPALITY_ADMIN, Role.MUNICIPALITY_EDITOR],
        ).values_list("pk", flat=True)
    )


def task_runners(task: Task) -> list[int]:
    """Who runs ``task`` and hears of its people: its host while they still host in its
    town, else the town's staff (a task staff posted has no host)."""
    if task.host_id is not None:
        host = User.objects.filter(pk=task.host_id).first()
        if host is not None and staff_scope(user=host).hosts_for(task.municipality_id):
            return [host.pk]
    return _staff_of(task.municipality_id)


def _check_staff(actor: User, municipality: Municipality) -> None:
    if not staff_scope(user=actor).manages_municipality(municipality.code):
        raise Denied(_("この市区町村の職員だけができる操作です。"), code=Code.NOT_STAFF_HERE)


def _session_errors(starts_at, ends_at, capacity, now) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if starts_at is None:
        errors["starts_at"] = [_("開始日時を入力してください。")]
    elif starts_at <= now:
        errors["starts_at"] = [_("開始日時は未来の日時にしてください。")]
    elif starts_at > now + datetime.timedelta(days=3 * 366):
        errors["starts_at"] = [_("開始日時は3年以内にしてください。")]
    if ends_at is None:
        errors["ends_at"] = [_("終了日時を入力してください。")]
    elif starts_at is not None and ends_at <= starts_at:
        errors["ends_at"] = [_("終了は開始より後の時刻にしてください。")]
    elif starts_at is not None and ends_at - starts_at > datetime.timedelta(days=14):
        errors["ends_at"] = [_("1回の開催は14日以内にしてください。長い場合は回を分けてください。")]
    if capacity is None or not isinstance(capacity, int) or capacity < 1:
        errors["capacity"] = [_("定員は1人以上にしてください。")]
    elif capacity > 10000:
        errors["capacity"] = [_("定員は10000人以下にしてください。")]
    return errors


def _sessions_errors(sessions: list[dict], now) -> dict[str, Any]:
    if not sessions:
        return {"sessions": [_("開催回を1つ以上入力してください。")]}
    if len(sessions) > 100:
        return {"sessions": [_("開催回は100回までです。")]}
    problems = [
        _session_errors(s.get("starts_at"), s.get("ends_at"), s.get("capacity"), now)
        for s in sessions
    ]
    if any(problems):
        # One message per session, in the order they were given.
        messages = []
        for number, errors in enumerate(problems, start=1):
            for message in (m for ms in errors.values() for m in ms):
                messages.append(_("%(n)d回目: %(message)s") % {"n": number, "message": message})
        return {"sessions": messages}
    return {}


def _task_dates_refresh(task_id: int) -> None:
    """Keep the task's first start, last end, last moment to sign up, and the days (weekday,
    or day off: a weekend or a public holiday, ``core.holidays``) and months its sessions
    fall on (what the matcher compares with people's availability)."""
    times = list(
        Session.objects.filter(task_id=task_id, status=SessionStatus.SCHEDULED).values_list(
            "starts_at", "ends_at"
        )
    )
    hours = Task.objects.filter(pk=task_id).values_list("signup_close_hours", flat=True).get()
    days = months = 0
    for starts_at, _ends_at in times:
        local = timezone.localtime(starts_at)
        weekend = AvailableDays.WEEKENDS if is_day_off(local.date()) else AvailableDays.WEEKDAYS
        days |= flags.bit(AvailableDays, weekend)
        months |= flags.bit(Month, str(local.month))
    last_start = max((start for start, _end in times), default=None)
    Task.objects.filter(pk=task_id).update(
        starts_at=min((start for start, _end in times), default=None),
        ends_at=max((end for _start, end in times), default=None),
        signup_closes_at=(
            last_start - datetime.timedelta(hours=hours) if last_start is not None else None
        ),
        session_days=days,
        session_months=months,
    )
