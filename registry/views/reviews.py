"""Staff decisions on premium applications and reported activities, and the evidence.

The decision views stay as they are until the shared review queue replaces them.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts import services as account_services
from accounts.selectors import managed_object, staff_scope
from core.pages import get_only, put_errors

from .. import forms, selectors, services
from ..models import Activity, PremiumApplication
from .staff import _staff_municipality, staff_page


def _with_forms(request, queue, *, make_form, bound_pk=None, bound_form=None) -> list:
    """(item, its decision form) for a review queue. The form just sent keeps its errors;
    if its item has left the queue meanwhile, its errors become messages."""
    queue = list(queue)
    if bound_form is not None and bound_pk not in {item.pk for item in queue}:
        for error in bound_form.non_field_errors():
            messages.error(request, error)
    return [(item, bound_form if item.pk == bound_pk else make_form(item)) for item in queue]


def _premium_queue_page(request, municipality, *, bound_pk=None, bound_form=None):
    """The queue shows names for identity checks: every view is audited (by the service)."""
    pairs = _with_forms(
        request,
        services.premium_queue_read(viewer=request.user, municipality=municipality),
        make_form=lambda application: forms.DecisionForm(prefix=f"application-{application.pk}"),
        bound_pk=bound_pk,
        bound_form=bound_form,
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
    form = forms.DecisionForm(request.POST, prefix=f"application-{application.pk}")
    if form.is_valid():
        try:
            services.premium_decide(
                application=application,
                decided_by=request.user,
                approve=form.approve,
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            put_errors(error, form)
        else:
            messages.success(
                request,
                _("申請を承認しました。") if form.approve else _("申請を却下しました。"),
            )
            return redirect("registry:premium_queue", municipality.code)
    return _premium_queue_page(request, municipality, bound_pk=application.pk, bound_form=form)


def _activity_queue_page(request, municipality, *, bound_pk=None, bound_form=None):
    pairs = _with_forms(
        request,
        services.activity_queue_read(viewer=request.user, municipality=municipality),
        make_form=lambda activity: forms.ActivityDecisionForm(prefix=f"activity-{activity.pk}"),
        bound_pk=bound_pk,
        bound_form=bound_form,
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
    form = forms.ActivityDecisionForm(request.POST, prefix=f"activity-{activity.pk}")
    if form.is_valid():
        try:
            services.activity_review(
                activity=activity,
                reviewer=request.user,
                accept=form.approve,
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            put_errors(error, form)
        else:
            messages.success(
                request,
                _("活動を認めました。") if form.approve else _("活動を認めませんでした。"),
            )
            return redirect("registry:activity_queue", municipality.code)
    return _activity_queue_page(request, municipality, bound_pk=activity.pk, bound_form=form)


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
