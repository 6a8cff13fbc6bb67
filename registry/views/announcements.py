"""Announcements staff write to their registrants."""

from __future__ import annotations

from django import forms as django_forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.forms import NormalisedInputMixin
from core.pages import get_or_post, put_errors

from .. import selectors, services
from .staff import _staff_municipality, staff_page

# --- Announcements -----------------------------------------------------------------------


ANNOUNCEMENTS_PER_PAGE = 20


class AnnouncementForm(NormalisedInputMixin, django_forms.Form):
    """What staff write to their registrants; the service checks it again."""

    title = django_forms.CharField(
        label=gettext_lazy("件名"),
        max_length=100,
        help_text=gettext_lazy("メールの件名にもなります。"),
        error_messages={"required": gettext_lazy("件名を書いてください。")},
    )
    body = django_forms.CharField(
        label=gettext_lazy("本文"),
        max_length=5000,
        widget=django_forms.Textarea(attrs={"rows": 10}),
        error_messages={"required": gettext_lazy("本文を書いてください。")},
    )


@staff_page
@get_or_post
def announcements(request, code: str):
    """A town's staff write to the registrants who agreed to hear from the town, and see
    what they sent before (being sent, or sent, and to how many)."""
    municipality = _staff_municipality(request, code)
    if request.method == "POST":
        form = AnnouncementForm(request.POST)
        if form.is_valid():
            try:
                announcement = services.announcement_create(
                    municipality=municipality,
                    actor=request.user,
                    title=form.cleaned_data["title"],
                    body=form.cleaned_data["body"],
                )
            except ValidationError as error:
                put_errors(error, form)
            else:
                messages.success(
                    request,
                    _(
                        "お知らせ「%(title)s」の配信を始めました。"
                        "受け取りに同意した登録者に順に届きます。"
                    )
                    % {"title": announcement.title},
                )
                return redirect("registry:announcements", municipality.code)
    else:
        form = AnnouncementForm()
    page = Paginator(
        selectors.announcements_of(municipality=municipality), ANNOUNCEMENTS_PER_PAGE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "registry/staff/announcements.html",
        {
            "municipality": municipality,
            "form": form,
            "audience": selectors.announcement_audience(municipality=municipality).count(),
            "page": page,
        },
    )
