"""Signing up, and the person's own sign-ups: cancel, confirm, thank, add to a calendar."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.pages import get_only, get_or_post, personal, put_errors
from core.templatetags.core_tags import jdatetime

from .. import forms, ical, selectors, services
from ..models import (
    LIVE_STATUSES,
    Attendance,
    SignupMode,
    SignupStatus,
)
from ._common import _refused

PAST_SIGNUPS_PER_PAGE = 20


def _signup_done_message(signup) -> str:
    session = signup.session
    values = {"title": session.task.title, "when": jdatetime(session.starts_at)}
    if signup.status == SignupStatus.CONFIRMED:
        return _("「%(title)s」（%(when)s）への参加が確定しました。") % values
    if signup.status == SignupStatus.WAITLISTED:
        return _(
            "「%(title)s」（%(when)s）は満員のため、キャンセル待ちの%(position)d番目になりました。"
            "空きが出たら順番にお知らせします。"
        ) % {**values, "position": selectors.waitlist_position(signup) or 1}
    return (
        _("「%(title)s」（%(when)s）に申し込みました。ヌシが承認すると参加が確定します。") % values
    )


@personal
@get_or_post
def signup_new(request, pk: int):
    session = selectors.session_get(user=request.user, pk=pk)
    task = session.task
    if request.method == "POST":
        form = forms.SignupForm(request.POST, task=task, person=request.user)
        if form.is_valid():
            try:
                signup = services.signup_create(
                    session=session,
                    person=request.user,
                    message=form.cleaned_data["message"],
                    details=form.details(),
                    confirm_overlap=request.POST.get("confirm_overlap") == "yes",
                )
            except ValidationError as error:
                put_errors(error, form)
            else:
                messages.success(request, _signup_done_message(signup))
                return redirect("matching:my_signups")
    else:
        form = forms.SignupForm(task=task, person=request.user)
    return render(
        request,
        "matching/signup_new.html",
        {
            "session": session,
            "task": task,
            "form": form,
            "existing": selectors.live_signups_of(user=request.user, task=task).get(session.pk),
            "signup_closes_at": session.signup_closes_at(),
            "cancel_closes_at": session.cancel_closes_at(),
            "first_come": task.signup_mode == SignupMode.FIRST_COME,
        },
    )


def _signup_item(signup, now, positions) -> dict:
    session = signup.session
    held = signup.status in (SignupStatus.CONFIRMED, SignupStatus.OFFERED)
    live = signup.status in LIVE_STATUSES
    started = session.starts_at <= now
    cancel_closes_at = session.cancel_closes_at()
    return {
        "signup": signup,
        "session": session,
        "task": session.task,
        "position": positions.get(signup.pk),
        "may_cancel": live and not started and (not held or now < cancel_closes_at),
        "cancel_closed": live and held and not started and now >= cancel_closes_at,
        "cancel_closes_at": cancel_closes_at if held else None,
        "may_thank": signup.status == SignupStatus.CONFIRMED
        and started
        and signup.attendance not in (Attendance.NO_SHOW, Attendance.EXCUSED),
        "thanks_form": forms.ThanksForm(auto_id=f"thanks-{signup.pk}-%s")
        if signup.status == SignupStatus.CONFIRMED and started and not signup.thanks
        else None,
    }


@personal
@get_only
def my_signups(request):
    now = timezone.now()
    mine = selectors.signups_of(user=request.user)
    coming = Q(starts_at__gt=now, status__in=LIVE_STATUSES)
    upcoming = list(mine.filter(coming).order_by("starts_at", "id"))
    page = Paginator(mine.exclude(coming), PAST_SIGNUPS_PER_PAGE).get_page(request.GET.get("page"))
    positions = selectors.waitlist_positions(upcoming)
    return render(
        request,
        "matching/my_signups.html",
        {
            "upcoming": [_signup_item(s, now, positions) for s in upcoming],
            "page": page,
            "others": [_signup_item(s, now, {}) for s in page.object_list],
        },
    )


@personal
@require_POST
def signup_confirm(request, pk: int):
    signup = selectors.signup_get(user=request.user, pk=pk)
    try:
        services.signup_confirm(signup=signup, actor=request.user)
    except ValidationError as error:
        _refused(request, error)
    else:
        messages.success(
            request,
            _("「%(title)s」（%(when)s）への参加が確定しました。")
            % {"title": signup.session.task.title, "when": jdatetime(signup.session.starts_at)},
        )
    return redirect("matching:my_signups")


@personal
@get_or_post
def signup_thanks(request, pk: int):
    signup = selectors.signup_get(user=request.user, pk=pk)
    if request.method == "POST":
        form = forms.ThanksForm(request.POST)
        if form.is_valid():
            try:
                services.signup_thank(
                    signup=signup, actor=request.user, message=form.cleaned_data["message"]
                )
            except ValidationError as error:
                put_errors(error, form)
            else:
                messages.success(request, _("ヌシにありがとうメッセージを送りました。"))
                return redirect("matching:my_signups")
    else:
        form = forms.ThanksForm(initial={"message": signup.thanks})
    return render(request, "matching/signup_thanks.html", {"signup": signup, "form": form})


@personal
@get_only
def signup_ical(request, pk: int):
    signup = selectors.signup_get(user=request.user, pk=pk)
    if signup.status != SignupStatus.CONFIRMED:
        raise Http404
    url = request.build_absolute_uri(reverse("matching:task_detail", args=[signup.session.task_id]))
    return ical.ical_response(signup, url=url)
