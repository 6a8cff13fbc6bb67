"""The person's own page and their profile."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts import services as account_services
from accounts.selectors import staff_scope
from core.language import list_join
from core.pages import get_only, get_or_post, personal, put_errors, safe_next
from core.text import nfkc
from places.forms import MunicipalityPickerForm, municipality_picker

from .. import flags, forms, selectors, services
from ..models import AvailableDays, Category, Language, Month, ReviewStatus, Skill

# --- The person's page and profile -------------------------------------------------------


def _profile_summary(profile) -> list[tuple[str, str]]:
    band = profile.age_band()
    rows = [
        (
            _("住所の市区町村"),
            profile.home_municipality.full_name if profile.home_municipality_id else "",
        ),
        (_("生まれた年"), str(profile.birth_year or "")),
        (_("年代"), str(band.label) if band else ""),
        (_("性別"), str(profile.get_gender_display()) if profile.gender else ""),
        (_("関心のある分野"), list_join(flags.labels_of(Category, profile.interests))),
        (_("できること・技能"), list_join(flags.labels_of(Skill, profile.skills))),
        (_("参加しやすい日"), list_join(flags.labels_of(AvailableDays, profile.available_days))),
        (_("参加しやすい月"), list_join(flags.labels_of(Month, profile.available_months))),
        (_("使える言語"), list_join(flags.labels_of(Language, profile.languages))),
    ]
    return rows


@personal
@get_only
def my_page(request):
    profile = services.profile_of(request.user)
    registrations = list(
        selectors.registrations_of(person=request.user, include_withdrawn=True).prefetch_related(
            "premium_applications"
        )
    )
    for registration in registrations:
        registration.pending_application = next(
            (
                application
                for application in registration.premium_applications.all()
                if application.status == ReviewStatus.PENDING
            ),
            None,
        )
    return render(
        request,
        "registry/my_page.html",
        {
            "profile": profile,
            "profile_summary": _profile_summary(profile) if profile.pk else [],
            "active": [r for r in registrations if r.is_active],
            "withdrawn": [r for r in registrations if not r.is_active],
            "prefecture_registrations": selectors.prefecture_registrations_of(person=request.user),
            "is_staff_member": staff_scope(user=request.user).is_staff,
        },
    )


def _as_typed(form):
    """The same form again, unbound, showing what was typed: a search or a pick of a town
    is not a save, so nothing is checked (and no error shown) yet."""
    return type(form)(initial={name: form[name].value() for name in form.fields})


def _profile_action(request, search) -> str:
    """What a POST of the profile asks: "save", "search" (the town search's button, or the
    Enter key in its box with a new query) or "pick" (one of its matches)."""
    if request.POST.get("pick_home"):
        return "pick"
    action = request.POST.get("action", "save")
    if action == "enter":  # implicit submission: Enter in one of the boxes
        query = search.data.get("q", "") if search.is_bound else ""
        return "search" if query and query != request.POST.get("searched", "") else "save"
    return "search" if action == "search" else "save"


@personal
@get_or_post
def profile_edit(request):
    user = request.user
    profile = services.profile_of(user)
    next_url = safe_next(request, reverse("registry:my_page"))
    search, matches = municipality_picker(request)
    if request.method == "POST":
        names_form = forms.NamesForm(request.POST)
        profile_form = forms.ProfileForm(request.POST)
        action = _profile_action(request, search)
        if action == "pick":
            # The chosen town fills the field; everything else stays as typed.
            data = request.POST.copy()
            data["home"] = nfkc(data["pick_home"]).strip()[:40]
            names_form, profile_form = _as_typed(names_form), _as_typed(forms.ProfileForm(data))
            search, matches = MunicipalityPickerForm(), None
        elif action == "search":
            names_form, profile_form = _as_typed(names_form), _as_typed(profile_form)
        elif names_form.is_valid() and profile_form.is_valid():
            try:
                with transaction.atomic():
                    account_services.user_names_update(user=user, **names_form.cleaned_data)
                    services.profile_update(user=user, **profile_form.profile_fields())
            except ValidationError as error:
                user.refresh_from_db()
                put_errors(error, profile_form, names_form, aliases={"home_municipality": "home"})
            else:
                messages.success(request, _("プロフィールを保存しました。"))
                return redirect(next_url)
    else:
        home = nfkc(request.GET.get("home", "")).strip()[:40]
        names_form = forms.NamesForm(
            initial={name: getattr(user, name) for name in forms.NamesForm.base_fields}
        )
        profile_form = forms.ProfileForm(
            initial={
                "home": home or profile.home_municipality_id or "",
                "birth_year": profile.birth_year,
                "gender": profile.gender,
                "interests": profile.interests,
                "skills": profile.skills,
                "available_days": profile.available_days,
                "available_months": profile.available_months,
                "languages": profile.languages,
            }
        )
    return render(
        request,
        "registry/profile_edit.html",
        {
            "profile": profile,
            "names_form": names_form,
            "profile_form": profile_form,
            "search": search,
            "matches": matches,
            "searched": search.data.get("q", "") if matches is not None else "",
            "next": next_url,
        },
    )
