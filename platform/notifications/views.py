"""The inbox, the preferences and the one-click unsubscribe pages."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.pages import get_or_post, personal, put_errors

from . import selectors, services, tokens
from .forms import PreferencesForm
from .models import Topic


@personal
def inbox(request):
    page = Paginator(selectors.inbox_of(user=request.user), 30).get_page(request.GET.get("page"))
    return render(request, "notifications/inbox.html", {"page_obj": page})


@personal
@require_POST
def read_all(request):
    services.notifications_mark_read(user=request.user)
    return redirect("notifications:inbox")


@personal
@require_POST
def read(request, pk: int):
    """Mark one read and follow its link."""
    notification = selectors.inbox_of(user=request.user).filter(pk=pk).first()
    if notification is None:
        return redirect("notifications:inbox")
    services.notifications_mark_read(user=request.user, ids=[pk])
    return redirect(notification.url or "notifications:inbox")


@personal
@get_or_post
def preferences(request):
    """What the person hears about, where, and how often."""
    kwargs = {
        "preferences": services.preferences_of(user=request.user),
        "language": request.user.language,
    }
    form = PreferencesForm(request.POST or None, **kwargs)
    if request.method == "POST" and form.is_valid():
        try:
            services.preferences_set(
                user=request.user, changes=form.changes(), language=form.cleaned_data["language"]
            )
        except ValidationError as exc:
            put_errors(exc, form)
        else:
            messages.success(request, _("お知らせの設定を保存しました。"))
            return redirect("notifications:settings")
    return render(
        request,
        "notifications/preferences.html",
        {"form": form, "cap": settings.NOTIFICATIONS_MATCH_WEEKLY_CAP},
    )


def _masked(email: str) -> str:
    """t***@example.jp: enough to recognise one's own address, not to learn another's."""
    local, _at, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


@csrf_exempt  # RFC 8058: the mail provider posts without a session; the token is the proof
@get_or_post
def unsubscribe(request, token: str):
    """GET shows what the link would stop and asks; only POST stops it (RFC 8058: a link
    checker or a preview that follows the link changes nothing)."""
    try:
        person, topics = tokens.unsubscribe_read(token)
    except ValidationError as exc:
        return render(
            request,
            "notifications/unsubscribe.html",
            {"error": exc.messages[0]},
            status=400,
        )
    labels = [str(Topic(t).label) for t in topics]
    if request.method == "POST":
        services.unsubscribe(token=token)
        return render(request, "notifications/unsubscribe.html", {"done": True, "topics": labels})
    return render(
        request,
        "notifications/unsubscribe.html",
        {"topics": labels, "email": _masked(person.email)},
    )
