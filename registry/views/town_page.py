"""The town's own page, edited by its staff (and the higher scopes); shown by places."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from core.errors import Code, Denied
from core.pages import get_or_post, put_errors
from places.models import Municipality, TownPage

from .. import forms, services
from .staff import staff_page


@staff_page
@get_or_post
def town_page_edit(request, code: str):
    municipality = get_object_or_404(Municipality.objects.select_related("prefecture"), code=code)
    if not services.may_edit_town_page(user=request.user, municipality=municipality):
        raise Denied(_("このまちのページを編集する権限がありません。"), code=Code.NOT_STAFF_HERE)
    page = TownPage.objects.filter(municipality=municipality).first() or TownPage(
        municipality=municipality
    )
    has_cover = bool(page.cover)
    if request.method == "POST":
        form = forms.TownPageForm(request.POST, request.FILES, has_cover=has_cover)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.town_page_update(
                    municipality=municipality,
                    actor=request.user,
                    description=data["description"],
                    website=data["website"],
                    cover_alt=data["cover_alt"],
                    cover=data.get("cover"),
                    remove_cover=bool(data.get("remove_cover")),
                )
            except ValidationError as error:
                put_errors(error, form)
            else:
                messages.success(request, _("まちのページを保存しました。"))
                return redirect("places:municipality_detail", municipality.code)
    else:
        form = forms.TownPageForm(
            initial={
                "description": page.description,
                "website": page.website,
                "cover_alt": page.cover_alt,
            },
            has_cover=has_cover,
        )
    return render(
        request,
        "registry/staff/town_page_edit.html",
        {"municipality": municipality, "page": page, "form": form},
    )
