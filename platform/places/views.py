"""The home page and the municipality pages: search by kanji, kana or code; one page per
municipality and prefecture."""

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from core.public_cache import public_response

from .forms import MunicipalitySearchForm
from .models import Municipality, Prefecture, Region
from .selectors import municipality_nearby, municipality_search, prefecture_list
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


@_public
def municipality_detail(request, code: str):
    municipality = get_object_or_404(Municipality.objects.select_related("prefecture"), code=code)
    nearby = municipality_nearby(municipality=municipality, km=NEARBY_KM)
    return render(
        request,
        "places/municipality_detail.html",
        {"municipality": municipality, "nearby": nearby, "nearby_km": NEARBY_KM},
    )


@_public
def prefecture_detail(request, code: str):
    prefecture = get_object_or_404(Prefecture, code=code)
    return render(
        request,
        "places/prefecture_detail.html",
        {"prefecture": prefecture, "municipalities": prefecture.municipalities.order_by("code")},
    )
