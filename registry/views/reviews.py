"""Staff decisions on premium applications and reported activities, and the evidence.

The decisions go through the one review queue (``accounts.review``).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts import review
from accounts import services as account_services
from accounts.selectors import managed_object, staff_scope
from core.pages import get_only

from .. import selectors, services
from ..models import Activity, PremiumApplication
from .staff import _staff_municipality, staff_page


def _premium_queue_page(request, municipality, *, bound=None, bound_pk=None):
    """The queue shows names for identity checks: every view is audited (by the service)."""
    pairs = review.with_forms(
        request,
        services.PREMIUM_APPLICATIONS,
        services.premium_queue_read(viewer=request.user, municipality=municipality),
        bound=bound,
        bound_pk=bound_pk,
    )
    items = [{"application": application, "form": form} for application, form in pairs]
    return render(
        request,
        "registry/staff/premium_queue.html",
        {"municipality": municipality, "items": items},
    )


@staff_page
@get_only
def premium_queue(request, code: str):
    return _premium_queue_page(request, _staff_municipality(request, code))


@staff_page
@require_POST
def premium_decide(request, pk: int):
    application = managed_object(
        PremiumApplication.objects.select_related("registration__municipality__prefecture"),
        user=request.user,
        pk=pk,
        municipality_field="registration__municipality",
    )
    municipality = application.registration.municipality
    queue = services.PREMIUM_APPLICATIONS
    form = review.ReviewForm(request.POST, queue=queue, item=application)
    if review.decide_from_page(
        request,
        queue,
        application,
        form,
        done=lambda approve: _("申請を承認しました。") if approve else _("申請を却下しました。"),
    ):
        return redirect("registry:premium_queue", municipality.code)
    return _premium_queue_page(request, municipality, bound=form, bound_pk=application.pk)


def _activity_queue_page(request, municipality, *, bound=None, bound_pk=None):
    pairs = review.with_forms(
        request,
        services.ACTIVITIES,
        services.activity_queue_read(viewer=request.user, municipality=municipality),
        bound=bound,
        bound_pk=bound_pk,
    )
    items = [
        {"activity": activity, "form": form, "name": selectors.shared_name(activity.registration)}
        for activity, form in pairs
    ]
    return render(
        request,
        "registry/staff/activity_queue.html",
        {"municipality": municipality, "items": items},
    )


@staff_page
@get_only
def activity_queue(request, code: str):
    return _activity_queue_page(request, _staff_municipality(request, code))


@staff_page
@require_POST
def activity_review(request, pk: int):
    activity = managed_object(
        Activity.objects.select_related("registration__municipality__prefecture"),
        user=request.user,
        pk=pk,
        municipality_field="registration__municipality",
    )
    municipality = activity.registration.municipality
    queue = services.ACTIVITIES
    form = review.ReviewForm(request.POST, queue=queue, item=activity)
    if review.decide_from_page(
        request,
        queue,
        activity,
        form,
        done=lambda approve: _("活動を認めました。") if approve else _("活動を認めませんでした。"),
    ):
        return redirect("registry:activity_queue", municipality.code)
    return _activity_queue_page(request, municipality, bound=form, bound_pk=activity.pk)


@login_required
@never_cache
@get_only
def activity_evidence(request, pk: int):
    """The evidence file: to the person who sent it, and (audited) to the town's staff."""
    activity = get_object_or_404(
        Activity.objects.select_related("registration__municipality"), pk=pk
    )
    registration = activity.registration
    if not activity.evidence:
        raise Http404
    if registration.person_id != request.user.pk:
        if not staff_scope(user=request.user).manages_municipality(registration.municipality_id):
            raise Http404
        with transaction.atomic():
            account_services.audit_record(
                actor=request.user,
                action="activity.evidence.read",
                target=activity,
                municipality=registration.municipality,
                detail={"registration": registration.pk},
            )
    try:
        handle = activity.evidence.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    suffix = activity.evidence.name.rsplit(".", 1)[-1].lower()
    return FileResponse(
        handle, as_attachment=suffix == "pdf", filename=f"evidence-{activity.pk}.{suffix}"
    )
