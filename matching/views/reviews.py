"""The staff's decisions on pages: host applications and hosts' revisions of published
tasks (and the host's page of a revision), through the one review queue
(``accounts.review``)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import review
from accounts.selectors import managed_object, staff_scope
from core.pages import get_only, personal

from .. import selectors, services
from ..models import (
    HostApplication,
)
from ._common import _refused, _staff_municipality


def _host_queue_page(request, municipality, *, bound=None, bound_pk=None):
    pairs = review.with_forms(
        request,
        services.HOST_APPLICATIONS,
        services.host_queue_read(viewer=request.user, municipality=municipality),
        bound=bound,
        bound_pk=bound_pk,
    )
    items = [{"application": application, "form": form} for application, form in pairs]
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
    queue = services.HOST_APPLICATIONS
    form = review.ReviewForm(request.POST, queue=queue, item=application)
    name = application.person.public_name or _("（名前の登録なし）")

    def done(approve: bool) -> str:
        if approve:
            return _("%(name)s さんをヌシとして承認しました。") % {"name": name}
        return _("%(name)s さんの申請を承認しませんでした。") % {"name": name}

    if review.decide_from_page(request, queue, application, form, done=done):
        return redirect("matching:host_applications", municipality.code)
    return _host_queue_page(request, municipality, bound=form, bound_pk=application.pk)


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
            "form": form or review.ReviewForm(queue=services.TASK_REVISIONS),
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
    form = review.ReviewForm(request.POST, queue=services.TASK_REVISIONS)
    if review.decide_from_page(
        request,
        services.TASK_REVISIONS,
        revision,
        form,
        done=lambda approve: (
            _("変更を承認し、公開中のお手伝いに反映しました。")
            if approve
            else _("変更を却下しました。ヌシに理由を伝えます。")
        ),
    ):
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
