"""The roster's reads: a session its reader manages, and its participants with the details
each agreed to give for their sign-up (``SignupDetails``).

Kept apart from ``selectors``: nothing else reads ``SignupDetails``, and every read of it
goes through ``services.roster_read``, which checks the reader and writes the audit row."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from ..models import LIVE_STATUSES, Session, Signup, SignupDetails, SignupStatus, Task

# Who comes first: those holding a place, then requests, then the waiting list.
ROSTER_ORDER = {
    SignupStatus.CONFIRMED: 0,
    SignupStatus.OFFERED: 1,
    SignupStatus.PENDING: 2,
    SignupStatus.WAITLISTED: 3,
}


class DetailsState:
    GIVEN = "given"
    DELETED = "deleted"  # the retention period passed: deleted by ``roster_details_purge``
    MISSING = "missing"  # signed up before the roster asked, or not through a form


@dataclass(frozen=True)
class RosterRow:
    number: int
    signup: Signup
    state: str
    full_name: str
    furigana: str
    phone: str
    emergency_name: str
    emergency_phone: str
    birth_date: datetime.date | None

    @property
    def status_label(self) -> str:
        return str(self.signup.get_status_display())

    @property
    def attendance_label(self) -> str:
        return str(self.signup.get_attendance_display()) if self.signup.attendance else ""


@dataclass(frozen=True)
class Roster:
    session: Session
    task: Task
    rows: list[RosterRow]
    deleted: bool  # the session ended more than the retention period ago
    deletes_on: datetime.date  # the day its details are (or were) deleted
    columns: tuple[str, ...]  # the optional columns shown: phone, emergency, birth_date


def details_expire_before(now: datetime.datetime | None = None) -> datetime.datetime:
    """Sessions that ended before this moment have had their details deleted."""
    now = now or timezone.now()
    return now - datetime.timedelta(days=settings.MATCHING_ROSTER_RETENTION_DAYS)


def roster_of(session: Session) -> Roster:
    """The session's live sign-ups (held places, requests, the waiting list), in order,
    each with the details given for it, if still kept."""
    task = session.task
    signups = sorted(
        Signup.objects.filter(session=session, status__in=LIVE_STATUSES).select_related("person"),
        key=lambda s: (ROSTER_ORDER.get(s.status, 9), s.created_at, s.pk),
    )
    details = {d.signup_id: d for d in SignupDetails.objects.filter(signup__in=signups)}
    deleted = session.ends_at < details_expire_before()
    rows = []
    for number, signup in enumerate(signups, start=1):
        given = details.get(signup.pk)
        if given is None:
            state = DetailsState.DELETED if deleted else DetailsState.MISSING
        else:
            state = DetailsState.GIVEN
        rows.append(
            RosterRow(
                number=number,
                signup=signup,
                state=state,
                full_name=given.full_name if given else signup.person.public_name,
                furigana=given.furigana if given else "",
                phone=given.phone if given else "",
                emergency_name=given.emergency_name if given else "",
                emergency_phone=given.emergency_phone if given else "",
                birth_date=given.birth_date if given else None,
            )
        )
    columns = tuple(
        name
        for name, asked, field in (
            ("phone", task.asks_phone, "phone"),
            ("emergency", task.asks_emergency_contact, "emergency_phone"),
            ("birth_date", task.asks_birth_date, "birth_date"),
        )
        if asked or any(getattr(row, field) for row in rows)
    )
    retention = datetime.timedelta(days=settings.MATCHING_ROSTER_RETENTION_DAYS)
    return Roster(
        session=session,
        task=task,
        rows=rows,
        deleted=deleted,
        deletes_on=timezone.localdate(session.ends_at + retention),
        columns=columns,
    )
