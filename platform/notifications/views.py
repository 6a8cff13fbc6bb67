"""The inbox page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from . import selectors, services


@login_required
def inbox(request):
    page = Paginator(selectors.inbox_of(user=request.user), 30).get_page(request.GET.get("page"))
    return render(request, "notifications/inbox.html", {"page_obj": page})


@login_required
@require_POST
def read_all(request):
    services.notifications_mark_read(user=request.user)
    return redirect("notifications:inbox")


@login_required
@require_POST
def read(request, pk: int):
    """Mark one read and follow its link."""
    notification = selectors.inbox_of(user=request.user).filter(pk=pk).first()
    if notification is None:
        return redirect("notifications:inbox")
    services.notifications_mark_read(user=request.user, ids=[pk])
    return redirect(notification.url or "notifications:inbox")
