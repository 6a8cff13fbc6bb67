"""What whoever runs a task hears of its people: every sign-up (a place or the waiting
list), request on an approval-only task, cancellation (with the person's reason),
promotion from the waiting list, lapsed offer and thank-you.

Whoever runs a task is its host, or, for a task the town's staff posted themselves (no
host), the town's staff. They hear under ``Topic.PARTICIPANTS``, as each chose (at once,
in a daily or weekly digest, or never). Each notice is written by the caller's
transaction, next to the change that causes it (as ``signups._tell`` does), once per
sign-up and event (the key). The person's name and own words are theirs: scrubbed from
these notices when they delete their account (``author_keys``).
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    CharField,
    Count,
    Exists,
    OuterRef,
    Value,
)
from django.db.models.functions import Cast, Concat
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import MUNICIPALITY_STAFF_ROLES, Membership, Role
from core.errors import Conflict
from notifications.models import Notification, Topic
from notifications.services import Send, notification_send, notification_send_many

from ..errors import MatchingCode
from ..models import (
    HOLDING_STATUSES,
    Session,
    SessionStatus,
    Signup,
    SignupDetails,
    SignupStatus,
    Task,
    TaskStatus,
)
from ._common import _session_context, _staff_of, _task_context, task_runners

# What happened to a sign-up → the kind of the notice (``notifications/<kind>.txt``).
HOST_KINDS = {
    "signed_up": "host_signup",  # a place, or the waiting list (the status says which)
    "requested": "host_request",  # a request on an approval-only task
    "cancelled": "host_cancelled",
    "promoted": "host_promoted",
    "expired": "host_offer_lapsed",
    "thanked": "thanks_received",
    "waiting": "host_request_waiting",  # a request still undecided after a while
}


def _overlapping(person_id: int, session: Session, exclude_signup: int | None = None):
    """The person's held sign-up (a place, or an offer) overlapping ``session``, if any."""
    qs = Signup.objects.filter(
        person_id=person_id,
        status__in=HOLDING_STATUSES,
        starts_at__lt=session.ends_at,
        ends_at__gt=session.starts_at,
    )
    if exclude_signup is not None:
        qs = qs.exclude(pk=exclude_signup)
    return qs.select_related("session__task").first()


def participants_url(task: Task, session_id: int | None = None) -> str:
    url = reverse("matching:participants", args=[task.pk])
    return f"{url}#session-{session_id}" if session_id else url


def _name_of(signup: Signup) -> str:
    """The person as the host knows them: the name given for the roster of this sign-up,
    else their public name (so a notice matches its roster row)."""
    given = SignupDetails.objects.filter(signup_id=signup.pk).values_list("full_name", flat=True)
    return given.first() or signup.person.public_name or ""


def runners_read() -> dict[str, str]:
    """SQL that answers ``task_runners`` in the read of a session's lock rather than in
    statements of its own (``locks.lock_session_and_person``, over the task ``t``): whether
    the task's host still hosts in its town (``host_hosts``) and, on PostgreSQL, when they
    do not, the town's staff (``town_staff``)."""
    # (S608: the table's name and the roles' values are our constants.)
    table = connection.ops.quote_name(Membership._meta.db_table)
    hosts = (
        f"EXISTS (SELECT 1 FROM {table} h WHERE h.user_id = t.host_id "  # noqa: S608
        f"AND h.role = '{Role.HOST.value}' AND h.municipality_id = t.municipality_id)"
    )
    read = {"host_hosts": hosts}
    if connection.vendor == "postgresql":
        roles = ", ".join(f"'{role.value}'" for role in MUNICIPALITY_STAFF_ROLES)
        read["town_staff"] = (
            f"CASE WHEN {hosts} THEN NULL ELSE ARRAY(SELECT w.user_id FROM {table} w "  # noqa: S608
            f"WHERE w.municipality_id = t.municipality_id AND w.role IN ({roles})) END"
        )
    return read


def session_counts_read() -> dict[str, str]:
    """SQL for the read of a session's lock (over the session ``s``): its waiting list's
    length (``waiting``) and its offers waiting for confirmation (``offered``), exact under
    the lock, that ``session_offered`` and the API's sessions use rather than count again."""
    table = connection.ops.quote_name(Signup._meta.db_table)
    return {
        name: f"SELECT COUNT(*) FROM {table} c WHERE c.session_id = s.id AND c.status = '{status}'"  # noqa: S608
        for name, status in (
            ("waiting", SignupStatus.WAITLISTED.value),
            ("offered", SignupStatus.OFFERED.value),
        )
    }


def runners_of(session: Session) -> list[int]:
    """``task_runners`` of the session's task, from ``runners_read`` when the session was
    read with it: the host while they still host in its town, else the town's staff."""
    task = session.task
    hosts = getattr(session, "host_hosts", None)
    if hosts is None:
        return task_runners(task)
    if hosts and task.host_id is not None:
        return [task.host_id]
    staff = getattr(session, "town_staff", None)
    return list(staff) if staff is not None else _staff_of(task.municipality_id)


def host_notice(
    signup: Signup,
    task: Task,
    event: str,
    *,
    runners: list[int] | None = None,
    person_name: str | None = None,
    **extra,
) -> Send:
    """The notice that tells whoever runs ``task`` that ``event`` (a key of ``HOST_KINDS``)
    happened to ``signup``, for ``notification_send_many`` (``host_hears`` sends it alone).
    ``runners`` (``runners_of``) and ``person_name`` (the roster's name, else the public
    one) spare their reads when the caller knows them already."""
    kind = HOST_KINDS[event]
    context = _task_context(
        task,
        person_name=_name_of(signup) if person_name is None else person_name,
        status=signup.status,
        message=signup.message if event in ("signed_up", "requested") else "",
        reason=signup.cancel_reason if event == "cancelled" else "",
        requested_at=signup.created_at.isoformat(),
        offer_expires_at=(
            signup.offer_expires_at.isoformat()
            if signup.status == SignupStatus.OFFERED and signup.offer_expires_at
            else None
        ),
        **_session_context(signup.session),
        **extra,
    )
    if runners is None:
        runners = task_runners(task)
    return Send(
        recipients=[pk for pk in runners if pk != signup.person_id],
        kind=kind,
        topic=Topic.PARTICIPANTS,
        key=f"signup:{signup.pk}:host:{event}",
        context=context,
        url=participants_url(task, signup.session_id),
        author=signup.person_id,
        author_keys=["person_name", "message", "reason"],
    )


def host_hears(signup: Signup, task: Task, event: str, **extra) -> list[int]:
    """Tell whoever runs ``task`` that ``event`` (a key of ``HOST_KINDS``) happened to
    ``signup`` (``host_notice``). Call inside the transaction of the change."""
    return notification_send_many([host_notice(signup, task, event, **extra)])[0]


def host_hears_thanks(signup: Signup, task: Task, message: str) -> list[int]:
    """A thank-you reaches whoever runs the task, once per sign-up."""
    return notification_send(
        recipients=[pk for pk in task_runners(task) if pk != signup.person_id],
        kind=HOST_KINDS["thanked"],
        topic=Topic.PARTICIPANTS,
        key=f"signup:{signup.pk}:thanks",
        context=_task_context(
            task,
            message=message,
            person_name=_name_of(signup),
            **_session_context(signup.session),
        ),
        url=participants_url(task, signup.session_id),
        author=signup.person_id,
        author_keys=["message", "person_name"],
    )


# --- Sign-up care: watching only what is full -------------------------------------------


def watch_refusal(*, task: Task, now: datetime.datetime) -> Conflict | None:
    """Why ``task`` may not be watched now, or None: watching ("空きが出たら知らせる") is
    for a published task whose every session still taking sign-ups is full."""
    if task.status != TaskStatus.PUBLISHED:
        return Conflict(
            _("募集中のお手伝いだけを見守れます。"), code=MatchingCode.TASK_NOT_PUBLISHED
        )
    sessions = [
        session
        for session in Session.objects.filter(
            task=task, status=SessionStatus.SCHEDULED, starts_at__gt=now
        )
        if now < session.starts_at - datetime.timedelta(hours=task.signup_close_hours)
    ]
    if not sessions:
        return Conflict(
            _("申し込みを受け付けている回がないため、見守れません。"),
            code=MatchingCode.WATCH_NOTHING_TO_COME,
        )
    if any(session.taken < session.capacity for session in sessions):
        return Conflict(
            _(
                "まだ空きのある回があります。見守りは満員の回のためのものです。そのまま申し込んでください。"
            ),
            code=MatchingCode.WATCH_PLACES_LEFT,
        )
    return None


def watch_check(*, task: Task, now: datetime.datetime) -> None:
    refusal = watch_refusal(task=task, now=now)
    if refusal is not None:
        raise refusal


def signup_closed_reason(session: Session, now: datetime.datetime) -> str:
    """Why ``session`` takes no sign-up, nor a place on its waiting list, now; "" when it
    does. What the pages and the API show (``signup_create`` refuses the same)."""
    task = session.task
    if task.status != TaskStatus.PUBLISHED:
        return _("このお手伝いはいま申し込めません（%(status)s）。") % {
            "status": task.get_status_display()
        }
    if session.status != SessionStatus.SCHEDULED:
        return _("この開催回は中止になりました。")
    if now >= session.signup_closes_at():
        return _("この回の申し込みは締め切りました。")
    return ""


def offered_counts(session_ids) -> dict[int, int]:
    """{session id: its offers waiting for the person's confirmation}, in one query."""
    counts = dict.fromkeys(session_ids, 0)
    counts.update(
        Signup.objects.filter(session_id__in=list(counts), status=SignupStatus.OFFERED)
        .order_by()
        .values("session_id")
        .annotate(n=Count("id"))
        .values_list("session_id", "n")
    )
    return counts


def session_offered(session: Session, known: dict[int, int] | None = None) -> int:
    """The offers of ``session`` waiting for the person's confirmation: annotated by
    ``selectors.sessions_of``, or among ``known`` (a list's counts), else counted. Counted
    apart from the confirmed places."""
    offered = getattr(session, "offered", None)
    if offered is None and known is not None:
        offered = known.get(session.pk)
    if offered is None:
        offered = offered_counts([session.pk])[session.pk]
    return offered


def calendar_offered(signup: Signup) -> bool:
    """A calendar file is for a confirmed place in a session still to come, of a task that
    still runs: never for what is past, cancelled or completed."""
    session = signup.session
    return (
        signup.status == SignupStatus.CONFIRMED
        and session.status == SessionStatus.SCHEDULED
        and session.ends_at > timezone.now()
        and session.task.status in (TaskStatus.PUBLISHED, TaskStatus.CLOSED)
    )


# --- Requests that wait -------------------------------------------------------------------


def requests_remind(*, now: datetime.datetime | None = None, max_rows: int = 2000) -> int:
    """Requests on approval-only tasks still undecided ``MATCHING_REQUEST_REMIND_HOURS``
    after they were made, for a session still to come: whoever runs the task is reminded,
    once per request (the key), with how long it has waited. Idempotent; bounded per run
    (run by beat)."""
    now = now or timezone.now()
    since = now - datetime.timedelta(hours=settings.MATCHING_REQUEST_REMIND_HOURS)
    told = Notification.objects.filter(
        key=Concat(Value("signup:"), Cast(OuterRef("pk"), CharField()), Value(":host:waiting"))
    )
    due = list(
        Signup.objects.filter(
            status=SignupStatus.PENDING,
            created_at__lte=since,
            starts_at__gt=now,
            session__status=SessionStatus.SCHEDULED,
        )
        .exclude(Exists(told))
        .select_related("person", "session__task__municipality")
        .order_by("created_at", "pk")[:max_rows]
    )
    for signup in due:
        with transaction.atomic():
            host_hears(signup, signup.session.task, "waiting")
    return len(due)
