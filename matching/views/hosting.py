"""Sign-up care on the person's side: cancelling asks first, and takes an optional reason
for the host."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.forms import NormalisedInputMixin
from core.pages import get_or_post, personal, put_errors
from core.templatetags.core_tags import jdatetime

from .. import selectors, services
from ..models import HOLDING_STATUSES, LIVE_STATUSES, SignupStatus

# The value of the confirmation button: a POST without it cancels nothing.
CONFIRMED = "yes"


class CancelForm(NormalisedInputMixin, forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("キャンセルの理由（任意・ヌシに伝わります）"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("例：体調を崩したため。書かなくてもキャンセルできます。"),
    )


def _may_cancel(signup, now) -> tuple[bool, str]:
    """Whether the page offers the button, and if not, why (the service decides)."""
    session = signup.session
    if signup.status not in LIVE_STATUSES:
        return False, _("この申込はすでに終わっています（%(status)s）。") % {
            "status": signup.get_status_display()
        }
    if session.starts_at <= now:
        return False, _("始まった回はキャンセルできません。ヌシに直接連絡してください。")
    if signup.status in HOLDING_STATUSES and now >= session.cancel_closes_at():
        return False, _(
            "キャンセルの締め切りを過ぎました。参加できなくなったときは、ヌシに直接連絡してください。"
        )
    return True, ""


@personal
@get_or_post
def signup_cancel(request, pk: int):
    """GET: what cancelling means, and the optional reason. POST with the confirmation:
    cancel. A POST without it (a one-tap form of old) shows the page and cancels nothing."""
    signup = selectors.signup_get(user=request.user, pk=pk)
    session = signup.session
    form = CancelForm(request.POST or None)
    if request.method == "POST" and request.POST.get("confirm") == CONFIRMED and form.is_valid():
        try:
            services.signup_cancel(
                signup=signup, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            put_errors(error, form)
        else:
            messages.success(
                request,
                _("「%(title)s」（%(when)s）の申込をキャンセルしました。")
                % {"title": session.task.title, "when": jdatetime(session.starts_at)},
            )
            return redirect("matching:my_signups")
    elif request.method == "POST" and request.POST.get("confirm") != CONFIRMED:
        form = CancelForm(initial={"reason": request.POST.get("reason", "")})
    may_cancel, why_not = _may_cancel(signup, timezone.now())
    return render(
        request,
        "matching/hosting_signup_cancel.html",
        {
            "signup": signup,
            "session": session,
            "task": session.task,
            "form": form,
            "may_cancel": may_cancel,
            "why_not": why_not,
            "confirm_value": CONFIRMED,
            "held": signup.status in HOLDING_STATUSES,
            "waitlisted": signup.status == SignupStatus.WAITLISTED,
            "someone_waits": bool(selectors.waiting_counts([session.pk])[session.pk]),
        },
    )
