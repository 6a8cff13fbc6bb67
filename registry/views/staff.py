"""The staff's pages: their towns, registrants (and the CSV) and perks."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.selectors import managed_municipality, managed_object, staff_scope
from core.errors import Denied
from core.pages import get_only, get_or_post, put_errors
from places.models import Municipality

from .. import forms, selectors, services
from ..errors import RegistryCode
from ..exports import csv_response
from ..models import AgeBand, Category, Perk, RelationshipType, Skill, TieOrigin, Tier

# --- Staff -------------------------------------------------------------------------------


REGISTRANTS_PER_PAGE = 50


def staff_page(view):
    return login_required(never_cache(view))


def _staff_municipality(request, code: str) -> Municipality:
    return managed_municipality(user=request.user, code=code)


@staff_page
@get_only
def staff_home(request):
    scope = staff_scope(user=request.user)
    if not scope.is_staff:
        raise Denied(_("職員メニューは自治体の職員だけが使えます。"), code=RegistryCode.STAFF_ONLY)
    municipalities = []
    for municipality in Municipality.objects.filter(
        code__in=sorted(scope.staff_municipality_codes)
    ).select_related("prefecture"):
        municipalities.append(
            {
                "municipality": municipality,
                "premium_pending": selectors.premium_queue(municipality=municipality).count(),
                "activities_pending": selectors.activity_queue(municipality=municipality).count(),
            }
        )
    return render(request, "registry/staff/home.html", {"municipalities": municipalities})


def _label(choices, value) -> str:
    return str(choices(value).label) if value else ""


def _registrant_display(row: dict) -> dict:
    """A registrant row with labels; ``None`` stays ``None`` (not consented)."""

    def labels(choices, values):
        return None if values is None else [_label(choices, value) for value in values]

    return {
        **row,
        "types": labels(RelationshipType, row["types"]),
        "origin": _label(TieOrigin, row["origin"]),
        "tier_label": _label(Tier, row["tier"]),
        "age_band": _label(AgeBand, row["age_band"]) if row["age_band"] else row["age_band"],
        "skills": labels(Skill, row["skills"]),
        "interests": labels(Category, row["interests"]),
    }


def _filter_detail(criteria: dict, request) -> dict:
    return {
        "filters": {key: str(value) for key, value in criteria.items()},
        "page": request.GET.get("page", "1"),
        "via": "page",
    }


@staff_page
@get_only
def registrants(request, code: str):
    municipality = _staff_municipality(request, code)
    filter_form = forms.RegistrantFilterForm(request.GET or None)
    page = None
    rows = []
    if not filter_form.is_bound or filter_form.is_valid():
        criteria = filter_form.criteria() if filter_form.is_bound else {}
        queryset = services.registrants_read(
            viewer=request.user,
            municipality=municipality,
            action="registrants.list",
            detail=_filter_detail(criteria, request),
        )
        queryset = selectors.registrants_filter(queryset, **criteria)
        page = Paginator(queryset, REGISTRANTS_PER_PAGE).get_page(request.GET.get("page"))
        today = timezone.localdate()
        rows = [_registrant_display(selectors.registrant_row(r, today)) for r in page]
    return render(
        request,
        "registry/staff/registrants.html",
        {"municipality": municipality, "filter_form": filter_form, "page": page, "rows": rows},
    )


def _csv_columns() -> list[tuple[str, str]]:
    return [
        ("id", _("登録番号")),
        ("registered_at", _("登録日時")),
        ("types", _("関わり方")),
        ("origin", _("関わりのきっかけ")),
        ("tier_label", _("区分")),
        ("premium_until", _("プレミアム有効期限")),
        ("last_activity_on", _("最後の活動日")),
        ("activities_this_year", _("今年の活動数")),
        ("allow_announcements", _("お知らせを受け取る")),
        ("name", _("氏名")),
        ("name_kana", _("フリガナ")),
        ("email", _("メールアドレス")),
        ("age_band", _("年代")),
        ("skills", _("技能")),
        ("interests", _("関心のある分野")),
    ]


@staff_page
@get_only
def registrants_csv(request, code: str):
    municipality = _staff_municipality(request, code)
    filter_form = forms.RegistrantFilterForm(request.GET or None)
    if filter_form.is_bound and not filter_form.is_valid():
        messages.error(request, _("絞り込みの条件を確認してください。"))
        return redirect(
            reverse("registry:registrants", args=[code]) + "?" + request.GET.urlencode()
        )
    criteria = filter_form.criteria() if filter_form.is_bound else {}
    queryset = services.registrants_read(
        viewer=request.user,
        municipality=municipality,
        action="registrants.export",
        detail={**_filter_detail(criteria, request), "format": "csv"},
    )
    queryset = selectors.registrants_filter(queryset, **criteria)
    today = timezone.localdate()
    # Labels are resolved now, in the request's language, not while the body streams.
    columns = [(key, str(title)) for key, title in _csv_columns()]
    type_labels = {value: str(label) for value, label in RelationshipType.choices}
    origin_labels = {value: str(label) for value, label in TieOrigin.choices}
    tier_labels = {value: str(label) for value, label in Tier.choices}
    band_labels = {value: str(label) for value, label in AgeBand.choices}
    skill_labels = {value: str(label) for value, label in Skill.choices}
    category_labels = {value: str(label) for value, label in Category.choices}

    def display(row: dict) -> dict:
        return {
            **row,
            "types": [type_labels[v] for v in row["types"]],
            "origin": origin_labels.get(row["origin"], row["origin"]),
            "tier_label": tier_labels.get(row["tier"], row["tier"]),
            "age_band": band_labels.get(row["age_band"]) if row["age_band"] else None,
            "skills": None if row["skills"] is None else [skill_labels[v] for v in row["skills"]],
            "interests": None
            if row["interests"] is None
            else [category_labels[v] for v in row["interests"]],
        }

    rows = (
        [display(selectors.registrant_row(registration, today)).get(key) for key, _t in columns]
        for registration in queryset.iterator(chunk_size=2000)
    )
    return csv_response(
        [title for _key, title in columns],
        rows,
        f"registrants-{municipality.code}-{today.isoformat()}.csv",
    )


@staff_page
@get_or_post
def perks(request, code: str):
    municipality = _staff_municipality(request, code)
    if request.method == "POST":
        form = forms.PerkForm(request.POST)
        if form.is_valid():
            perk = form.save(commit=False)
            perk.municipality = municipality
            try:
                services.perk_save(perk=perk, actor=request.user)
            except ValidationError as error:
                put_errors(error, form)
            else:
                messages.success(request, _("特典「%(title)s」を追加しました。") % {"title": perk})
                return redirect("registry:perks", code)
    else:
        form = forms.PerkForm()
    return render(
        request,
        "registry/staff/perks.html",
        {
            "municipality": municipality,
            "form": form,
            "perks": selectors.perks_of(municipality=municipality, include_inactive=True),
        },
    )


def _staff_perk(request, pk: int) -> Perk:
    return managed_object(
        Perk.objects.select_related("municipality__prefecture"),
        user=request.user,
        pk=pk,
        municipality_field="municipality",
    )


@staff_page
@get_or_post
def perk_edit(request, pk: int):
    perk = _staff_perk(request, pk)
    title = perk.title  # the form changes the instance while it validates
    if request.method == "POST":
        form = forms.PerkForm(request.POST, instance=perk)
        if form.is_valid():
            try:
                services.perk_save(perk=form.save(commit=False), actor=request.user)
            except ValidationError as error:
                put_errors(error, form)
            else:
                messages.success(request, _("特典を保存しました。"))
                return redirect("registry:perks", perk.municipality_id)
    else:
        form = forms.PerkForm(instance=perk)
    return render(
        request, "registry/staff/perk_edit.html", {"perk": perk, "title": title, "form": form}
    )


@staff_page
@require_POST
def perk_delete(request, pk: int):
    perk = _staff_perk(request, pk)
    code = perk.municipality_id
    title = perk.title
    services.perk_delete(perk=perk, actor=request.user)
    messages.success(request, _("特典「%(title)s」を削除しました。") % {"title": title})
    return redirect("registry:perks", code)
