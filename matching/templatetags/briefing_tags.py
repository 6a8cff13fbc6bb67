"""The briefing for participants and the calendar feed, where shared templates show them:
each tag reads what the viewer may see, so the shared template needs one line.

``signup_briefing`` is for the plain-text notifications (the confirmation e-mail): it reads
the briefing when the message is rendered (sent, or opened in the inbox), and only while the
sign-up still holds a place."""

from __future__ import annotations

from django import template
from django.urls import reverse

from .. import selectors, services

register = template.Library()


@register.inclusion_tag("matching/includes/briefing_panel.html", takes_context=True)
def briefing_panel(context, task):
    """The briefing on the task's page: for its managers (with the link to edit it) and for
    people holding a place; nothing for anyone else."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"shown": False}
    manages = services.may_manage_task(user, task)
    if manages:
        briefing = selectors.briefing_of(task)
        return {"shown": True, "manages": True, "task": task, "briefing": briefing}
    briefing = selectors.briefing_shown_to(user=user, task=task)
    return {"shown": briefing is not None, "manages": False, "task": task, "briefing": briefing}


@register.inclusion_tag("matching/includes/briefing_email.txt")
def signup_briefing(signup_id=None):
    briefing = selectors.briefing_of_signup(signup_id) if signup_id else None
    return {"briefing": briefing}


@register.inclusion_tag("matching/includes/briefing_email.txt")
def task_briefing(task_id=None):
    """The task's briefing as it is now, for the notice that it changed (sent only to the
    people holding a place)."""
    briefing = selectors.briefing_of_task_id(task_id) if task_id else None
    return {"briefing": briefing}


@register.inclusion_tag("matching/includes/feed_panel.html", takes_context=True)
def calendar_feed_panel(context):
    """The person's calendar feed on "my sign-ups": its URLs and the buttons."""
    request = context["request"]
    feed = selectors.calendar_feed_of(person=request.user)
    if feed is None:
        return {"feed": None, "csrf_token": context.get("csrf_token")}
    path = reverse("matching:calendar_feed", args=[feed.token])
    https_url = request.build_absolute_uri(path)
    return {
        "feed": feed,
        "https_url": https_url,
        "webcal_url": "webcal://" + https_url.split("://", 1)[1],
        "csrf_token": context.get("csrf_token"),
    }
