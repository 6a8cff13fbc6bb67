"""Finding tasks: the list, the recommendations for the person, the calendar and the map."""

from __future__ import annotations

import calendar
import datetime
import math
import re
from collections import defaultdict

from django import forms as django_forms
from django.core.paginator import Paginator
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.dates import WEEKDAYS, WEEKDAYS_ABBR
from django.utils.translation import gettext as _

from core.dates import EARLIEST, LATEST
from core.pages import get_only, personal
from core.public_cache import cached_values, public_response
from core.text import nfkc
from places import maps
from places.models import Municipality
from places.selectors import prefecture_list
from places.versions import PLACES
from registry.models import Status as RegistrationStatus
from registry.services import profile_of

from .. import forms, selectors
from ..board_version import BOARD
from ..matcher import reason_codes, reason_texts
from ..selectors import Sort
from ._common import CODE_RE

TASKS_PER_PAGE = 20


RECOMMENDATIONS_PER_PAGE = 20


BOARD_RECOMMENDATIONS = 3


CALENDAR_LIMIT = 500


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
        # Read only when the filters are drawn (not when they come from the cache).
        django_forms.Select(
            choices=lambda: [("", _("すべて")), *((p.code, p.name) for p in prefecture_list())]
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


def _board_recommendations(request, number: int | None) -> list:
    """The best few recommendations, on the first page of the plain board (a search shows
    just what was asked for). One query; none without a home, as there are no matches."""
    if not request.user.is_authenticated or number != 1:
        return []
    if set(request.GET) - UNFILTERED_PARAMS:
        return []
    if profile_of(request.user).home_municipality_id is None:
        return []
    return list(selectors.recommendations_of(user=request.user)[:BOARD_RECOMMENDATIONS])


def _results(request, query, near_label: str, *, also: list) -> tuple[str, int, dict]:
    """The list part of the board (how many, the cards, the pages), as HTML, and the page's
    number: the same for everyone who asks the same, so shared through the cache. Also the
    facts of the tasks ``also`` (the person's recommendations), read in the same query."""
    page = Paginator(selectors.task_search(query), TASKS_PER_PAGE).get_page(request.GET.get("page"))
    tasks = list(page.object_list)
    facts = selectors.task_card_facts(tasks + also)
    html = render_to_string(
        "matching/includes/task_results.html",
        {"page": page, "cards": _cards(tasks, facts), "near_label": near_label},
        request=request,
    )
    return html, page.number, facts


@get_only
def task_list(request):
    """The board. Anonymous, the whole page comes from the public cache; signed in, its
    list part does (``_results``), and only what is the person's own is read for them."""
    return public_response(request, names=(BOARD, PLACES), build=lambda: _task_list(request))


def _task_list(request):
    form, query = _filter_form(request)
    context = _filter_context(form, query)
    asked = (translation.get_language(), request.path, sorted(request.GET.lists()))
    # The filters as the form shows them (the same for everyone with the same choices, a
    # home's name among them) and the list: rendered once for all, read in one round trip.
    wanted = [
        (
            ("task_panel", *asked, tuple(form.near_choices)),
            (PLACES,),
            lambda: render_to_string(
                "matching/includes/task_list_panel.html",
                {**context, "view": "list"},
                request=request,
            ),
        )
    ]
    # The person's recommendations (first page of the plain board) are read first, so that
    # a list built now reads their facts with its own.
    first = request.GET.get("page", "1") in ("", "1")
    matches = _board_recommendations(request, 1) if first and query is not None else []
    built: dict = {}
    if query is not None:
        near_label = context["near_label"]

        def listed_now() -> tuple[str, int]:
            html, number, facts = _results(
                request, query, near_label, also=[match.task for match in matches]
            )
            built["facts"] = facts
            return html, number

        wanted.append((("task_results", *asked, query, near_label), (BOARD, PLACES), listed_now))
    panel, *listed = cached_values(*wanted)
    results, recommended = None, []
    if listed:
        results, number = listed[0]
        if number != 1:
            matches = []
        elif not first:  # a page number past the end: the first page, as Paginator gives
            matches = _board_recommendations(request, number)
        if matches:
            facts = built.get("facts")
            if facts is None or not first:
                facts = selectors.task_card_facts([match.task for match in matches])
            recommended = _recommendation_cards(matches, profile_of(request.user), facts)
    return render(
        request,
        "matching/task_list.html",
        {
            **context,
            "panel": panel,
            "results": results,
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


# The map's markers: towns nearer than this (in the map's units, 438 across) are one.
MAP_CLUSTER_RADIUS = 20


@get_only
def task_map(request):
    """The tasks as points on an outline map of Japan (``places.maps``), clustered where
    dense; each marker links to its task, its town's tasks or, for a cluster, to its entry
    in the list under the map, which says the same in words."""
    return public_response(request, names=(BOARD, PLACES), build=lambda: _task_map(request))


def _task_map(request):
    form, query = _filter_form(request)
    places = selectors.task_counts_by_municipality(query) if query is not None else {}
    by_town = {code: place["n"] for code, place in places.items()}
    towns = Municipality.objects.select_related("prefecture").in_bulk(list(by_town))
    counts: dict[str, int] = defaultdict(int)
    points = []
    for code, count in by_town.items():
        town = towns[code]
        counts[town.prefecture_id] += count
        x, y = maps.project(town.longitude, town.latitude)
        points.append((x, y, count, town))
    markers = []
    for number, marker in enumerate(maps.cluster(points, radius=MAP_CLUSTER_RADIUS), start=1):
        marker.items.sort(key=lambda town: (-by_town[town.code], town.code))
        entry = {
            "number": number,
            "x": round(marker.x, 1),
            "y": round(marker.y, 1),
            "r": round(7.5 + 2 * math.log2(marker.count), 1),
            "count": marker.count,
            "towns": [(town, by_town[town.code]) for town in marker.items],
            "task": None,
        }
        if len(marker.items) == 1 and marker.count == 1:
            entry["task"] = places[marker.items[0].code]
        markers.append(entry)
    outlines = maps.outlines()
    prefectures = list(prefecture_list())
    return render(
        request,
        "matching/task_map.html",
        {
            **_filter_context(form, query),
            "view": "map",
            "outlines": [outlines[p.code] for p in prefectures],
            "prefectures": [(p, counts.get(p.code, 0)) for p in prefectures],
            "markers": markers,
            "view_box": f"0 0 {maps.WIDTH} {maps.HEIGHT}",
            "total": sum(counts.values()),
        },
    )
