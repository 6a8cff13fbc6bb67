"""A person's calendar feed: making and remaking its secret URL, and the feed itself,
which calendar apps fetch without signing in (the token in the URL is the key)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from core.pages import personal

from .. import ical, selectors, services


@personal
@require_POST
def calendar_feed_create(request):
    services.calendar_feed_get(person=request.user)
    messages.success(request, _("カレンダー購読用のURLを作りました。"))
    return redirect(reverse("matching:my_signups") + "#calendar-feed")


@personal
@require_POST
def calendar_feed_revoke(request):
    services.calendar_feed_revoke(person=request.user)
    messages.success(
        request,
        _("購読用のURLを作り直しました。古いURLはもう使えません。新しいURLを登録してください。"),
    )
    return redirect(reverse("matching:my_signups") + "#calendar-feed")


@require_safe
def calendar_feed(request, token: str):
    feed = selectors.calendar_feed_by_token(token)
    if feed is None:
        raise Http404
    return ical.feed_response(
        request,
        feed.person,
        url_of=lambda task: request.build_absolute_uri(
            reverse("matching:task_detail", args=[task.pk])
        ),
    )
