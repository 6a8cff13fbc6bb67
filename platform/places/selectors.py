"""Reads of prefectures and municipalities."""

from __future__ import annotations

from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.db.models.functions import Lower, Replace

from . import distances
from .kana import normalize
from .models import Municipality, Prefecture
from .romaji import SUFFIX_ROMAJI, place_key


def prefecture_list() -> QuerySet[Prefecture]:
    return Prefecture.objects.order_by("code")


def municipality_search(
    *, query: str = "", prefecture_code: str = "", region: str = ""
) -> QuerySet[Municipality]:
    """Municipalities matching a query in kanji, kana (hiragana or katakana, any width),
    romaji (with or without the suffix, any case: hida, Hida-shi) or code.

    Exact names and names that start with the query come first, then JIS code order.
    """
    qs = Municipality.objects.select_related("prefecture").order_by("code")
    if prefecture_code:
        qs = qs.filter(prefecture_id=prefecture_code)
    if region:
        qs = qs.filter(prefecture__region=region)
    return municipalities_matching(qs, query=query)


def municipalities_matching(qs: QuerySet[Municipality], *, query: str) -> QuerySet[Municipality]:
    """Narrow ``qs`` to the municipalities matching ``query``, best matches first."""
    key = place_key(query)
    if not key:
        return qs
    name = normalize(query)
    romaji = [key, *(f"{key}{suffix}" for suffix in SUFFIX_ROMAJI)]  # hida, hidashi, …
    return (
        qs.filter(search_text__contains=key)
        .annotate(romaji_key=Replace(Lower("romaji"), Value("-"), Value("")))
        .annotate(
            rank=Case(
                When(name=name, then=Value(0)),
                When(code=key, then=Value(0)),
                When(romaji_key__in=romaji, then=Value(0)),
                When(name__startswith=name, then=Value(1)),
                When(romaji_key__startswith=key, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            )
        )
        .order_by("rank", "code")
    )


def municipality_nearby(
    *, municipality: Municipality, km: float
) -> list[tuple[Municipality, float]]:
    """Other municipalities within ``km`` of this one, nearest first, with their distance."""
    near = distances.within_km(municipality.code, km)
    near.pop(municipality.code, None)
    by_code = Municipality.objects.select_related("prefecture").in_bulk(list(near))
    return [(by_code[code], distance) for code, distance in near.items()]
