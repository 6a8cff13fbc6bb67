"""A person's rights: what the board keeps about them (their export), and what is left of
them when their account is deleted.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from accounts.models import User

from ..locks import lock_session
from ..models import (
    HOLDING_STATUSES,
    LIVE_STATUSES,
    HostApplication,
    HostApplicationStatus,
    Match,
    Signup,
    SignupDetails,
    SignupStatus,
    Task,
    TaskWatch,
)
from ..selectors import questions_data_of
from .conversations import conversations_anonymise
from .signups import _release


def _details_of(signup: Signup) -> dict[str, Any] | None:
    """What the person gave the host for the roster, while it is kept."""
    try:
        details = signup.details
    except SignupDetails.DoesNotExist:
        return None
    return {
        "full_name": details.full_name,
        "furigana": details.furigana,
        "phone": details.phone,
        "emergency_name": details.emergency_name,
        "emergency_phone": details.emergency_phone,
        "birth_date": details.birth_date.isoformat() if details.birth_date else None,
        "given_at": details.created_at.isoformat(),
    }


def board_data_of(*, user: User) -> dict[str, Any]:
    """What the board keeps about the person, JSON-ready (their export)."""
    signups = (
        Signup.objects.filter(person=user)
        .select_related("session__task__municipality", "details")
        .order_by("created_at", "id")
    )
    return {
        "watching": [
            {"task": title, "since": since.isoformat()}
            for title, since in TaskWatch.objects.filter(person=user).values_list(
                "task__title", "created_at"
            )
        ],
        "recommendations": [
            {"task": title, "score": round(score, 1), "reasons": int(reasons)}
            for title, score, reasons in Match.objects.filter(person=user).values_list(
                "task__title", "score", "reasons"
            )
        ],
        "signups": [
            {
                "task": s.session.task.title,
                "municipality": s.session.task.municipality_id,
                "starts_at": s.session.starts_at.isoformat(),
                "status": s.status,
                "message": s.message,
                "created_at": s.created_at.isoformat(),
                "attendance": s.attendance,
                "thanks": s.thanks,
                "details": _details_of(s),
            }
            for s in signups
        ],
        "host_applications": [
            {
                "municipality": a.municipality_id,
                "organisation": a.organisation,
                "message": a.message,
                "status": a.status,
                "applied_at": a.applied_at.isoformat(),
            }
            for a in HostApplication.objects.filter(person=user).order_by("applied_at", "id")
        ],
        "hosted_tasks": list(
            Task.objects.filter(host=user).order_by("id").values_list("pk", flat=True)
        ),
        "questions": questions_data_of(user=user),
    }


def board_anonymise(*, user: User) -> None:
    """On account deletion: the person's live sign-ups are cancelled (their places go to the
    waiting lists), their messages blanked, their questions to hosts deleted (and their
    answers, as a host, blanked), their matches and watches deleted, pending host
    applications withdrawn, and tasks
    they hosted stay with the municipality (whose staff manage them) under its name.

    Runs inside ``account_delete``, which holds the person's row: a session is locked after
    it here, against the usual order; a deadlock with a concurrent promotion of this very
    person is detected by PostgreSQL and rolls the deletion back; the person tries again."""
    now = timezone.now()
    # Sessions that have begun keep their record (attendance counts for the statistics).
    live = Signup.objects.filter(person=user, status__in=LIVE_STATUSES, starts_at__gt=now).order_by(
        "session_id"
    )
    for signup_id, session_id in live.values_list("pk", "session_id"):
        session = lock_session(session_id)
        signup = Signup.objects.get(pk=signup_id)
        held = signup.status in HOLDING_STATUSES
        signup.status = SignupStatus.CANCELLED
        signup.cancelled_at = now
        signup.offer_expires_at = None
        signup.save(update_fields=["status", "cancelled_at", "offer_expires_at"])
        if held:
            _release(session, now)
    Signup.objects.filter(person=user).update(message="", thanks="")
    SignupDetails.objects.filter(signup__person=user).delete()
    Match.objects.filter(person=user).delete()
    TaskWatch.objects.filter(person=user).delete()
    HostApplication.objects.filter(person=user, status=HostApplicationStatus.PENDING).update(
        status=HostApplicationStatus.WITHDRAWN, decided_at=now
    )
    HostApplication.objects.filter(person=user).update(message="", organisation="")
    conversations_anonymise(user=user)
    name = user.public_name
    for task in Task.objects.filter(host=user).select_related("municipality"):
        task.host = None
        if task.host_name == name:
            task.host_name = task.municipality.name
        task.save(update_fields=["host", "host_name"])
