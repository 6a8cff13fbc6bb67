"""The staff's decisions on pages: host applications and hosts' revisions of published
tasks (and the host's page of a revision). Kept together, as they are, until a review
queue shared by the rooms replaces them."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.selectors import staff_scope
from core.pages import get_only, personal, put_errors
from registry.selectors import managed_object

from .. import forms, selectors, services
from ..models import (
    HostApplication,
)
from ._common import _refused, _staff_municipality


def _host_queue_page(request, municipality, *, bound_pk=None, bound_form=None):
    """The queue; the form just sent keeps its errors, and if its application has left
    the queue meanwhile, its errors become messages."""
    queue = list(services.host_queue_read(viewer=request.user, municipality=municipality))
    if bound_form is not None and bound_pk not in {a.pk for a in queue}:
        for error in bound_form.non_field_errors():
            messages.error(request, error)
    items = [
        {
            "application": application,
            "form": bound_form
            if application.pk == bound_pk
            else forms.HostDecisionForm(prefix=f"application-{application.pk}"),
        }
        for application in queue
    ]
    return render(
        request,
        "matching/staff/host_applications.html",
        {"municipality": municipality, "items": items},
    )


@personal
@get_only
def host_applications(request, code: str):
    return _host_queue_page(request, _staff_municipality(request, code))


@personal
@require_POST
def host_application_decide(request, pk: int):
    application = managed_object(
        HostApplication.objects.select_related("municipality__prefecture", "person"),
        user=request.user,
        pk=pk,
        municipality_field="municipality",
    )
    municipality = application.municipality
    form = forms.HostDecisionForm(request.POST, prefix=f"application-{application.pk}")
    if form.is_valid():
        try:
            services.host_application_decide(
                application=application,
                actor=request.user,
                approve=form.approve,
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            put_errors(error, form)
        else:
            name = application.person.public_name or _("（名前の登録なし）")
            if form.approve:
                done = _("%(name)s さんをヌシとして承認しました。") % {"name": name}
            else:
                done = _("%(name)s さんの申請を承認しませんでした。") % {"name": name}
            messages.success(request, done)
            return redirect("matching:host_applications", municipality.code)
    return _host_queue_page(request, municipality, bound_pk=application.pk, bound_form=form)


def _revision_page(request, revision, *, form=None, status: int = 200):
    task = revision.task
    is_staff = staff_scope(user=request.user).manages_municipality(task.municipality_id)
    own = request.user.pk in (revision.author_id, task.host_id)
    return render(
        request,
        "matching/revision_detail.html",
        {
            "revision": revision,
            "task": task,
            "diff": selectors.revision_diff(revision),
            "may_decide": revision.is_pending and is_staff and not own,
            "may_withdraw": revision.is_pending and own,
            "form": form or forms.RevisionDecisionForm(),
        },
        status=status,
    )


@personal
@get_only
def revision_detail(request, pk: int):
    return _revision_page(request, selectors.revision_get(user=request.user, pk=pk))


@personal
@require_POST
def revision_decide(request, pk: int):
    revision = selectors.revision_get(user=request.user, pk=pk)
    form = forms.RevisionDecisionForm(request.POST)
    if form.is_valid():
        try:
            services.task_revision_decide(
                revision=revision,
                actor=request.user,
                approve=form.approve,
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            put_errors(error, form)
        else:
            if form.approve:
                messages.success(request, _("変更を承認し、公開中のお手伝いに反映しました。"))
            else:
                messages.success(request, _("変更を却下しました。ヌシに理由を伝えます。"))
            return redirect("matching:staff_tasks", revision.task.municipality_id)
    return _revision_page(request, revision, form=form, status=400)


@personal
@require_POST
def revision_withdraw(request, pk: int):
    revision = selectors.revision_get(user=request.user, pk=pk)
    try:
        services.task_revision_withdraw(revision=revision, actor=request.user)
    except ValidationError as error:
        _refused(request, error)
        return redirect("matching:revision_detail", revision.pk)
    messages.success(request, _("変更を取り下げました。公開中の内容はそのままです。"))
    return redirect("matching:task_detail", revision.task_id)
