"""The town's staff: their list of the town's tasks."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import render

from core.pages import get_only, personal

from .. import forms, selectors
from ..models import (
    TaskStatus,
)
from ._common import _staff_municipality

STAFF_TASKS_PER_PAGE = 30


@personal
@get_only
def staff_tasks(request, code: str):
    municipality = _staff_municipality(request, code)
    in_review = list(
        selectors.tasks_managed_by(
            user=request.user, municipality_code=municipality.code, status=TaskStatus.IN_REVIEW
        ).order_by("submitted_at", "id")
    )
    others = selectors.tasks_managed_by(
        user=request.user, municipality_code=municipality.code
    ).exclude(status=TaskStatus.IN_REVIEW)
    page = Paginator(others, STAFF_TASKS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "matching/staff/tasks.html",
        {
            "municipality": municipality,
            "in_review": [
                {"task": task, "return_form": forms.ReturnForm(auto_id=f"return-{task.pk}-%s")}
                for task in in_review
            ],
            "page": page,
            "pending_hosts": selectors.host_applications_pending(
                municipality_code=municipality.code
            ).count(),
            "revisions": [
                {"revision": revision, "diff": selectors.revision_diff(revision)}
                for revision in selectors.revisions_pending(municipality_code=municipality.code)[
                    :STAFF_TASKS_PER_PAGE
                ]
            ],
        },
    )
