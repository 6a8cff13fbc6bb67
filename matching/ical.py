"""iCalendar (RFC 5545): the file of one confirmed session, and a person's subscribed feed.

The events a person holds carry the task's briefing (``TaskBriefing``): the meeting point
and its address as LOCATION, the coordinate as GEO, what to do on the day and whom to call
in DESCRIPTION. Each event's UID is stable (one per sign-up, one per hosted session), so a
calendar app updates an event that moved rather than adding it twice; the single file and
the feed give a sign-up the same UID."""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Callable

from django.conf import settings
from django.db.models import Q
from django.http import HttpResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from accounts.selectors import staff_scope

from .models import (
    HOLDING_STATUSES,
    Session,
    SessionStatus,
    Signup,
    SignupStatus,
    Task,
    TaskBriefing,
    TaskStatus,
)

# How far back a feed reaches: a month of what was done, and everything to come.
FEED_PAST_DAYS = 30
FEED_MAX_EVENTS = 2000


def _uid_host() -> str:
    return settings.SITE_URL.split("://", 1)[-1].split("/", 1)[0] or "furusato"


def _calendar(name: str | None = None) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", "-//Furusato//matching//JA")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    if name:
        calendar.add("x-wr-calname", name)
        calendar.add("x-wr-timezone", settings.TIME_ZONE)
        calendar.add(
            "refresh-interval", datetime.timedelta(hours=1), parameters={"VALUE": "DURATION"}
        )
        calendar.add("x-published-ttl", "PT1H")
    return calendar


def _briefing_of(task: Task) -> TaskBriefing | None:
    try:
        briefing = task.briefing
    except TaskBriefing.DoesNotExist:
        return None
    return None if briefing.is_empty else briefing


def _event(
    *,
    uid: str,
    session: Session,
    url: str,
    briefing: TaskBriefing | None,
    summary: str | None = None,
    note: str = "",
    tentative: bool = False,
) -> Event:
    task = session.task
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", timezone.now())
    event.add("dtstart", session.starts_at)
    event.add("dtend", session.ends_at)
    event.add("summary", summary or task.title)
    where = [] if briefing is None else [p for p in (briefing.meeting_point, briefing.address) if p]
    if not where:
        where = [
            _("オンライン") if task.is_online else (task.address or task.municipality.full_name)
        ]
    event.add("location", " ".join(where))
    if briefing is not None and briefing.latitude is not None:
        event.add("geo", (briefing.latitude, briefing.longitude))
    lines = [task.municipality.full_name]
    if note:
        lines.append(note)
    if briefing is not None:
        if briefing.instructions:
            lines += ["", _("当日の流れ・注意事項:"), briefing.instructions]
        if briefing.contact:
            lines += ["", _("当日の連絡先:") + " " + briefing.contact]
    lines += ["", url]
    event.add("description", "\n".join(lines))
    event.add("url", url)
    # An offered place not yet taken up, or a task not yet published, may still not happen.
    event.add("status", "TENTATIVE" if tentative else "CONFIRMED")
    return event


def signup_event(signup: Signup, *, url: str) -> Event:
    """The event of a place the person holds, with the task's briefing."""
    session = signup.session
    return _event(
        uid=f"signup-{signup.pk}@{_uid_host()}",
        session=session,
        url=url,
        briefing=_briefing_of(session.task),
        tentative=signup.status == SignupStatus.OFFERED,
    )


def signup_ical(signup: Signup, *, url: str) -> bytes:
    calendar = _calendar()
    calendar.add_component(signup_event(signup, url=url))
    return calendar.to_ical()


def ical_response(signup: Signup, *, url: str) -> HttpResponse:
    response = HttpResponse(
        signup_ical(signup, url=url), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="furusato-{signup.pk}.ics"'
    return response


# --- The feed -----------------------------------------------------------------------------


def _hosted_q(person) -> Q:
    """The tasks ``person`` runs: their own as a host, and the ones they posted as staff."""
    scope = staff_scope(user=person)
    q = Q(pk__in=[])
    if scope.host_municipality_codes:
        q |= Q(host=person, municipality_id__in=sorted(scope.host_municipality_codes))
    if scope.staff_municipality_codes:
        q |= Q(
            host__isnull=True,
            created_by=person,
            municipality_id__in=sorted(scope.staff_municipality_codes),
        )
    return q


def feed_calendar(person, *, url_of: Callable[[Task], str], now=None) -> Calendar:
    """Every scheduled session ``person`` holds a place in, and every scheduled session of
    the tasks they run, from ``FEED_PAST_DAYS`` ago on."""
    now = now or timezone.now()
    since = now - datetime.timedelta(days=FEED_PAST_DAYS)
    calendar = _calendar(_("ふるさとのお手伝い"))
    held = (
        Signup.objects.filter(
            person_id=person.pk,
            status__in=HOLDING_STATUSES,
            session__status=SessionStatus.SCHEDULED,
            session__starts_at__gte=since,
        )
        .exclude(session__task__status=TaskStatus.CANCELLED)
        .select_related("session__task__municipality__prefecture", "session__task__briefing")
        .order_by("session__starts_at", "pk")[:FEED_MAX_EVENTS]
    )
    for signup in held:
        calendar.add_component(signup_event(signup, url=url_of(signup.session.task)))
    hosted = (
        Session.objects.filter(
            task__in=Task.objects.filter(_hosted_q(person)), status=SessionStatus.SCHEDULED
        )
        .filter(starts_at__gte=since)
        .exclude(task__status=TaskStatus.CANCELLED)
        .select_related("task__municipality__prefecture", "task__briefing")
        .order_by("starts_at", "pk")[:FEED_MAX_EVENTS]
    )
    for session in hosted:
        calendar.add_component(
            _event(
                uid=f"session-{session.pk}@{_uid_host()}",
                session=session,
                url=url_of(session.task),
                briefing=_briefing_of(session.task),
                summary=_("【運営】%(title)s") % {"title": session.task.title},
                note=_("定員 %(capacity)d 人") % {"capacity": session.capacity},
                tentative=session.task.status not in (TaskStatus.PUBLISHED, TaskStatus.CLOSED),
            )
        )
    return calendar


def feed_response(request, person, *, url_of: Callable[[Task], str]) -> HttpResponse:
    """The feed as ``text/calendar``, with an ETag (of everything but the stamps of when it
    was made), so an app polling a feed that did not change is answered 304."""
    with translation.override(person.language or settings.LANGUAGE_CODE):
        body = feed_calendar(person, url_of=url_of).to_ical()
    stable = b"\n".join(line for line in body.splitlines() if not line.startswith(b"DTSTAMP"))
    etag = '"' + hashlib.sha256(stable).hexdigest()[:32] + '"'
    if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
        response["Content-Disposition"] = 'inline; filename="furusato.ics"'
    response["ETag"] = etag
    # The URL is a secret: kept by no shared cache; the app asks again each time.
    response["Cache-Control"] = "private, no-cache"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
