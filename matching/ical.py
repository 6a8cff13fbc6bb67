"""An iCalendar file (RFC 5545) for a person's confirmed session."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from icalendar import Calendar, Event

from .models import Signup


def signup_ical(signup: Signup, *, url: str) -> bytes:
    session = signup.session
    task = session.task
    calendar = Calendar()
    calendar.add("prodid", "-//Furusato//matching//JA")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    event = Event()
    host = settings.SITE_URL.split("://", 1)[-1].split("/", 1)[0] or "furusato"
    event.add("uid", f"signup-{signup.pk}@{host}")
    event.add("dtstamp", timezone.now())
    event.add("dtstart", session.starts_at)
    event.add("dtend", session.ends_at)
    event.add("summary", task.title)
    where = "オンライン" if task.is_online else (task.address or task.municipality.full_name)
    event.add("location", where)
    event.add("description", f"{task.municipality.full_name}\n{url}")
    event.add("url", url)
    calendar.add_component(event)
    return calendar.to_ical()


def ical_response(signup: Signup, *, url: str) -> HttpResponse:
    response = HttpResponse(
        signup_ical(signup, url=url), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="furusato-{signup.pk}.ics"'
    return response
