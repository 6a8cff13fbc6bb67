"""The board's pages: finding tasks (list, calendar, map, one task), signing up and one's
own sign-ups; the pages of hosts and staff for tasks, sessions, participants and hosts.

Thin, like the API: a form parses, one service writes or one selector reads, and a
service's refusal (``ValidationError``, and ``Conflict`` which is one) comes back as an
error of the form or as a message. ``PermissionDenied`` is the site's 403 page; a task one
may not see is a 404, so that drafts cannot be probed."""

from __future__ import annotations

import calendar
import copy
import datetime
import math
import re
from collections import defaultdict

from django import forms as django_forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import WEEKDAYS, WEEKDAYS_ABBR
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.selectors import staff_scope
from core.dates import EARLIEST, LATEST
from core.pages import get_only, get_or_post, personal, put_errors, safe_next
from places.models import Municipality
from places.selectors import prefecture_list
from places.tiles import TILES, short_name
from registry.forms import municipality_by_code, municipality_picker, nfkc
from registry.models import Status as RegistrationStatus
from registry.selectors import managed_municipality, managed_object
from registry.services import profile_of
from registry.templatetags.registry_tags import jdatetime

from . import forms, ical, selectors, services
from .matcher import reason_codes, reason_texts
from .models import (
    EDITABLE_STATUSES,
    LIVE_STATUSES,
    Attendance,
    HostApplication,
    SessionStatus,
    SignupMode,
    SignupStatus,
    TaskStatus,
)
from .selectors import Sort

TASKS_PER_PAGE = 20
RECOMMENDATIONS_PER_PAGE = 20
BOARD_RECOMMENDATIONS = 3
STAFF_TASKS_PER_PAGE = 30
PAST_SIGNUPS_PER_PAGE = 20
HOST_TASKS_LIMIT = 200
CALENDAR_LIMIT = 500


def _take_errors(error: ValidationError, name: str) -> tuple[list[str], ValidationError | None]:
    """The messages of one key of a service's refusal, and the refusal without it."""
    if not hasattr(error, "error_dict") or name not in error.error_dict:
        return [], error
    taken = ValidationError(error.error_dict[name]).messages
    rest = {key: value for key, value in error.error_dict.items() if key != name}
    return taken, (ValidationError(rest) if rest else None)


def _refused(request, error: ValidationError) -> None:
    """A refusal of a button (no form to show it on) becomes a message."""
    messages.error(request, " ".join(error.messages))


def _task_url(task) -> str:
    return reverse("matching:task_detail", args=[task.pk])


CODE_RE = re.compile(r"[0-9]{6}")


def _municipality_code(code: str) -> str:
    """A municipality code from a URL: six digits, else 404 (before any query sees it)."""
    if not CODE_RE.fullmatch(code):
        raise Http404
    return code


def _staff_municipality(request, code: str) -> Municipality:
    return managed_municipality(user=request.user, code=_municipality_code(code))


def _managed_task(request, pk: int):
    """A task the person manages: 404 if they may not even see it, else 403."""
    task = selectors.task_get(user=request.user, pk=pk)
    if not services.may_manage_task(request.user, task):
        raise PermissionDenied(_("このお手伝いを管理する権限がありません。"))
    return task


def _managed_session(request, pk: int):
    session = selectors.session_get(user=request.user, pk=pk)
    if not services.may_manage_task(request.user, session.task):
        raise PermissionDenied(_("このお手伝いを管理する権限がありません。"))
    return session


# --- Finding tasks -----------------------------------------------------------------------


def _set_widget(field: django_forms.Field, widget: django_forms.Widget) -> None:
    widget.is_required = field.required
    field.widget = widget


def _filter_form(request) -> tuple[forms.TaskFilterForm, selectors.TaskQuery | None]:
    """The board's filters from the query string, with the widgets the pages show; the
    query when they are valid, else ``None`` (the form then carries the errors)."""
    form = forms.TaskFilterForm(request.GET, viewer=request.user)
    fields = form.fields
    _set_widget(
        fields["prefecture"],
        django_forms.Select(
            choices=[("", _("すべて")), *((p.code, p.name) for p in prefecture_list())]
        ),
    )
    _set_widget(fields["search"], django_forms.TextInput(attrs={"type": "search"}))
    _set_widget(fields["municipality"], django_forms.HiddenInput())
    near_choices = [("", _("指定しない"))]
    if request.user.is_authenticated:
        home = profile_of(request.user).home_municipality
        if home is not None:
            near_choices.append(("home", _("自宅（%(name)s）から") % {"name": home.name}))
    raw_near = (form.data.get("near") or "").strip()
    if CODE_RE.fullmatch(raw_near):
        other = Municipality.objects.filter(code=raw_near).first()
        if other is not None:
            near_choices.append((other.code, _("%(name)sから") % {"name": other.name}))
    if len(near_choices) > 1:
        _set_widget(fields["near"], django_forms.Select(choices=near_choices))
        _set_widget(fields["within_km"], django_forms.Select(choices=forms.WITHIN_CHOICES))
        form.near_choices = near_choices
    else:
        _set_widget(fields["near"], django_forms.HiddenInput())
        _set_widget(fields["within_km"], django_forms.HiddenInput())
        # Not offered without a base; still parsed, so that a link with it says why.
        sort_choices = [c for c in fields["sort"].choices if c[0] != Sort.DISTANCE]
        _set_widget(fields["sort"], django_forms.Select(choices=sort_choices))
        form.near_choices = []
    query = form.query() if form.is_valid() else None
    return form, query


def _filter_context(form, query) -> dict:
    """What the filter panel shows besides the form: the town chosen, the distance base."""
    municipality = None
    near_label = ""
    if query is not None:
        if query.municipality:
            municipality = (
                Municipality.objects.select_related("prefecture")
                .filter(code=query.municipality)
                .first()
            )
        if query.near:
            raw = (form.data.get("near") or "").strip()
            if raw == "home":
                near_label = _("自宅から")
            else:
                near_label = dict(form.near_choices).get(query.near, "")
    return {
        "form": form,
        "query": query,
        "chosen_municipality": municipality,
        "near_label": near_label,
    }


def _cards(tasks, facts=None) -> list[dict]:
    facts = selectors.task_card_facts(tasks) if facts is None else facts
    return [{"task": task, **facts.get(task.pk, {"sessions": 0})} for task in tasks]


def _recommendation_cards(matches, profile, facts) -> list[dict]:
    """Cards of recommended tasks, each with the matcher's reasons in the reader's words."""
    return [
        {
            "task": match.task,
            **facts.get(match.task_id, {"sessions": 0}),
            "reasons": reason_texts(reason_codes(match, match.task, profile)),
        }
        for match in matches
    ]


# Parameters that do not narrow the board: with only these, it is the plain board, where
# the person's best recommendations are shown above the list.
UNFILTERED_PARAMS = {"page", "sort"}


def _board_recommendations(request, page) -> list:
    """The best few recommendations, on the first page of the plain board (a search shows
    just what was asked for). One query; none without a home, as there are no matches."""
    if not request.user.is_authenticated or page is None or page.number != 1:
        return []
    if set(request.GET) - UNFILTERED_PARAMS:
        return []
    if profile_of(request.user).home_municipality_id is None:
        return []
    return list(selectors.recommendations_of(user=request.user)[:BOARD_RECOMMENDATIONS])


@get_only
def task_list(request):
    form, query = _filter_form(request)
    page, cards, recommended = None, [], []
    if query is not None:
        page = Paginator(selectors.task_search(query), TASKS_PER_PAGE).get_page(
            request.GET.get("page")
        )
        tasks = list(page.object_list)
        matches = _board_recommendations(request, page)
        # One query for the facts of the page's tasks and the recommended ones together.
        facts = selectors.task_card_facts(tasks + [match.task for match in matches])
        cards = _cards(tasks, facts)
        if matches:
            recommended = _recommendation_cards(matches, profile_of(request.user), facts)
    return render(
        request,
        "matching/task_list.html",
        {
            **_filter_context(form, query),
            "page": page,
            "cards": cards,
            "recommended": recommended,
            "view": "list",
        },
    )


@personal
@get_only
def for_you(request):
    """あなたへのおすすめ: the matcher's recommendations for the person, best first, each
    with its reasons; when there are none, what would bring some."""
    profile = profile_of(request.user)
    page = Paginator(
        selectors.recommendations_of(user=request.user), RECOMMENDATIONS_PER_PAGE
    ).get_page(request.GET.get("page"))
    matches = list(page.object_list)
    cards = []
    if matches:
        facts = selectors.task_card_facts([match.task for match in matches])
        cards = _recommendation_cards(matches, profile, facts)
    context = {"page": page, "cards": cards}
    if not cards:
        context["missing"] = {
            "home": profile.home_municipality_id is None,
            "interests": not profile.interests,
            "registrations": not request.user.registrations.filter(
                status=RegistrationStatus.ACTIVE
            ).exists(),
        }
    return render(request, "matching/for_you.html", context)


MONTH_RE = re.compile(r"^(\d{4})-(\d{1,2})$")
FIRST_MONTH, LAST_MONTH = EARLIEST, LATEST.replace(day=1)


def _month(value: str) -> tuple[datetime.date, str]:
    """The month asked for as its first day (this month by default), and an error."""
    this_month = timezone.localdate().replace(day=1)
    value = nfkc(value or "").strip()
    if not value:
        return this_month, ""
    found = MONTH_RE.match(value)
    if found:
        year, month = int(found.group(1)), int(found.group(2))
        if 1 <= month <= 12 and FIRST_MONTH.year <= year <= LAST_MONTH.year:
            return datetime.date(year, month, 1), ""
    return this_month, _("月は「2026-12」のように、西暦の年と月で指定してください。")


@get_only
def task_calendar(request):
    form, query = _filter_form(request)
    month, month_error = _month(request.GET.get("month", ""))
    sessions = []
    if query is not None:
        sessions = list(selectors.sessions_in_month(query, month=month)[: CALENDAR_LIMIT + 1])
    too_many = len(sessions) > CALENDAR_LIMIT
    by_day = defaultdict(list)
    for session in sessions[:CALENDAR_LIMIT]:
        by_day[timezone.localdate(session.starts_at)].append(session)
    today = timezone.localdate()
    weeks = [
        [
            {
                "day": day,
                "in_month": day.month == month.month,
                "today": day == today,
                "sessions": by_day.get(day, []),
            }
            for day in week
        ]
        for week in calendar.Calendar(firstweekday=6).monthdatescalendar(month.year, month.month)
    ]
    previous = (month - datetime.timedelta(days=1)).replace(day=1)
    following = (month + datetime.timedelta(days=32)).replace(day=1)
    return render(
        request,
        "matching/task_calendar.html",
        {
            **_filter_context(form, query),
            "view": "calendar",
            "month": month,
            "month_error": month_error,
            "weeks": weeks,
            # Sunday first, as Japanese calendars are printed.
            "weekdays": [(WEEKDAYS_ABBR[i], WEEKDAYS[i]) for i in (6, 0, 1, 2, 3, 4, 5)],
            "previous": previous.strftime("%Y-%m") if previous >= FIRST_MONTH else "",
            "following": following.strftime("%Y-%m") if following <= LAST_MONTH else "",
            "session_count": min(len(sessions), CALENDAR_LIMIT),
            "too_many": too_many,
        },
    )


HEAT_LEVELS = 4


@get_only
def task_map(request):
    form, query = _filter_form(request)
    counts = selectors.task_counts_by_prefecture(query) if query is not None else {}
    top = max(counts.values(), default=0)
    tiles = []
    for prefecture in prefecture_list():
        count = counts.get(prefecture.code, 0)
        row, column = TILES[prefecture.code]
        tiles.append(
            {
                "prefecture": prefecture,
                "short_name": short_name(prefecture.name),
                "count": count,
                "row": row,
                "column": column,
                "level": math.ceil(HEAT_LEVELS * count / top) if count else 0,
            }
        )
    return render(
        request,
        "matching/task_map.html",
        {
            **_filter_context(form, query),
            "view": "map",
            "tiles": tiles,
            "total": sum(counts.values()),
        },
    )


# --- One task ----------------------------------------------------------------------------


def _manager_actions(task, sessions, *, is_staff: bool, now) -> dict[str, bool]:
    """Which status changes a manager of ``task`` is offered (the services decide)."""
    status = task.status
    begun = any(s.status == SessionStatus.SCHEDULED and s.starts_at <= now for s in sessions)
    to_come = any(s.status == SessionStatus.SCHEDULED and s.starts_at > now for s in sessions)
    return {
        "edit": status in EDITABLE_STATUSES,
        "submit": status == TaskStatus.DRAFT and not is_staff,
        "publish": is_staff and status in (TaskStatus.DRAFT, TaskStatus.IN_REVIEW),
        "return": is_staff and status == TaskStatus.IN_REVIEW,
        "close": status == TaskStatus.PUBLISHED,
        "complete": status in (TaskStatus.PUBLISHED, TaskStatus.CLOSED) and not to_come,
        "cancel": status not in (TaskStatus.COMPLETED, TaskStatus.CANCELLED),
        "report": begun and status != TaskStatus.CANCELLED,
    }


@get_only
def task_detail(request, pk: int):
    task = selectors.task_get(user=request.user, pk=pk)
    sessions = list(selectors.sessions_of(task))
    for session in sessions:
        session.task = task
    mine = selectors.live_signups_of(user=request.user, task=task)
    positions = selectors.waitlist_positions(mine.values())
    now = timezone.now()
    rows = []
    for session in sessions:
        signup = mine.get(session.pk)
        rows.append(
            {
                "session": session,
                "signup": signup,
                "position": positions.get(signup.pk) if signup else None,
                "open": task.is_open
                and session.status == SessionStatus.SCHEDULED
                and now < session.signup_closes_at(),
                "past": session.starts_at <= now,
            }
        )
    manages = services.may_manage_task(request.user, task)
    is_staff = staff_scope(user=request.user).manages_municipality(task.municipality_id)
    # Watching is for people who have no place and want to hear when one opens.
    may_watch = request.user.is_authenticated and not manages and not mine
    watching = may_watch and selectors.is_watching(user=request.user, task=task)
    to_come = [r for r in rows if r["open"]]
    return render(
        request,
        "matching/task_detail.html",
        {
            "task": task,
            "rows": rows,
            "manages": manages,
            "is_staff": is_staff,
            "actions": _manager_actions(task, sessions, is_staff=is_staff, now=now)
            if manages
            else {},
            "pending_revision": selectors.revision_pending_of(task) if manages else None,
            "first_come": task.signup_mode == SignupMode.FIRST_COME,
            "watch": {
                "offered": may_watch and task.status == TaskStatus.PUBLISHED,
                "watching": watching,
                "full": bool(to_come) and not any(r["session"].places_left for r in to_come),
            },
        },
    )


@personal
@require_POST
def task_watch(request, pk: int):
    task = selectors.task_get(user=request.user, pk=pk)
    try:
        services.task_watch(task=task, person=request.user)
    except ValidationError as error:
        _refused(request, error)
    else:
        messages.success(
            request,
            _("「%(title)s」を見守ります。空きが出たら、お知らせでお伝えします。")
            % {"title": task.title},
        )
    return redirect(safe_next(request, _task_url(task) + "#watch"))


@personal
@require_POST
def task_unwatch(request, pk: int):
    task = selectors.task_get(user=request.user, pk=pk)
    services.task_unwatch(task=task, person=request.user)
    messages.success(request, _("「%(title)s」の見守りをやめました。") % {"title": task.title})
    return redirect(safe_next(request, _task_url(task) + "#watch"))


# --- Signing up --------------------------------------------------------------------------


def _signup_done_message(signup) -> str:
    session = signup.session
    values = {"title": session.task.title, "when": jdatetime(session.starts_at)}
    if signup.status == SignupStatus.CONFIRMED:
        return _("「%(title)s」（%(when)s）への参加が確定しました。") % values
    if signup.status == SignupStatus.WAITLISTED:
        return _(
            "「%(title)s」（%(when)s）は満員のため、キャンセル待ちの%(position)d番目になりました。"
            "空きが出たら順番にお知らせします。"
        ) % {**values, "position": selectors.waitlist_position(signup) or 1}
    return (
        _("「%(title)s」（%(when)s）に申し込みました。ヌシが承認すると参加が確定します。") % values
    )


@personal
@get_or_post
def signup_new(request, pk: int):
    session = selectors.session_get(user=request.user, pk=pk)
    task = session.task
    if request.method == "POST":
        form = forms.SignupForm(request.POST)
        if form.is_valid():
            try:
                signup = services.signup_create(
                    session=session, person=request.user, message=form.cleaned_data["message"]
                )
            except ValidationError as error:
                put_errors(error, form)
            else:
                messages.success(request, _signup_done_message(signup))
                return redirect("matching:my_signups")
    else:
        form = forms.SignupForm()
    return render(
        request,
        "matching/signup_new.html",
        {
            "session": session,
            "task": task,
            "form": form,
            "existing": selectors.live_signups_of(user=request.user, task=task).get(session.pk),
            "signup_closes_at": session.signup_closes_at(),
            "cancel_closes_at": session.cancel_closes_at(),
            "first_come": task.signup_mode == SignupMode.FIRST_COME,
        },
    )


def _signup_item(signup, now, positions) -> dict:
    session = signup.session
    held = signup.status in (SignupStatus.CONFIRMED, SignupStatus.OFFERED)
    live = signup.status in LIVE_STATUSES
    started = session.starts_at <= now
    cancel_closes_at = session.cancel_closes_at()
    return {
        "signup": signup,
        "session": session,
        "task": session.task,
        "position": positions.get(signup.pk),
        "may_cancel": live and not started and (not held or now < cancel_closes_at),
        "cancel_closed": live and held and not started and now >= cancel_closes_at,
        "cancel_closes_at": cancel_closes_at if held else None,
        "may_thank": signup.status == SignupStatus.CONFIRMED
        and started
        and signup.attendance != Attendance.NO_SHOW,
        "thanks_form": forms.ThanksForm(auto_id=f"thanks-{signup.pk}-%s")
        if signup.status == SignupStatus.CONFIRMED and started and not signup.thanks
        else None,
    }


@personal
@get_only
def my_signups(request):
    now = timezone.now()
    mine = selectors.signups_of(user=request.user)
    coming = Q(starts_at__gt=now, status__in=LIVE_STATUSES)
    upcoming = list(mine.filter(coming).order_by("starts_at", "id"))
    page = Paginator(mine.exclude(coming), PAST_SIGNUPS_PER_PAGE).get_page(request.GET.get("page"))
    positions = selectors.waitlist_positions(upcoming)
    return render(
        request,
        "matching/my_signups.html",
        {
            "upcoming": [_signup_item(s, now, positions) for s in upcoming],
            "page": page,
            "others": [_signup_item(s, now, {}) for s in page.object_list],
        },
    )


@personal
@require_POST
def signup_cancel(request, pk: int):
    signup = selectors.signup_get(user=request.user, pk=pk)
    try:
        services.signup_cancel(signup=signup, actor=request.user)
    except ValidationError as error:
        _refused(request, error)
    else:
        messages.success(
            request,
            _("「%(title)s」（%(when)s）の申込をキャンセルしました。")
            % {"title": signup.session.task.title, "when": jdatetime(signup.session.starts_at)},
        )
    return redirect("matching:my_signups")


@personal
@require_POST
def signup_confirm(request, pk: int):
    signup = selectors.signup_get(user=request.user, pk=pk)
    try:
        services.signup_confirm(signup=signup, actor=request.user)
    except ValidationError as error:
        _refused(request, error)
    else:
        messages.success(
            request,
            _("「%(title)s」（%(when)s）への参加が確定しました。")
            % {"title": signup.session.task.title, "when": jdatetime(signup.session.starts_at)},
        )
    return redirect("matching:my_signups")


@personal
@get_or_post
def signup_thanks(request, pk: int):
    signup = selectors.signup_get(user=request.user, pk=pk)
    if request.method == "POST":
        form = forms.ThanksForm(request.POST)
        if form.is_valid():
            try:
                services.signup_thank(
                    signup=signup, actor=request.user, message=form.cleaned_data["message"]
                )
            except ValidationError as error:
                put_errors(error, form)
            else:
                messages.success(request, _("ヌシにありがとうメッセージを送りました。"))
                return redirect("matching:my_signups")
    else:
        form = forms.ThanksForm(initial={"message": signup.thanks})
    return render(request, "matching/signup_thanks.html", {"signup": signup, "form": form})


@personal
@get_only
def signup_ical(request, pk: int):
    signup = selectors.signup_get(user=request.user, pk=pk)
    if signup.status != SignupStatus.CONFIRMED:
        raise Http404
    url = request.build_absolute_uri(reverse("matching:task_detail", args=[signup.session.task_id]))
    return ical.ical_response(signup, url=url)


# --- Hosts -------------------------------------------------------------------------------

STATUS_ORDER = [
    TaskStatus.DRAFT,
    TaskStatus.IN_REVIEW,
    TaskStatus.PUBLISHED,
    TaskStatus.CLOSED,
    TaskStatus.COMPLETED,
    TaskStatus.CANCELLED,
]


def _by_status(tasks) -> list[dict]:
    groups = defaultdict(list)
    for task in tasks:
        groups[task.status].append(task)
    return [
        {"status": status, "label": status.label, "tasks": groups[status]}
        for status in STATUS_ORDER
        if groups[status]
    ]


@personal
@get_only
def host_home(request):
    scope = staff_scope(user=request.user)
    codes = sorted(scope.host_municipality_codes | scope.staff_municipality_codes)
    tasks = list(
        selectors.tasks_managed_by(user=request.user).filter(host=request.user)[:HOST_TASKS_LIMIT]
    )
    return render(
        request,
        "matching/host_home.html",
        {
            "applications": list(selectors.host_applications_of(user=request.user)[:50]),
            "groups": _by_status(tasks),
            "towns": [
                {
                    "municipality": municipality,
                    "is_staff": scope.manages_municipality(municipality.code),
                }
                for municipality in Municipality.objects.filter(code__in=codes)
                .select_related("prefecture")
                .order_by("code")
            ],
        },
    )


@personal
@get_or_post
def host_apply(request):
    chosen = None
    choice_error = ""
    if request.method == "POST":
        form = forms.HostApplyForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                application = services.host_apply(
                    person=request.user,
                    municipality=data["municipality"],
                    organisation=data["organisation"],
                    message=data["message"],
                )
            except ValidationError as error:
                put_errors(error, form)
            else:
                messages.success(
                    request,
                    _(
                        "%(name)s にヌシの申請をしました。"
                        "まちの職員が審査して、結果をお知らせします。"
                    )
                    % {"name": application.municipality.name},
                )
                return redirect("matching:host_home")
        chosen = form.cleaned_data.get("municipality") if hasattr(form, "cleaned_data") else None
    else:
        code = nfkc(request.GET.get("municipality", "")).strip()[:20]
        form = forms.HostApplyForm(initial={"municipality": code})
        if code:
            try:
                chosen = municipality_by_code(code)
            except ValidationError as error:
                choice_error = error.messages[0]
    search, matches = municipality_picker(request)
    return render(
        request,
        "matching/host_apply.html",
        {
            "form": form,
            "search": search,
            "matches": matches,
            "chosen": chosen,
            "choice_error": choice_error,
            "hosts_for": staff_scope(user=request.user).host_municipality_codes,
        },
    )


# --- Tasks: writing them -----------------------------------------------------------------


@personal
@get_or_post
def task_new(request, code: str):
    municipality = get_object_or_404(
        Municipality.objects.select_related("prefecture"), code=_municipality_code(code)
    )
    scope = staff_scope(user=request.user)
    is_staff = scope.manages_municipality(municipality.code)
    if not (is_staff or scope.hosts_for(municipality.code)):
        raise PermissionDenied(
            _("%(name)s のお手伝いを作れるのは、その市区町村の職員と承認されたヌシだけです。")
            % {"name": municipality.name}
        )
    session_errors: list[str] = []
    if request.method == "POST":
        form = forms.TaskForm(request.POST, request.FILES, for_host=not is_staff)
        formset = forms.SessionFormSet(request.POST, prefix="sessions")
        form_ok, formset_ok = form.is_valid(), formset.is_valid()
        if form_ok and formset_ok:
            try:
                task = services.task_create(
                    actor=request.user,
                    municipality=municipality,
                    sessions=formset.sessions(),
                    photo=form.cleaned_data["photo"],
                    **form.task_fields(),
                )
            except ValidationError as error:
                session_errors, rest = _take_errors(error, "sessions")
                if rest is not None:
                    put_errors(rest, form)
            else:
                if is_staff:
                    done = _("下書きを保存しました。内容を確かめて「公開する」を押してください。")
                else:
                    done = _(
                        "下書きを保存しました。内容を確かめて「審査を依頼する」を押してください。"
                        "まちの職員が確認して公開します。"
                    )
                messages.success(request, done)
                return redirect("matching:task_detail", task.pk)
    else:
        form = forms.TaskForm(initial={"host_name": municipality.name}, for_host=not is_staff)
        formset = forms.SessionFormSet(prefix="sessions")
    return render(
        request,
        "matching/task_form.html",
        {
            "municipality": municipality,
            "form": form,
            "formset": formset,
            "session_errors": session_errors,
            "is_staff": is_staff,
        },
    )


def _with_revision(task, revision):
    """A copy of the task as the pending revision would make it (for the host's form)."""
    if revision is None:
        return task
    proposed = copy.copy(task)
    for name, value in revision.changes.items():
        setattr(proposed, name, value)
    return proposed


HELD_DONE = gettext_lazy(
    "変更を市区町村の職員に送りました。職員が確認して承認するまで、公開中の内容はそのままです。"
)


@personal
@get_or_post
def task_edit(request, pk: int):
    task = _managed_task(request, pk)
    editable = task.status in EDITABLE_STATUSES
    is_staff = staff_scope(user=request.user).manages_municipality(task.municipality_id)
    # Once published, only the town's staff change whether it is a designated activity,
    # and a host's change waits for them (a revision).
    locked = task.status == TaskStatus.PUBLISHED and not is_staff
    held = services.changes_held(actor=request.user, task=task)
    pending = selectors.revision_pending_of(task) if held else None
    shown = _with_revision(task, pending)
    options = {"instance": shown, "designated_locked": locked, "for_host": not is_staff}
    if request.method == "POST" and editable:
        form = forms.TaskForm(request.POST, request.FILES, **options)
        if form.is_valid():
            try:
                if held:
                    revision = services.task_revision_submit(
                        task=task,
                        actor=request.user,
                        fields=form.task_fields(),
                        photo=form.cleaned_data["photo"],
                    )
                else:
                    services.task_update(
                        task=task,
                        actor=request.user,
                        photo=form.cleaned_data["photo"],
                        **form.task_fields(),
                    )
            except ValidationError as error:
                put_errors(error, form)
            else:
                if held:
                    messages.success(request, str(HELD_DONE))
                    return redirect("matching:revision_detail", revision.pk)
                messages.success(request, _("お手伝いの内容を保存しました。"))
                return redirect("matching:task_detail", task.pk)
    else:
        form = forms.TaskForm(**options)
    return render(
        request,
        "matching/task_form.html",
        {
            "task": task,
            "municipality": task.municipality,
            "form": form,
            "editable": editable,
            "held": held,
            "pending_revision": pending,
        },
    )


@personal
@get_or_post
def task_sessions(request, pk: int):
    task = _managed_task(request, pk)
    if request.method == "POST":
        form = forms.SessionForm(request.POST)
        if form.is_valid():
            held = services.changes_held(actor=request.user, task=task)
            try:
                if held:
                    revision = services.task_revision_submit(
                        task=task, actor=request.user, sessions=[form.session()]
                    )
                else:
                    services.session_add(task=task, actor=request.user, **form.session())
            except ValidationError as error:
                put_errors(error, form, aliases=forms.SessionForm.aliases)
            else:
                if held:
                    messages.success(request, str(HELD_DONE))
                    return redirect("matching:revision_detail", revision.pk)
                messages.success(request, _("開催回を追加しました。"))
                return redirect("matching:task_sessions", task.pk)
    else:
        form = forms.SessionForm()
    sessions = list(selectors.sessions_of(task))
    now = timezone.now()
    for session in sessions:
        session.task = task
        session.changeable = (
            session.status == SessionStatus.SCHEDULED
            and session.starts_at > now
            and task.status in EDITABLE_STATUSES
        )
    return render(
        request,
        "matching/task_sessions.html",
        {
            "task": task,
            "sessions": sessions,
            "form": form,
            "may_add": task.status in EDITABLE_STATUSES,
        },
    )


@personal
@get_or_post
def session_edit(request, pk: int):
    session = _managed_session(request, pk)
    task = session.task
    if request.method == "POST":
        form = forms.SessionForm(request.POST)
        if form.is_valid():
            held = services.changes_held(actor=request.user, task=task)
            try:
                if held:
                    revision = services.task_revision_submit(
                        task=task,
                        actor=request.user,
                        sessions=[{"session": session.pk, **form.session()}],
                    )
                else:
                    services.session_update(session=session, actor=request.user, **form.session())
            except ValidationError as error:
                put_errors(error, form, aliases=forms.SessionForm.aliases)
            else:
                if held:
                    messages.success(request, str(HELD_DONE))
                    return redirect("matching:revision_detail", revision.pk)
                messages.success(
                    request,
                    _("開催回を変更しました。日時が変わったときは、申し込んだ人にお知らせします。"),
                )
                return redirect("matching:task_sessions", task.pk)
    else:
        form = forms.SessionForm(initial=forms.SessionForm.initial_for(session))
    return render(
        request,
        "matching/session_edit.html",
        {"session": session, "task": task, "form": form},
    )


@personal
@get_or_post
def session_cancel(request, pk: int):
    session = _managed_session(request, pk)
    task = session.task
    if request.method == "POST":
        form = forms.ReasonForm(request.POST)
        if form.is_valid():
            try:
                services.session_cancel(
                    session=session, actor=request.user, reason=form.cleaned_data["reason"]
                )
            except ValidationError as error:
                put_errors(error, form)
            else:
                messages.success(
                    request, _("開催回を中止しました。申し込んだ人にお知らせしました。")
                )
                return redirect("matching:task_sessions", task.pk)
    else:
        form = forms.ReasonForm()
    return render(
        request,
        "matching/session_cancel.html",
        {
            "session": session,
            "task": task,
            "form": form,
            "live": session.signups.filter(status__in=LIVE_STATUSES).count(),
        },
    )


TRANSITIONS = {
    "submit": services.task_submit,
    "publish": services.task_publish,
    "close": services.task_close,
    "complete": services.task_complete,
}


def _transition_done(action: str) -> str:
    return {
        "submit": _("審査を依頼しました。まちの職員が確認して公開します。"),
        "publish": _("お手伝いを公開しました。"),
        "close": _("募集を締め切りました。申し込んだ人の参加はそのままです。"),
        "complete": _("お手伝いを終了にしました。活動レポートを書けます。"),
    }[action]


@personal
@get_or_post
def task_transition(request, pk: int, action: str):
    task = selectors.task_get(user=request.user, pk=pk)
    if action == "return":
        return _task_return(request, task)
    if action not in TRANSITIONS:
        raise Http404
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        TRANSITIONS[action](task=task, actor=request.user)
    except ValidationError as error:
        _refused(request, error)
    else:
        messages.success(request, _transition_done(action))
    return redirect(safe_next(request, _task_url(task)))


def _task_return(request, task):
    """Staff send a task in review back to its host, saying what to change."""
    if not staff_scope(user=request.user).manages_municipality(task.municipality_id):
        raise PermissionDenied(_("この市区町村の職員だけができる操作です。"))
    next_url = safe_next(request, reverse("matching:staff_tasks", args=[task.municipality_id]))
    if request.method == "POST":
        form = forms.ReturnForm(request.POST, auto_id=f"return-{task.pk}-%s")
        if form.is_valid():
            try:
                services.task_return(task=task, actor=request.user, note=form.cleaned_data["note"])
            except ValidationError as error:
                put_errors(error, form)
            else:
                messages.success(request, _("お手伝いをヌシに差し戻しました。"))
                return redirect(next_url)
    else:
        form = forms.ReturnForm(auto_id=f"return-{task.pk}-%s")
    return render(
        request, "matching/task_return.html", {"task": task, "form": form, "next": next_url}
    )


@personal
@get_or_post
def task_cancel(request, pk: int):
    task = _managed_task(request, pk)
    if request.method == "POST":
        form = forms.ReasonForm(request.POST)
        if form.is_valid():
            try:
                services.task_cancel(
                    task=task, actor=request.user, reason=form.cleaned_data["reason"]
                )
            except ValidationError as error:
                put_errors(error, form)
            else:
                messages.success(
                    request, _("お手伝いを中止しました。申し込んだ人全員にお知らせしました。")
                )
                return redirect("matching:task_detail", task.pk)
    else:
        form = forms.ReasonForm()
    return render(
        request,
        "matching/task_cancel.html",
        {
            "task": task,
            "form": form,
            "cancellable": task.status not in (TaskStatus.COMPLETED, TaskStatus.CANCELLED),
        },
    )


@personal
@get_or_post
def task_report(request, pk: int):
    task = _managed_task(request, pk)
    if request.method == "POST":
        form = forms.ReportForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                services.task_report_publish(
                    task=task,
                    actor=request.user,
                    report=form.cleaned_data["report"],
                    photo=form.cleaned_data["photo"],
                )
            except ValidationError as error:
                task.refresh_from_db()
                put_errors(error, form)
            else:
                messages.success(request, _("活動レポートを公開しました。"))
                return redirect(_task_url(task) + "#report")
    else:
        form = forms.ReportForm(initial={"report": task.report})
    return render(request, "matching/task_report.html", {"task": task, "form": form})


# --- Participants ------------------------------------------------------------------------

# Who comes first in a session's list of sign-ups.
PARTICIPANT_ORDER = {
    SignupStatus.CONFIRMED: 0,
    SignupStatus.OFFERED: 1,
    SignupStatus.PENDING: 2,
    SignupStatus.WAITLISTED: 3,
}


@personal
@get_only
def participants(request, pk: int):
    task = _managed_task(request, pk)
    sessions = list(selectors.sessions_of(task))
    signups = defaultdict(list)
    for signup in services.participants_read(viewer=request.user, task=task):
        signups[signup.session_id].append(signup)
    now = timezone.now()
    groups = []
    for session in sessions:
        session.task = task
        rows = sorted(
            signups.get(session.pk, []), key=lambda s: (PARTICIPANT_ORDER.get(s.status, 9), s.pk)
        )
        groups.append({"session": session, "signups": rows, "started": session.starts_at <= now})
    return render(
        request,
        "matching/participants.html",
        {"task": task, "groups": groups, "approval": task.signup_mode == SignupMode.APPROVAL},
    )


def _participants_url(signup) -> str:
    return reverse("matching:participants", args=[signup.session.task_id]) + (
        f"#session-{signup.session_id}"
    )


@personal
@require_POST
def attendance(request, pk: int):
    signup = selectors.signup_managed_get(user=request.user, pk=pk)
    value = request.POST.get("attendance", "")
    try:
        services.attendance_mark(signup=signup, actor=request.user, attendance=value)
    except ValidationError as error:
        _refused(request, error)
    else:
        messages.success(
            request,
            _("%(name)s さんの出欠を「%(attendance)s」にしました。")
            % {
                "name": (signup.person.public_name or _("（名前の登録なし）")),
                "attendance": Attendance(value).label,
            },
        )
    return redirect(_participants_url(signup))


@personal
@require_POST
def signup_decide(request, pk: int):
    signup = selectors.signup_managed_get(user=request.user, pk=pk)
    decision = request.POST.get("decision", "")
    if decision not in ("accept", "decline"):
        messages.error(request, _("「参加を承認」か「お断り」を選んでください。"))
        return redirect(_participants_url(signup))
    try:
        services.signup_decide(signup=signup, actor=request.user, accept=decision == "accept")
    except ValidationError as error:
        _refused(request, error)
    else:
        name = signup.person.public_name or _("（名前の登録なし）")
        if decision == "accept":
            messages.success(request, _("%(name)s さんの参加を承認しました。") % {"name": name})
        else:
            messages.success(request, _("%(name)s さんの申込をお断りしました。") % {"name": name})
    return redirect(_participants_url(signup))


# --- Staff -------------------------------------------------------------------------------


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


def _host_queue_page(request, municipality, *, bound_pk=None, bound_form=None):
    """The queue; the form just sent keeps its errors, and if its application has left
    the queue meanwhile, its errors become messages."""
    queue = list(services.host_queue_read(viewer=request.user, municipality=municipality))
    if bound_form is not None and bound_pk not in {a.pk for a in queue}:
        for error in bound_form.non_field_errors():
            messages.error(request, error)
    items = [
        {
            "application": application,
            "form": bound_form
            if application.pk == bound_pk
            else forms.HostDecisionForm(prefix=f"application-{application.pk}"),
        }
        for application in queue
    ]
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
    form = forms.HostDecisionForm(request.POST, prefix=f"application-{application.pk}")
    if form.is_valid():
        try:
            services.host_application_decide(
                application=application,
                actor=request.user,
                approve=form.approve,
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            put_errors(error, form)
        else:
            name = application.person.public_name or _("（名前の登録なし）")
            if form.approve:
                done = _("%(name)s さんをヌシとして承認しました。") % {"name": name}
            else:
                done = _("%(name)s さんの申請を承認しませんでした。") % {"name": name}
            messages.success(request, done)
            return redirect("matching:host_applications", municipality.code)
    return _host_queue_page(request, municipality, bound_pk=application.pk, bound_form=form)


# --- Revisions: a host's change to a published task -------------------------------------


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
            "form": form or forms.RevisionDecisionForm(),
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
    form = forms.RevisionDecisionForm(request.POST)
    if form.is_valid():
        try:
            services.task_revision_decide(
                revision=revision,
                actor=request.user,
                approve=form.approve,
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            put_errors(error, form)
        else:
            if form.approve:
                messages.success(request, _("変更を承認し、公開中のお手伝いに反映しました。"))
            else:
                messages.success(request, _("変更を却下しました。ヌシに理由を伝えます。"))
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
