"""Reads of the board. The caller's scope is an argument wherever what is shown depends on
who asks, so that a page cannot forget it."""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass
from types import SimpleNamespace

from django.db import connection
from django.db.models import (
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import ASin, Coalesce, Cos, Least, Power, Radians, Sin, Sqrt
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.selectors import staff_scope
from core.errors import Denied
from core.language import list_join
from core.search import query_key
from places import distances
from registry import flags
from registry.models import Skill

from ..errors import MatchingCode
from ..models import (
    LIVE_STATUSES,
    PUBLIC_STATUSES,
    Attendance,
    HostApplication,
    HostApplicationStatus,
    Match,
    RevisionStatus,
    Session,
    SessionStatus,
    Signup,
    SignupStatus,
    Task,
    TaskRevision,
    TaskStatus,
    TaskWatch,
)
from .search import text_holds


class Sort:
    DATE = "date"
    NEW = "new"
    DISTANCE = "distance"
    ALL = (DATE, NEW, DISTANCE)


@dataclass(frozen=True)
class TaskQuery:
    """What a person looks for on the board. Empty values do not filter."""

    search: str = ""
    prefecture: str = ""
    municipality: str = ""
    category: str = ""
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    online: bool | None = None
    open_only: bool = False
    near: str = ""  # a municipality code: distances are measured from it
    within_km: float | None = None
    include_past: bool = False
    sort: str = Sort.DATE


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _distance_km(code: str):
    """Great-circle distance from the municipality ``code`` to each task's municipality, in
    SQL, by the same formula and radius as ``places.distances``."""
    lat0, lng0 = distances._points()[code]
    lat = Radians(F("municipality__latitude"))
    lng = Radians(F("municipality__longitude"))
    h = Power(Sin((lat - Value(lat0)) / 2), 2) + Value(math.cos(lat0)) * Cos(lat) * Power(
        Sin((lng - Value(lng0)) / 2), 2
    )
    return Value(2 * distances.EARTH_RADIUS_KM) * ASin(Least(Value(1.0), Sqrt(h)))


def _still_taking_signups(now: datetime.datetime):
    """The start a session must have after ``now`` to take sign-ups: its task's deadline is
    ``signup_close_hours`` before it. SQLite cannot multiply an interval, so the embedded
    mode asks only that the session has not begun; the task's own ``signup_closes_at``
    (its last session's deadline) still holds there."""
    if connection.vendor != "postgresql":
        return Value(now)
    return ExpressionWrapper(
        Value(now) + OuterRef("signup_close_hours") * Value(datetime.timedelta(hours=1)),
        output_field=DateTimeField(),
    )


def public_tasks() -> QuerySet[Task]:
    return Task.objects.filter(status__in=PUBLIC_STATUSES)


def task_search(query: TaskQuery, *, now: datetime.datetime | None = None) -> QuerySet[Task]:
    """Public tasks matching ``query``, sorted as asked. Every filter is on an index; free
    text is a substring of the task's search key (an index of its 1- and 2-grams on
    PostgreSQL, ``selectors.search``), so that 草刈 and くさかり find 草刈り and ひだ finds
    a 飛騨市 task."""
    now = now or timezone.now()
    qs = public_tasks().select_related("municipality__prefecture", "prefecture")
    if not query.include_past:
        qs = qs.filter(status=TaskStatus.PUBLISHED, ends_at__gt=now)
    key = query_key(query.search)
    if key:
        qs = qs.filter(text_holds(key))
    if query.prefecture:
        qs = qs.filter(prefecture_id=query.prefecture)
    if query.municipality:
        qs = qs.filter(municipality_id=query.municipality)
    if query.category:
        qs = qs.filter(category=query.category)
    if query.online is not None:
        qs = qs.filter(is_online=query.online)
    if query.date_from or query.date_to:
        sessions = Session.objects.filter(task=OuterRef("pk"), status=SessionStatus.SCHEDULED)
        if query.date_from:
            sessions = sessions.filter(starts_at__gte=_day_start(query.date_from))
        if query.date_to and query.date_to < datetime.date.max:  # the last day has no next
            sessions = sessions.filter(
                starts_at__lt=_day_start(query.date_to + datetime.timedelta(days=1))
            )
        qs = qs.filter(Exists(sessions))
    if query.open_only:
        qs = qs.filter(
            Exists(
                Session.objects.filter(
                    task=OuterRef("pk"),
                    status=SessionStatus.SCHEDULED,
                    starts_at__gt=_still_taking_signups(now),
                    taken__lt=F("capacity"),
                )
            ),
            status=TaskStatus.PUBLISHED,
            signup_closes_at__gt=now,
        )
    if query.near:
        if query.within_km is not None:
            codes = list(distances.within_km(query.near, query.within_km))
            qs = qs.filter(municipality_id__in=codes, is_online=False)
        qs = qs.annotate(distance_km=_distance_km(query.near))
    if query.sort == Sort.NEW:
        return qs.order_by("-published_at", "-id")  # public tasks all have it: the index
    if query.sort == Sort.DISTANCE and query.near:
        return qs.order_by(
            "is_online", F("distance_km").asc(nulls_last=True), F("starts_at").asc(), "id"
        )
    return qs.order_by(F("starts_at").asc(nulls_last=True), "id")


def task_visible_to(*, user) -> QuerySet[Task]:
    """Tasks the person may open: every public task, one that was published and then called
    off (its page says so; the notification of it links there), and the ones they manage."""
    return Task.objects.filter(
        Q(status__in=PUBLIC_STATUSES)
        | Q(status=TaskStatus.CANCELLED, published_at__isnull=False)
        | managed_q(user=user)
    )


def managed_q(*, user) -> Q:
    """Tasks the person manages: their municipality's (staff) or their own (host)."""
    scope = staff_scope(user=user)
    q = Q(pk__in=[])
    if scope.staff_municipality_codes:
        q |= Q(municipality_id__in=sorted(scope.staff_municipality_codes))
    if scope.host_municipality_codes:
        q |= Q(host=user, municipality_id__in=sorted(scope.host_municipality_codes))
    return q


def tasks_managed_by(*, user, municipality_code: str = "", status: str = "") -> QuerySet[Task]:
    qs = Task.objects.filter(managed_q(user=user)).select_related("municipality__prefecture")
    if municipality_code:
        qs = qs.filter(municipality_id=municipality_code)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-updated_at", "-id")


def task_get(*, user, pk: int) -> Task:
    """A task the person may see, or 404 (never telling a draft exists)."""
    task = (
        task_visible_to(user=user)
        .select_related("municipality__prefecture", "host")
        .filter(pk=pk)
        .first()
    )
    if task is None:
        raise Http404
    return task


def sessions_of(task: Task) -> QuerySet[Session]:
    """The task's sessions with the length of their waiting lists."""
    return (
        Session.objects.filter(task=task)
        .select_related("task")  # each session's deadlines read its task's hours
        .annotate(
            waiting=Count("signups", filter=Q(signups__status=SignupStatus.WAITLISTED)),
            pending=Count("signups", filter=Q(signups__status=SignupStatus.PENDING)),
            offered=Count("signups", filter=Q(signups__status=SignupStatus.OFFERED)),
        )
        .order_by("starts_at", "id")
    )


def waiting_counts(session_ids) -> dict[int, int]:
    """{session id: length of its waiting list} for these sessions, in one query."""
    counts = dict.fromkeys(session_ids, 0)
    counts.update(
        Signup.objects.filter(session_id__in=list(counts), status=SignupStatus.WAITLISTED)
        .order_by()
        .values("session_id")
        .annotate(n=Count("id"))
        .values_list("session_id", "n")
    )
    return counts


def session_get(*, user, pk: int) -> Session:
    session = (
        Session.objects.select_related("task__municipality")
        .filter(task__in=task_visible_to(user=user), pk=pk)
        .first()
    )
    if session is None:
        raise Http404
    return session


def participants_of(task: Task) -> QuerySet[Signup]:
    """Every sign-up of the task (for its host and staff), with how often the person took
    part in this municipality's tasks before: repeat participants stand out."""
    earlier = (
        Signup.objects.filter(
            person=OuterRef("person"),
            attendance=Attendance.ATTENDED,
            session__task__municipality_id=task.municipality_id,
            starts_at__lt=OuterRef("starts_at"),
        )
        .order_by()
        .values("person")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        Signup.objects.filter(session__task=task)
        .select_related("person", "session")
        .annotate(times_before=Coalesce(Subquery(earlier), 0))
        .order_by("session__starts_at", "session_id", "status", "id")
    )


def signups_of(*, user) -> QuerySet[Signup]:
    """The person's own sign-ups, the next ones first."""
    return (
        Signup.objects.filter(person=user)
        .select_related("session__task__municipality__prefecture")
        .order_by("-starts_at", "-id")
    )


def signup_get(*, user, pk: int) -> Signup:
    """The person's own sign-up, or 404."""
    signup = signups_of(user=user).filter(pk=pk).first()
    if signup is None:
        raise Http404
    return signup


def signup_managed_get(*, user, pk: int) -> Signup:
    """A sign-up of a task the person manages (host or staff), or 404."""
    signup = (
        Signup.objects.select_related("session__task__municipality", "person")
        .filter(session__task__in=Task.objects.filter(managed_q(user=user)), pk=pk)
        .first()
    )
    if signup is None:
        raise Http404
    return signup


def session_managed_get(*, user, pk: int) -> Session:
    """A session of a task the person manages (host or staff), or 404."""
    session = (
        Session.objects.select_related("task__municipality")
        .filter(task__in=Task.objects.filter(managed_q(user=user)), pk=pk)
        .first()
    )
    if session is None:
        raise Http404
    return session


def waitlist_position(signup: Signup) -> int | None:
    """1 for the next person to be promoted; ``None`` when not on a waiting list."""
    return waitlist_positions([signup]).get(signup.pk)


def live_signups_of(*, user, task: Task) -> dict[int, Signup]:
    """{session id: the person's live sign-up} for one task's page."""
    if not user.is_authenticated:
        return {}
    return {
        s.session_id: s
        for s in Signup.objects.filter(person=user, session__task=task, status__in=LIVE_STATUSES)
    }


def host_applications_pending(*, municipality_code: str) -> QuerySet[HostApplication]:
    return (
        HostApplication.objects.filter(
            municipality_id=municipality_code, status=HostApplicationStatus.PENDING
        )
        .select_related("person", "municipality__prefecture")
        .order_by("applied_at", "id")
    )


def host_applications_of(*, user) -> QuerySet[HostApplication]:
    return HostApplication.objects.filter(person=user).select_related(
        "person", "municipality__prefecture"
    )


def sessions_in_month(query: TaskQuery, *, month: datetime.date) -> QuerySet[Session]:
    """The scheduled sessions of the tasks matching ``query`` in the month of ``month``."""
    first = month.replace(day=1)
    following = (first + datetime.timedelta(days=32)).replace(day=1)
    tasks = task_search(query).order_by().values("pk")
    return (
        Session.objects.filter(
            task__in=tasks,
            status=SessionStatus.SCHEDULED,
            starts_at__gte=_day_start(first),
            starts_at__lt=_day_start(following),
        )
        .select_related("task__municipality")
        .order_by("starts_at", "id")
    )


def task_counts_by_municipality(query: TaskQuery) -> dict[str, dict]:
    """{municipality code: {"n": number of matching tasks, "pk", "title": the first one's}}
    for the points of the map, in one query (a town with one task links to it)."""
    rows = (
        task_search(query)
        .order_by()
        .values("municipality_id")
        .annotate(n=Count("pk"), first=Min("pk"), title=Min("title"))
    )
    return {
        row["municipality_id"]: {"n": row["n"], "pk": row["first"], "title": row["title"]}
        for row in rows
    }


def task_card_facts(tasks, *, now: datetime.datetime | None = None) -> dict[int, dict[str, object]]:
    """{task id: its next session's start, places left and sessions to come} for a page of
    tasks on the board, in one query whatever the number of tasks."""
    now = now or timezone.now()
    rows = (
        Session.objects.filter(
            task_id__in=[task.pk for task in tasks],
            status=SessionStatus.SCHEDULED,
            starts_at__gt=now,
        )
        .order_by()
        .values("task_id")
        .annotate(
            next_starts_at=Min("starts_at"),
            places_left=Sum(F("capacity") - F("taken")),
            sessions=Count("pk"),
        )
    )
    return {row.pop("task_id"): row for row in rows}


def waitlist_positions(signups) -> dict[int, int]:
    """{sign-up id: place on its waiting list (1 = next)} for the waitlisted ones among
    ``signups``, in one query."""
    waiting = [s.pk for s in signups if s.status == SignupStatus.WAITLISTED]
    if not waiting:
        return {}
    ahead = (
        Signup.objects.filter(
            session_id=OuterRef("session_id"),
            status=SignupStatus.WAITLISTED,
            pk__lt=OuterRef("pk"),
        )
        .order_by()
        .values("session_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rows = (
        Signup.objects.filter(pk__in=waiting)
        .annotate(ahead=Coalesce(Subquery(ahead), 0))
        .values_list("pk", "ahead")
    )
    return {pk: n + 1 for pk, n in rows}


# --- Recommendations and watching ---------------------------------------------------------


def recommendations_of(*, user, now: datetime.datetime | None = None) -> QuerySet[Match]:
    """The person's matches on tasks still taking sign-ups that they have not signed up
    for, best first."""
    now = now or timezone.now()
    return (
        Match.objects.filter(
            person=user, task__status=TaskStatus.PUBLISHED, task__signup_closes_at__gt=now
        )
        .exclude(
            task__in=Signup.objects.filter(person=user, status__in=LIVE_STATUSES).values(
                "session__task_id"
            )
        )
        .select_related("task__municipality__prefecture", "task__prefecture")
        .order_by("-score", "task__starts_at", "task_id")
    )


def is_watching(*, user, task: Task) -> bool:
    return bool(user.is_authenticated) and TaskWatch.objects.filter(task=task, person=user).exists()


# --- Revisions of published tasks --------------------------------------------------------


def revision_get(*, user, pk: int) -> TaskRevision:
    """A revision of a task the person manages (its host, the town's staff), or 404."""
    revision = (
        TaskRevision.objects.select_related("task__municipality", "task__host", "author")
        .filter(task__in=Task.objects.filter(managed_q(user=user)), pk=pk)
        .first()
    )
    if revision is None:
        raise Http404
    return revision


def revisions_of(task: Task) -> QuerySet[TaskRevision]:
    """A task's revisions, newest first (the pending one, if any, among them)."""
    return TaskRevision.objects.filter(task=task).select_related("author", "decided_by")


def revision_pending_of(task: Task) -> TaskRevision | None:
    return revisions_of(task).filter(status=RevisionStatus.PENDING).first()


def revisions_pending(*, municipality_code: str) -> QuerySet[TaskRevision]:
    """The hosts' changes waiting for this town's staff, oldest first."""
    return (
        TaskRevision.objects.filter(
            status=RevisionStatus.PENDING, task__municipality_id=municipality_code
        )
        .select_related("task__municipality", "author")
        .order_by("created_at", "id")
    )


def _shown(field, value) -> str:
    """A field's value as a person reads it, for a diff."""
    if value is None or value == "":
        return "—"
    if field.name == "skills":
        return list_join(flags.labels_of(Skill, value)) or "—"
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return _("はい") if value else _("いいえ")
    return str(value)


def revision_diff(revision: TaskRevision) -> dict:
    """What a revision changes, against the task as it is now: ``fields`` (name, label,
    before and after, as stored and as shown), ``photo`` (the urls) and ``sessions``
    (``before`` is None for a new session)."""
    task = revision.task
    fields = []
    for name, after in revision.changes.items():
        field = Task._meta.get_field(name)
        before = getattr(task, name)
        fields.append(
            {
                "name": name,
                "label": str(field.verbose_name),
                "before": before,
                "after": after,
                "before_text": _shown(field, before),
                "after_text": _shown(field, after),
            }
        )
    photo = None
    if revision.photo:
        photo = {"before": task.photo.url if task.photo else None, "after": revision.photo.url}
    wanted = [entry["session"] for entry in revision.sessions if entry["session"] is not None]
    current = {s.pk: s for s in Session.objects.filter(task=task, pk__in=wanted)} if wanted else {}
    sessions = []
    for entry in revision.sessions:
        after = SimpleNamespace(
            starts_at=datetime.datetime.fromisoformat(entry["starts_at"]),
            ends_at=datetime.datetime.fromisoformat(entry["ends_at"]),
            capacity=entry["capacity"],
        )
        session = current.get(entry["session"]) if entry["session"] is not None else None
        before = (
            None
            if session is None
            else SimpleNamespace(
                starts_at=session.starts_at, ends_at=session.ends_at, capacity=session.capacity
            )
        )
        sessions.append({"session": entry["session"], "before": before, "after": after})
    return {"fields": fields, "photo": photo, "sessions": sessions}


# --- Who runs a task ---------------------------------------------------------------


def may_manage_task(user: User, task: Task) -> bool:
    """Staff of the task's municipality, or its host while they still host there."""
    scope = staff_scope(user=user)
    if scope.manages_municipality(task.municipality_id):
        return True
    return task.host_id == user.pk and scope.hosts_for(task.municipality_id)


def check_manage(actor: User, task: Task) -> None:
    """Refuse (403) anyone but the task's managers."""
    if not may_manage_task(actor, task):
        raise Denied(
            _("このお手伝いを管理する権限がありません。"), code=MatchingCode.NOT_TASK_MANAGER
        )
