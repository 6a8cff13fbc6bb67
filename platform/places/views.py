"""The home page and the municipality pages: search by kanji, kana or code; one page per
municipality and prefecture."""

import re

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render

from core.public_cache import public_response

from . import maps
from .forms import MunicipalitySearchForm
from .models import Municipality, MunicipalityKind, Prefecture, Region, TownPage
from .selectors import municipality_nearby, municipality_search, prefecture_list
from .town_page import town_page_names, town_sections
from .versions import PLACES

NEARBY_KM = 30


def home(request):
    return render(
        request,
        "home.html",
        {
            "prefecture_count": Prefecture.objects.count(),
            "municipality_count": Municipality.objects.count(),
        },
    )


def _public(view):
    """Anonymous answers of a reference-data page from the public cache (core.public_cache):
    they change only when the data are loaded again."""

    def wrapped(request, *args, **kwargs):
        return public_response(
            request, names=(PLACES,), build=lambda: view(request, *args, **kwargs)
        )

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


@_public
def municipality_index(request):
    form = MunicipalitySearchForm(request.GET or None)
    results = None
    if form.is_bound and form.is_valid() and form.has_criteria():
        data = form.cleaned_data
        results = Paginator(
            municipality_search(
                query=data["q"],
                prefecture_code=data["prefecture"].code if data["prefecture"] else "",
            ),
            50,
        ).get_page(request.GET.get("page"))
    regions = []
    prefectures = list(prefecture_list())
    for value, label in Region.choices:
        regions.append((label, [p for p in prefectures if p.region == value]))
    return render(
        request,
        "places/municipality_index.html",
        {"form": form, "results": results, "regions": regions},
    )


FIVE_DIGITS = re.compile(r"^[0-9]{5}$")


def municipality_detail(request, code: str):
    """A living town page: what its staff wrote, its current tasks, its perks and its
    published number of furusato residents (``places.town_page``). The 5-digit code (without
    its check digit, as many lists print it) is sent on to the 6-digit page."""
    if FIVE_DIGITS.fullmatch(code):
        municipality = get_object_or_404(Municipality, code__startswith=code)
        return redirect("places:municipality_detail", municipality.code, permanent=True)
    if not Municipality.objects.filter(code=code).exists():
        # Before the cache: no version is started for a code that names no town.
        raise Http404(code)
    sections = town_sections()
    return public_response(
        request,
        names=town_page_names(code, sections),
        build=lambda: _municipality_detail(request, code, sections),
    )


def _municipality_detail(request, code: str, sections):
    municipality = get_object_or_404(Municipality.objects.select_related("prefecture"), code=code)
    page = TownPage.objects.filter(municipality=municipality).first()
    parts = []
    for section in sections:
        context = section.build(request, municipality)
        if context is not None:
            parts.append({"template": section.template, **context})
    nearby = municipality_nearby(municipality=municipality, km=NEARBY_KM)
    return render(
        request,
        "places/municipality_detail.html",
        {
            "municipality": municipality,
            "page": page,
            "sections": parts,
            "nearby": nearby,
            "nearby_km": NEARBY_KM,
        },
    )


@_public
def prefecture_detail(request, code: str):
    prefecture = get_object_or_404(Prefecture, code=code)
    municipalities = list(prefecture.municipalities.order_by("code"))
    return render(
        request,
        "places/prefecture_detail.html",
        {
            "prefecture": prefecture,
            "municipalities": municipalities,
            "map": _prefecture_map(prefecture, municipalities),
        },
    )


def _prefecture_map(prefecture: Prefecture, municipalities: list[Municipality]) -> dict:
    """The prefecture on the outline map, its neighbours around it, its towns as labelled
    points. A label that would overlap one already placed is left out (cities placed
    first); its point keeps the name as its title."""
    outlines = maps.outlines()
    x, y, width, height = maps.view_box(outlines[prefecture.code].box)
    size = max(width, height) / 40  # the labels' size, in the map's units
    placed: list[tuple[float, float, float, float]] = []
    towns = []
    order = sorted(municipalities, key=lambda m: (m.kind != MunicipalityKind.CITY, m.code))
    for town in order:
        px, py = maps.project(town.longitude, town.latitude)
        box = (
            px + size * 0.5,
            py - size * 0.6,
            px + size * (0.6 + len(town.name)),
            py + size * 0.5,
        )
        overlaps = any(
            box[0] < other[2] and other[0] < box[2] and box[1] < other[3] and other[1] < box[3]
            for other in placed
        )
        if not overlaps:
            placed.append(box)
        towns.append({"town": town, "x": round(px, 2), "y": round(py, 2), "label": not overlaps})
    towns.sort(key=lambda entry: entry["town"].code)
    return {
        "view_box": f"{x:.1f} {y:.1f} {width:.1f} {height:.1f}",
        "outlines": [
            (code, outline, code == prefecture.code) for code, outline in outlines.items()
        ],
        "towns": towns,
        "font_size": round(size, 2),
        "dot": round(size * 0.3, 2),
        "label_dx": round(size * 0.55, 2),
    }
