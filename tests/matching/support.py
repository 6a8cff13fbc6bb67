"""Helpers the board's tests share: hosts, staff, tasks made through the services (the
rules are tested elsewhere), and moving a session into the past for attendance."""

from __future__ import annotations

import datetime
from contextlib import contextmanager

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import Role, User
from core.errors import code_of
from matching import services
from matching.models import Session, Signup, Task
from places.models import Municipality
from tests.factories import person_with_role
from tests.support import AMA, CHIZU, HIDA, SETAGAYA, api_as, error_of, register, resident

__all__ = [
    "AMA",
    "CHIZU",
    "HIDA",
    "SETAGAYA",
    "api_as",
    "error_of",
    "host_of",
    "in_days",
    "make_task",
    "move_to_past",
    "published_task",
    "refuses",
    "register",
    "resident",
    "staff_of",
]


def in_days(days: float, hour: int = 9) -> datetime.datetime:
    """A moment ``days`` from today at ``hour`` o'clock, Tokyo time."""
    day = timezone.localdate() + datetime.timedelta(days=int(days))
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def staff_of(code: str = CHIZU, **kwargs) -> User:
    return person_with_role(Role.MUNICIPALITY_EDITOR, code, **kwargs)


def host_of(code: str = CHIZU, **kwargs) -> User:
    return person_with_role(Role.HOST, code, **kwargs)


def make_task(
    actor: User,
    code: str = CHIZU,
    *,
    sessions: list[dict] | None = None,
    capacity: int = 10,
    **fields,
) -> Task:
    """A draft task with (by default) one session a week from now."""
    defaults = {
        "title": "棚田の草刈り",
        "description": "棚田のあぜの草刈りを手伝ってください。",
        "category": "farming",
        "reward": "新米 2kg",
    }
    defaults.update(fields)
    if sessions is None:
        sessions = [{"starts_at": in_days(7), "ends_at": in_days(7, 15), "capacity": capacity}]
    return services.task_create(
        actor=actor,
        municipality=Municipality.objects.get(code=code),
        sessions=sessions,
        **defaults,
    )


def published_task(code: str = CHIZU, staff: User | None = None, **kwargs) -> Task:
    staff = staff or staff_of(code)
    task = make_task(staff, code, **kwargs)
    return services.task_publish(task=task, actor=staff)


def move_to_past(session: Session, days: int = 1) -> Session:
    """Shift a session (and its sign-ups' copies) ``days`` into the past, as time passing
    would; the services refuse to schedule one there."""
    delta = session.starts_at - (timezone.now() - datetime.timedelta(days=days))
    Session.objects.filter(pk=session.pk).update(
        starts_at=session.starts_at - delta, ends_at=session.ends_at - delta
    )
    Signup.objects.filter(session=session).update(
        starts_at=session.starts_at - delta, ends_at=session.ends_at - delta
    )
    session.refresh_from_db()
    return session


@contextmanager
def refuses(code: str, kind: type[Exception] = ValidationError):
    """A service's refusal of ``kind`` (``Conflict``, ``Denied`` …) with ``code``."""
    with pytest.raises(kind) as info:
        yield info
    error = info.value
    assert (error.code if isinstance(error, PermissionDenied) else code_of(error)) == code, error
