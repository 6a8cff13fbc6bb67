"""Hosts (ヌシ): their home page and the application to host."""

from __future__ import annotations

from collections import defaultdict

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.selectors import staff_scope
from core.pages import get_only, get_or_post, personal, put_errors
from core.text import nfkc
from places.forms import municipality_by_code, municipality_picker
from places.models import Municipality
from places.names import place_name

from .. import forms, selectors, services
from ..models import (
    TaskStatus,
)

HOST_TASKS_LIMIT = 200


STATUS_ORDER = [
    TaskStatus.DRAFT,
    TaskStatus.IN_REVIEW,
    TaskStatus.PUBLISHED,
    TaskStatus.CLOSED,
    TaskStatus.COMPLETED,
    TaskStatus.CANCELLED,
]


def _by_status(tasks) -> list[dict]:
    groups = defaultdict(list)
    for task in tasks:
        groups[task.status].append(task)
    return [
        {"status": status, "label": status.label, "tasks": groups[status]}
        for status in STATUS_ORDER
        if groups[status]
    ]


@personal
@get_only
def host_home(request):
    scope = staff_scope(user=request.user)
    codes = sorted(scope.host_municipality_codes | scope.staff_municipality_codes)
    tasks = list(
        selectors.tasks_managed_by(user=request.user).filter(host=request.user)[:HOST_TASKS_LIMIT]
    )
    return render(
        request,
        "matching/host_home.html",
        {
            "applications": list(selectors.host_applications_of(user=request.user)[:50]),
            "groups": _by_status(tasks),
            "towns": [
                {
                    "municipality": municipality,
                    "is_staff": scope.manages_municipality(municipality.code),
                }
                for municipality in Municipality.objects.filter(code__in=codes)
                .select_related("prefecture")
                .order_by("code")
            ],
        },
    )


@personal
@get_or_post
def host_apply(request):
    chosen = None
    choice_error = ""
    if request.method == "POST":
        form = forms.HostApplyForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                application = services.host_apply(
                    person=request.user,
                    municipality=data["municipality"],
                    organisation=data["organisation"],
                    message=data["message"],
                )
            except ValidationError as error:
                put_errors(error, form)
            else:
                messages.success(
                    request,
                    _(
                        "%(name)s にヌシの申請をしました。"
                        "まちの職員が審査して、結果をお知らせします。"
                    )
                    % {"name": place_name(application.municipality)},
                )
                return redirect("matching:host_home")
        chosen = form.cleaned_data.get("municipality") if hasattr(form, "cleaned_data") else None
    else:
        code = nfkc(request.GET.get("municipality", "")).strip()[:20]
        form = forms.HostApplyForm(initial={"municipality": code})
        if code:
            try:
                chosen = municipality_by_code(code)
            except ValidationError as error:
                choice_error = error.messages[0]
    search, matches = municipality_picker(request)
    return render(
        request,
        "matching/host_apply.html",
        {
            "form": form,
            "search": search,
            "matches": matches,
            "chosen": chosen,
            "choice_error": choice_error,
            "hosts_for": staff_scope(user=request.user).host_municipality_codes,
        },
    )
