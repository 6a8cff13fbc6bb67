"""One of the person's registrations: consent, withdrawing, premium and activities."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.pages import get_only, get_or_post, personal, put_errors
from places.names import place_name

from .. import forms, selectors, services
from ..models import CONSENT_FIELDS, EventKind, ReviewStatus

# --- One registration --------------------------------------------------------------------


CONSENT_LABELS = {name: field.label for name, field in forms.ConsentForm.base_fields.items()}


def _consent_history(registration) -> list[dict]:
    """What the person agreed to at registration and after each change, newest first."""
    labels = CONSENT_LABELS
    history = []
    for event in registration.events.filter(
        kind__in=[EventKind.REGISTERED, EventKind.CONSENT_CHANGED]
    ).order_by("-at", "-id"):
        consent = event.detail.get("consent") or {}
        history.append(
            {
                "at": event.at,
                "kind": event.get_kind_display(),
                "given": [str(labels[name]) for name in CONSENT_FIELDS if consent.get(name)],
                "changed": [str(labels[name]) for name in event.detail.get("changed", [])],
            }
        )
    return history


def _detail(request, registration, *, consent_form=None, status: int = 200):
    activities = list(selectors.activities_of(registration=registration))
    applications = list(registration.premium_applications.order_by("-applied_at", "-id"))
    pending = next((a for a in applications if a.status == ReviewStatus.PENDING), None)
    last_decided = next(
        (a for a in applications if a.status in (ReviewStatus.APPROVED, ReviewStatus.REFUSED)),
        None,
    )
    since = registration.premium_since or timezone.localdate().replace(month=1, day=1)
    designated_done = sum(
        1
        for activity in activities
        if activity.designated
        and activity.status == ReviewStatus.APPROVED
        and activity.occurred_on >= since
    )
    return render(
        request,
        "registry/registration_detail.html",
        {
            "registration": registration,
            "consent_form": consent_form or forms.ConsentForm(initial=registration.consent()),
            "consent_history": _consent_history(registration),
            "perks": list(selectors.perks_for(registration=registration))
            if registration.is_active
            else [],
            "activities": activities,
            "pending_application": pending,
            "last_decided": last_decided,
            "slots_used": selectors.premium_slots_used(person=request.user),
            "premium_limit": settings.REGISTRY_PREMIUM_LIMIT,
            "min_activities": settings.REGISTRY_PREMIUM_MIN_ACTIVITIES,
            "designated_done": designated_done,
            "designated_since": since,
        },
        status=status,
    )


def _own_registration(request, pk: int):
    return selectors.registration_of(person=request.user, pk=pk)


@personal
@get_only
def registration_detail(request, pk: int):
    return _detail(request, _own_registration(request, pk))


@personal
@require_POST
def consent(request, pk: int):
    registration = _own_registration(request, pk)
    form = forms.ConsentForm(request.POST)
    if form.is_valid():
        try:
            services.consent_change(registration=registration, actor=request.user, **form.consent())
        except ValidationError as error:
            put_errors(error, form)
        else:
            messages.success(request, _("同意の内容を変更しました。変更は履歴に残ります。"))
            return redirect(reverse("registry:registration_detail", args=[pk]) + "#consent")
    return _detail(request, registration, consent_form=form)


@personal
@get_or_post
def withdraw(request, pk: int):
    registration = _own_registration(request, pk)
    if request.method == "POST" and registration.is_active:
        services.registration_withdraw(registration=registration, actor=request.user)
        messages.success(
            request,
            _("%(name)s への登録を取り下げました。")
            % {"name": place_name(registration.municipality)},
        )
        return redirect("registry:my_page")
    return render(request, "registry/withdraw_confirm.html", {"registration": registration})


@personal
@get_or_post
def premium_apply(request, pk: int):
    registration = _own_registration(request, pk)
    if request.method == "POST":
        form = forms.PremiumApplyForm(request.POST)
        if form.is_valid():
            try:
                services.premium_apply(
                    registration=registration, message=form.cleaned_data["message"]
                )
            except ValidationError as error:
                put_errors(error, form)
            else:
                messages.success(
                    request,
                    _("プレミアムを申請しました。%(name)s の職員が本人確認をして決定します。")
                    % {"name": place_name(registration.municipality)},
                )
                return redirect("registry:registration_detail", pk)
    else:
        form = forms.PremiumApplyForm()
    user = request.user
    return render(
        request,
        "registry/premium_apply.html",
        {
            "registration": registration,
            "form": form,
            "premium_limit": settings.REGISTRY_PREMIUM_LIMIT,
            "min_activities": settings.REGISTRY_PREMIUM_MIN_ACTIVITIES,
            "slots_used": selectors.premium_slots_used(person=user),
            "names_missing": not (user.family_name and user.given_name),
            "pending": registration.premium_applications.filter(
                status=ReviewStatus.PENDING
            ).exists(),
        },
    )


@personal
@require_POST
def premium_cancel(request, pk: int):
    registration = _own_registration(request, pk)
    try:
        services.premium_application_cancel(registration=registration, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("プレミアムの申請を取り消しました。"))
    return redirect("registry:registration_detail", pk)


@personal
@get_or_post
def activity_new(request, pk: int):
    registration = _own_registration(request, pk)
    if request.method == "POST":
        form = forms.ActivityForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.activity_submit(
                    registration=registration,
                    title=data["title"],
                    occurred_on=data["occurred_on"],
                    evidence=data["evidence"],
                    note=data["note"],
                )
            except ValidationError as error:
                put_errors(error, form)
            else:
                messages.success(
                    request,
                    _("活動を申告しました。%(name)s の職員が確認します。")
                    % {"name": place_name(registration.municipality)},
                )
                return redirect(reverse("registry:registration_detail", args=[pk]) + "#activities")
    else:
        form = forms.ActivityForm(initial={"occurred_on": timezone.localdate()})
    return render(
        request, "registry/activity_new.html", {"registration": registration, "form": form}
    )
