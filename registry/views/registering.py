"""Registering with a municipality."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.pages import get_or_post, personal, put_errors
from core.text import nfkc
from places.forms import municipality_by_code, municipality_picker
from places.names import place_name

from .. import forms, selectors, services
from ..models import may_be_minor

# --- Registering -------------------------------------------------------------------------


@personal
@get_or_post
def registration_new(request):
    person = request.user
    profile = services.profile_of(person)
    if not profile.is_complete:
        messages.info(
            request,
            _("登録の前に、プロフィールで住所の市区町村と生まれた年を設定してください。"),
        )
        return redirect(
            reverse("registry:profile_edit") + "?" + urlencode({"next": request.get_full_path()})
        )
    minor = may_be_minor(profile.birth_year, timezone.localdate())
    chosen = None
    choice_error = ""
    if request.method == "POST":
        form = forms.RegistrationForm(request.POST, minor=minor)
        if form.is_valid():
            data = form.cleaned_data
            try:
                registration = services.registration_create(
                    person=person,
                    municipality=data["municipality"],
                    types=data["types"],
                    origin=data["origin"],
                    consent=form.consent(),
                    guardian_name=data.get("guardian_name", ""),
                    guardian_consent=bool(data.get("guardian_consent")),
                )
            except ValidationError as error:
                put_errors(error, form)
            else:
                messages.success(
                    request,
                    _("%(name)s のふるさと住民になりました。%(prefecture)s にも登録されています。")
                    % {
                        "name": place_name(registration.municipality),
                        "prefecture": place_name(registration.municipality.prefecture),
                    },
                )
                return redirect("registry:registration_detail", registration.pk)
        chosen = form.cleaned_data.get("municipality") if hasattr(form, "cleaned_data") else None
    else:
        code = nfkc(request.GET.get("municipality", "")).strip()[:20]
        form = forms.RegistrationForm(initial={"municipality": code}, minor=minor)
        if code:
            try:
                chosen = municipality_by_code(code)
            except ValidationError as error:
                choice_error = error.messages[0]
    search, matches = municipality_picker(request)
    registered_codes = set(
        selectors.registrations_of(person=person).values_list("municipality_id", flat=True)
    )
    return render(
        request,
        "registry/registration_new.html",
        {
            "form": form,
            "search": search,
            "matches": matches,
            "chosen": chosen,
            "choice_error": choice_error,
            "profile": profile,
            "registered_codes": registered_codes,
            "minor": minor,
        },
    )
