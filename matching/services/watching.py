"""The matcher's requests and their notifications, recommendations refreshed, and the
people watching a task for a place to open.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core.errors import Conflict
from core.queue import enqueue
from notifications.models import Topic
from notifications.services import notification_send
from registry.models import Profile

from ..errors import MatchingCode
from ..matcher import person_rank, reason_codes, task_rank
from ..models import (
    LIVE_STATUSES,
    Match,
    RecommendationRequest,
    Session,
    SessionStatus,
    Signup,
    SignupStatus,
    Task,
    TaskStatus,
    TaskWatch,
)
from ._common import _session_context, _task_context, _task_url
from .hosting import watch_check


def _match_request(task: Task, *, wave: int | None = None) -> None:
    """Ask the matcher to rank the task's people again, in the current transaction. The
    request is a column: if no worker takes the queued job (broker down), beat's sweep
    finds it."""
    fields: dict[str, Any] = {"match_requested_at": timezone.now()}
    if wave is not None:
        fields["match_wave"] = wave
    Task.objects.filter(pk=task.pk).update(**fields)
    enqueue("matching.task_match", task.pk)


def task_match(*, task_id: int) -> dict[str, int]:
    """Do a task's matcher request: rank and store its matches, then tell the best people
    not yet told, within the wave's budget. Idempotent (one notification per person and
    task, whatever the reruns); returns what it did."""
    task = Task.objects.select_related("municipality", "prefecture").filter(pk=task_id).first()
    if task is None or task.match_requested_at is None:
        return {"matches": 0, "told": 0}
    requested = task.match_requested_at
    matches = told = 0
    if task.status == TaskStatus.PUBLISHED:
        matches = task_rank(task, wave=task.match_wave)
        told = _matches_tell(task)
    else:
        Match.objects.filter(task=task, notified_at__isnull=True).delete()
    # Done, unless the task changed again meanwhile (then the newer request stays).
    Task.objects.filter(pk=task.pk, match_requested_at=requested).update(match_requested_at=None)
    return {"matches": matches, "told": told}


def _open_places(task: Task, now: datetime.datetime) -> int:
    sessions = Session.objects.filter(
        task=task,
        status=SessionStatus.SCHEDULED,
        starts_at__gt=now + datetime.timedelta(hours=task.signup_close_hours),
    ).aggregate(capacity=Sum("capacity"), taken=Sum("taken"))
    return (sessions["capacity"] or 0) - (sessions["taken"] or 0)


def _matches_tell(task: Task) -> int:
    """Tell the best-matched people not yet told, best first: per open place
    ``MATCHING_NOTIFY_PER_PLACE`` people (twice that in the wide net), at most
    ``MATCHING_NOTIFY_MAX``; people over their weekly cap or who turned these off are
    passed over."""
    now = timezone.now()
    places = _open_places(task, now)
    if places <= 0:
        return 0
    limit = min(
        settings.MATCHING_NOTIFY_MAX * task.match_wave,
        settings.MATCHING_NOTIFY_PER_PLACE * places * task.match_wave,
    )
    budget = limit - Match.objects.filter(task=task, notified_at__isnull=False).count()
    tried: set[int] = set()
    told_count = 0
    for _round in range(5):
        if budget <= 0:
            break
        chunk = list(
            Match.objects.filter(task=task, notified_at__isnull=True)
            .exclude(person_id__in=tried)
            .order_by("-score", "person_id")[:budget]
        )
        if not chunk:
            break
        tried.update(match.person_id for match in chunk)
        profiles = Profile.objects.in_bulk([match.person_id for match in chunk])
        with transaction.atomic():
            told = notification_send(
                recipients=[match.person_id for match in chunk],
                kind="task_matched",
                topic=Topic.MATCHES,
                key=f"task:{task.pk}:matched",
                context=_task_context(
                    task,
                    category=task.category,
                    starts_at=task.starts_at.isoformat() if task.starts_at else None,
                ),
                personal={
                    match.person_id: {
                        "reasons": reason_codes(match, task, profiles.get(match.person_id))
                    }
                    for match in chunk
                },
                url=_task_url(task),
                weekly_cap=settings.NOTIFICATIONS_MATCH_WEEKLY_CAP,
            )
            Match.objects.filter(task=task, person_id__in=told).update(notified_at=now)
        told_count += len(told)
        budget -= len(told)
    return told_count


def person_refresh_request(*, person_id: int) -> None:
    """Ask for a person's recommendations to be scored again, in the current transaction:
    a request row (the newest time wins) and the job queued after the commit; if no worker
    takes the job (broker down), ``person_refresh_sweep`` finds the row."""
    RecommendationRequest.objects.update_or_create(
        person_id=person_id, defaults={"requested_at": timezone.now()}
    )
    enqueue("matching.person_refresh", person_id)


def person_recommendations_refresh(*, person_id: int) -> int:
    """Score the live tasks around a person again (their profile or registrations
    changed), and mark their request done unless a newer one came meanwhile."""
    requested = (
        RecommendationRequest.objects.filter(person_id=person_id)
        .values_list("requested_at", flat=True)
        .first()
    )
    person = User.objects.filter(pk=person_id, is_active=True).first()
    ranked = person_rank(person) if person is not None else 0
    if requested is not None:
        RecommendationRequest.objects.filter(person_id=person_id, requested_at=requested).delete()
    return ranked


def _tell_watchers(session: Session, now: datetime.datetime) -> int:
    """A place is free and nobody waits for it: tell the people watching the task (once a
    day per session). Call with the session locked."""
    task = session.task
    if (
        session.taken >= session.capacity
        or session.status != SessionStatus.SCHEDULED
        or task.status != TaskStatus.PUBLISHED
        or now >= session.signup_closes_at()
        or Signup.objects.filter(session=session, status=SignupStatus.WAITLISTED).exists()
    ):
        return 0
    watchers = (
        TaskWatch.objects.filter(task=task)
        .exclude(
            person__in=Signup.objects.filter(session=session, status__in=LIVE_STATUSES).values(
                "person_id"
            )
        )
        .values_list("person_id", flat=True)
    )
    return len(
        notification_send(
            recipients=watchers,
            kind="place_opened",
            topic=Topic.PLACES,
            key=f"session:{session.pk}:opened:{timezone.localdate(now).isoformat()}",
            context=_task_context(
                task, places_left=session.capacity - session.taken, **_session_context(session)
            ),
            url=_task_url(task),
        )
    )


def task_watch(*, task: Task, person: User) -> TaskWatch:
    """Watch a public task, to hear when a place opens: only while every session still
    taking sign-ups is full (``watch_check``). Watching twice is watching once."""
    if task.status != TaskStatus.PUBLISHED:
        raise Conflict(
            _("募集中のお手伝いだけを見守れます。"), code=MatchingCode.TASK_NOT_PUBLISHED
        )
    watch_check(task=task, now=timezone.now())
    watch, _created = TaskWatch.objects.get_or_create(task=task, person=person)
    return watch


def task_unwatch(*, task: Task, person: User) -> None:
    TaskWatch.objects.filter(task=task, person=person).delete()
