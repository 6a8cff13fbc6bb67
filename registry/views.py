"""The registry's pages: the person's own (profile, registrations, consent, card, premium,
activities, export, deletion) and the staff's (registrants, reviews, perks, card checks).

Thin, like the API: a form parses, one service writes or one selector reads, and a
service's refusal (``ValidationError``) comes back as an error of the form."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms as django_forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts import services as account_services
from accounts.selectors import staff_scope
from core.pages import get_only, get_or_post, personal, put_errors, safe_next
from places.models import Municipality

from . import cards, flags, forms, selectors, services
from .exports import csv_response, personal_data_response
from .models import (
    CONSENT_FIELDS,
    Activity,
    AgeBand,
    AvailableDays,
    Category,
    EventKind,
    Language,
    Month,
    Perk,
    PremiumApplication,
    RelationshipType,
    ReviewStatus,
    Skill,
    TieOrigin,
    Tier,
    may_be_minor,
)

REGISTRANTS_PER_PAGE = 50
ANNOUNCEMENTS_PER_PAGE = 20


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
        (_("関心のある分野"), "、".join(flags.labels_of(Category, profile.interests))),
        (_("できること・技能"), "、".join(flags.labels_of(Skill, profile.skills))),
        (_("参加しやすい日"), "、".join(flags.labels_of(AvailableDays, profile.available_days))),
        (_("参加しやすい月"), "、".join(flags.labels_of(Month, profile.available_months))),
        (_("使える言語"), "、".join(flags.labels_of(Language, profile.languages))),
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


@personal
@get_or_post
def profile_edit(request):
    user = request.user
    profile = services.profile_of(user)
    next_url = safe_next(request, reverse("registry:my_page"))
    if request.method == "POST":
        names_form = forms.NamesForm(request.POST)
        profile_form = forms.ProfileForm(request.POST)
        if names_form.is_valid() and profile_form.is_valid():
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
        home = forms.nfkc(request.GET.get("home", "")).strip()[:40]
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
    search, matches = forms.municipality_picker(request)
    return render(
        request,
        "registry/profile_edit.html",
        {
            "profile": profile,
            "names_form": names_form,
            "profile_form": profile_form,
            "search": search,
            "matches": matches,
            "next": next_url,
            "keep": [("next", request.GET["next"])] if request.GET.get("next") else [],
        },
    )


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
                        "name": registration.municipality.name,
                        "prefecture": registration.municipality.prefecture.name,
                    },
                )
                return redirect("registry:registration_detail", registration.pk)
        chosen = form.cleaned_data.get("municipality") if hasattr(form, "cleaned_data") else None
    else:
        code = forms.nfkc(request.GET.get("municipality", "")).strip()[:20]
        form = forms.RegistrationForm(initial={"municipality": code}, minor=minor)
        if code:
            try:
                chosen = forms.municipality_by_code(code)
            except ValidationError as error:
                choice_error = error.messages[0]
    search, matches = forms.municipality_picker(request)
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
            _("%(name)s への登録を取り下げました。") % {"name": registration.municipality.name},
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
                    % {"name": registration.municipality.name},
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
                    % {"name": registration.municipality.name},
                )
                return redirect(reverse("registry:registration_detail", args=[pk]) + "#activities")
    else:
        form = forms.ActivityForm(initial={"occurred_on": timezone.localdate()})
    return render(
        request, "registry/activity_new.html", {"registration": registration, "form": form}
    )


# --- The resident card -------------------------------------------------------------------


@personal
@get_only
def card(request, pk: int):
    registration = _own_registration(request, pk)
    context = {"registration": registration}
    if registration.is_active:
        token = cards.card_token(registration)
        verify_url = cards.card_verify_url(request, token)
        context.update(
            token=token,
            # Shown on the screen staff read: only with the person's consent to the name.
            holder_name=selectors.shared_name(registration),
            verify_url=verify_url,
            # segno draws the SVG from our own URL: no user markup can get into it.
            qr_svg=mark_safe(cards.card_qr_svg(verify_url)),  # noqa: S308
            expires_at=cards.card_token_expires_at(),
        )
    return render(request, "registry/card.html", context)


@personal
@require_POST
def card_reissue(request, pk: int):
    registration = _own_registration(request, pk)
    try:
        services.card_reissue(registration=registration, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("registry:registration_detail", pk)
    messages.success(
        request, _("登録証を再発行しました。これまでに表示した QR コードは使えなくなりました。")
    )
    return redirect("registry:card", pk)


@login_required
@never_cache
@get_or_post
def card_verify(request):
    scope = staff_scope(user=request.user)
    if not scope.is_staff:
        raise PermissionDenied(_("登録証を確かめられるのは自治体の職員だけです。"))
    if request.method == "POST":
        form = forms.CardVerifyForm(request.POST)
    else:
        form = forms.CardVerifyForm(request.GET if request.GET.get("token") else None)
    result = None
    if form.is_bound and form.is_valid():
        result = services.card_verify(token=form.cleaned_data["token"], viewer=request.user)
        municipality = result.get("municipality")
        result["own_municipality"] = bool(
            municipality and scope.manages_municipality(municipality["code"])
        )
        form = forms.CardVerifyForm()  # ready for the next card
    return render(request, "registry/card_verify.html", {"form": form, "result": result})


# --- The person's rights -----------------------------------------------------------------


@personal
@get_only
def export(request):
    return render(request, "registry/export.html")


@personal
@get_only
def export_download(request):
    return personal_data_response(request.user)


@personal
@get_or_post
def account_delete(request):
    if request.method == "POST":
        form = forms.PasswordConfirmForm(request.POST, user=request.user)
        if form.is_valid():
            account_services.account_delete(user=request.user)
            logout(request)
            messages.success(
                request,
                _(
                    "アカウントを削除しました。ご利用ありがとうございました。"
                    "ふるさと住民登録は、個人が分からない形で統計にだけ残ります。"
                ),
            )
            return redirect("home")
    else:
        form = forms.PasswordConfirmForm(user=request.user)
    return render(
        request,
        "registry/account_delete.html",
        {
            "form": form,
            "active_count": selectors.registrations_of(person=request.user).count(),
        },
    )


# --- Staff -------------------------------------------------------------------------------


def staff_page(view):
    return login_required(never_cache(view))


def _staff_municipality(request, code: str) -> Municipality:
    return selectors.managed_municipality(user=request.user, code=code)


@staff_page
@get_only
def staff_home(request):
    scope = staff_scope(user=request.user)
    if not scope.is_staff:
        raise PermissionDenied(_("職員メニューは自治体の職員だけが使えます。"))
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
    application = selectors.managed_object(
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
    activity = selectors.managed_object(
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
    return selectors.managed_object(
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


# --- Announcements -----------------------------------------------------------------------


class AnnouncementForm(forms.NormalisedInputMixin, django_forms.Form):
    """What staff write to their registrants; the service checks it again."""

    title = django_forms.CharField(
        label=gettext_lazy("件名"),
        max_length=100,
        help_text=gettext_lazy("メールの件名にもなります。"),
        error_messages={"required": gettext_lazy("件名を書いてください。")},
    )
    body = django_forms.CharField(
        label=gettext_lazy("本文"),
        max_length=5000,
        widget=django_forms.Textarea(attrs={"rows": 10}),
        error_messages={"required": gettext_lazy("本文を書いてください。")},
    )


@staff_page
@get_or_post
def announcements(request, code: str):
    """A town's staff write to the registrants who agreed to hear from the town, and see
    what they sent before (being sent, or sent, and to how many)."""
    municipality = _staff_municipality(request, code)
    if request.method == "POST":
        form = AnnouncementForm(request.POST)
        if form.is_valid():
            try:
                announcement = services.announcement_create(
                    municipality=municipality,
                    actor=request.user,
                    title=form.cleaned_data["title"],
                    body=form.cleaned_data["body"],
                )
            except ValidationError as error:
                put_errors(error, form)
            else:
                messages.success(
                    request,
                    _(
                        "お知らせ「%(title)s」の配信を始めました。"
                        "受け取りに同意した登録者に順に届きます。"
                    )
                    % {"title": announcement.title},
                )
                return redirect("registry:announcements", municipality.code)
    else:
        form = AnnouncementForm()
    page = Paginator(
        selectors.announcements_of(municipality=municipality), ANNOUNCEMENTS_PER_PAGE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "registry/staff/announcements.html",
        {
            "municipality": municipality,
            "form": form,
            "audience": selectors.announcement_audience(municipality=municipality).count(),
            "page": page,
        },
    )
