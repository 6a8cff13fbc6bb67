"""What beat runs: offers that lapse, tasks that close and end, reminders, sessions short of
people, and the sweeps that queue again what a broker that was down dropped.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from core.queue import send_now
from notifications.models import Topic
from notifications.services import notification_send

from ..locks import lock_session
from ..models import (
    RecommendationRequest,
    Session,
    SessionStatus,
    Signup,
    SignupStatus,
    Task,
    TaskStatus,
)
from ._common import _session_context, _staff_of, _task_context, _task_url
from .hosting import host_hears
from .signups import _release, _tell
from .watching import _match_request


def offers_expire(*, now: datetime.datetime | None = None, max_rows: int = 5000) -> int:
    """Offers not confirmed in time lapse; each place passes to the next person. Idempotent,
    one short transaction per offer (run by beat)."""
    now = now or timezone.now()
    expired = 0
    for pk, session_id in (
        Signup.objects.filter(status=SignupStatus.OFFERED, offer_expires_at__lte=now)
        .order_by("offer_expires_at", "pk")
        .values_list("pk", "session_id")[:max_rows]
    ):
        with transaction.atomic():
            session = lock_session(session_id)
            changed = Signup.objects.filter(
                pk=pk, status=SignupStatus.OFFERED, offer_expires_at__lte=now
            ).update(status=SignupStatus.EXPIRED, offer_expires_at=None)
            if not changed:
                continue
            signup = Signup.objects.get(pk=pk)
            _tell(signup, session.task, "signup_expired")
            host_hears(signup, session.task, "expired")
            _release(session, now)
            expired += 1
    return expired


def tasks_advance(*, now: datetime.datetime | None = None, max_rows: int = 5000) -> dict:
    """Close published tasks whose every session stopped taking sign-ups, and complete
    tasks whose last session has ended. Idempotent; bounded per run (run by beat)."""
    now = now or timezone.now()
    counts = {"closed": 0, "completed": 0}
    ended = list(
        Task.objects.filter(
            status__in=[TaskStatus.PUBLISHED, TaskStatus.CLOSED], ends_at__lte=now
        ).values_list("pk", flat=True)[:max_rows]
    )
    counts["completed"] = Task.objects.filter(
        pk__in=ended, status__in=[TaskStatus.PUBLISHED, TaskStatus.CLOSED], ends_at__lte=now
    ).update(status=TaskStatus.COMPLETED)
    # Still published, but no session takes sign-ups any more.
    closable = list(
        Task.objects.filter(status=TaskStatus.PUBLISHED, signup_closes_at__lte=now).values_list(
            "pk", flat=True
        )[:max_rows]
    )
    counts["closed"] = Task.objects.filter(
        pk__in=closable, status=TaskStatus.PUBLISHED, signup_closes_at__lte=now
    ).update(status=TaskStatus.CLOSED)
    return counts


def matches_sweep(*, now: datetime.datetime | None = None, max_rows: int = 500) -> int:
    """Matcher requests no worker has taken (a broker that was down): queue them again."""
    return _requeue(Task.objects, "match_requested_at", "pk", "matching.task_match", now, max_rows)


def _requeue(rows, requested_at: str, id_field: str, task: str, now, max_rows: int) -> int:
    """Queue the task named ``task`` again for the rows whose request (``requested_at``) no
    worker took within half a sweep, oldest first: what a broker that was down dropped."""
    since = (now or timezone.now()) - datetime.timedelta(seconds=settings.SWEEP_SECONDS / 2)
    due = list(
        rows.filter(**{f"{requested_at}__lte": since})
        .order_by(requested_at)
        .values_list(id_field, flat=True)[:max_rows]
    )
    for value in due:
        send_now(task, value)
    return len(due)


def person_refresh_sweep(*, now: datetime.datetime | None = None, max_rows: int = 500) -> int:
    """Recommendation refreshes no worker has done (a broker that was down): queue them
    again, oldest first."""
    return _requeue(
        RecommendationRequest.objects,
        "requested_at",
        "person_id",
        "matching.person_refresh",
        now,
        max_rows,
    )


def reminders_send(*, now: datetime.datetime | None = None, max_rows: int = 5000) -> int:
    """Remind confirmed participants ``MATCHING_REMINDER_HOURS`` before their session. Due
    by the sign-up's own time in the database (beat picks them up every 15 minutes);
    once per sign-up and time (a moved session is reminded again)."""
    now = now or timezone.now()
    horizon = now + datetime.timedelta(hours=settings.MATCHING_REMINDER_HOURS)
    due = list(
        Signup.objects.filter(
            status=SignupStatus.CONFIRMED,
            reminded_at__isnull=True,
            starts_at__gt=now,
            starts_at__lte=horizon,
        )
        .select_related("session__task__municipality")
        .order_by("starts_at", "id")[:max_rows]
    )
    for start in range(0, len(due), 200):
        batch = due[start : start + 200]
        with transaction.atomic():
            for signup in batch:
                task = signup.session.task
                notification_send(
                    recipients=[signup.person_id],
                    kind="session_reminder",
                    topic=Topic.REMINDERS,
                    key=f"signup:{signup.pk}:reminder:{signup.starts_at.isoformat()}",
                    context=_task_context(
                        task,
                        address=task.address,
                        signup_id=signup.pk,
                        is_online=task.is_online,
                        what_to_bring=task.what_to_bring,
                        weather_policy=task.weather_policy,
                        **_session_context(signup.session),
                    ),
                    url=_task_url(task),
                )
            Signup.objects.filter(
                pk__in=[signup.pk for signup in batch], reminded_at__isnull=True
            ).update(reminded_at=now)
    return len(due)


def sessions_understaffed(*, now: datetime.datetime | None = None, max_rows: int = 500) -> int:
    """Sessions a few days away with places left: their host and the town's staff are
    told (once per session) and the matcher casts its wide net for the task."""
    now = now or timezone.now()
    horizon = now + datetime.timedelta(days=settings.MATCHING_UNDERSTAFFED_DAYS)
    sessions = list(
        Session.objects.filter(
            status=SessionStatus.SCHEDULED,
            understaffed_alerted_at__isnull=True,
            starts_at__gt=now,
            starts_at__lte=horizon,
            task__status=TaskStatus.PUBLISHED,
            taken__lt=F("capacity"),
        )
        .select_related("task__municipality")
        .order_by("starts_at", "id")[:max_rows]
    )
    alerted = 0
    for session in sessions:
        task = session.task
        with transaction.atomic():
            if not Session.objects.filter(
                pk=session.pk, understaffed_alerted_at__isnull=True
            ).update(understaffed_alerted_at=now):
                continue
            offered = Signup.objects.filter(session=session, status=SignupStatus.OFFERED).count()
            notification_send(
                recipients=[task.host_id, *_staff_of(task.municipality_id)],
                kind="session_understaffed",
                topic=Topic.HOSTING,
                key=f"session:{session.pk}:understaffed",
                context=_task_context(
                    task,
                    capacity=session.capacity,
                    taken=session.taken,
                    # Offered places are held but not yet taken up: told apart.
                    confirmed=session.taken - offered,
                    offered=offered,
                    places_left=session.capacity - session.taken,
                    **_session_context(session),
                ),
                url=reverse("matching:participants", args=[task.pk]),
            )
            _match_request(task, wave=2)
        alerted += 1
    return alerted
