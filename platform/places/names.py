"""How the site names a place, in the request's language: 飛騨市 in Japanese, "Hida (飛騨市),
Gifu" in English (``place_name``; templates use it through the ``place`` filter).

A place is a ``Municipality`` or ``Prefecture``, or anything with a ``code`` (an object's
attribute or a dict's key) and a ``name``, such as the areas of the statistics pages: its
English name is then looked up by code in every place's names, read once per process (as
``distances`` reads coordinates). Anything else is shown as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import get_language

from .models import Municipality, Prefecture


@dataclass(frozen=True)
class PlaceNames:
    name: str  # 飛騨市, 岐阜県
    english: str  # Hida, Gifu
    prefecture_name: str = ""  # 岐阜県 (a municipality's)
    prefecture_english: str = ""  # Gifu


@lru_cache(maxsize=1)
def _table() -> dict[str, PlaceNames]:
    prefectures = {p.code: p for p in Prefecture.objects.all()}
    table = {code: PlaceNames(p.name, p.english_name) for code, p in prefectures.items()}
    for m in Municipality.objects.only("code", "name", "romaji", "prefecture_id"):
        prefecture = prefectures[m.prefecture_id]
        table[m.code] = PlaceNames(m.name, m.english_name, prefecture.name, prefecture.english_name)
    return table


def forget() -> None:
    """Drop what was read, after the places were (re)loaded."""
    _table.cache_clear()


def names_of(code: str) -> PlaceNames | None:
    """The names of the prefecture (2 digits) or municipality (6 digits) ``code``."""
    if not code:
        return None
    table = _table()
    if code not in table and len(table) < 47 + 1741:  # read before the load
        forget()
        table = _table()
    return table.get(code)


def place_ref(place: Municipality | Prefecture) -> dict[str, str]:
    """A place as a stored text's context holds it (a notification's): named by
    ``place_name`` in the language it is read in, as a plain name was before."""
    return {"code": place.code, "name": place.name}


def _get(value, attribute: str) -> str:
    if isinstance(value, dict):
        return str(value.get(attribute) or "")
    return str(getattr(value, attribute, "") or "")


def _names(value, *, full: bool) -> PlaceNames | None:
    if isinstance(value, Municipality):
        if not full:  # no need of the prefecture (a query, where it was not selected)
            return PlaceNames(value.name, value.english_name)
        prefecture = value.prefecture
        return PlaceNames(value.name, value.english_name, prefecture.name, prefecture.english_name)
    if isinstance(value, Prefecture):
        return PlaceNames(value.name, value.english_name)
    code = _get(value, "code")
    if not code.isdigit():
        return None
    found = names_of(code)
    if found is None or found.name != _get(value, "name"):
        return None
    return found


def place_name(value, *, full: bool = False, html: bool = False) -> str | SafeString:
    """The place's name in the active language: 飛騨市 (``full``: 岐阜県飛騨市); in English
    "Hida (飛騨市)" (``full``: "Hida (飛騨市), Gifu"). With ``html`` the kanji are marked
    ``<span lang="ja">`` and the answer is safe HTML; without, it is plain text."""
    if value is None or value == "":
        return ""
    names = _names(value, full=full)
    if names is None:
        return value if isinstance(value, str) else _get(value, "name")
    full = full and bool(names.prefecture_name)
    if (get_language() or "ja").startswith("ja"):
        return f"{names.prefecture_name}{names.name}" if full else names.name
    if names.english == names.name:  # no romaji (loaded before them)
        english = names.name
    elif html:
        english = format_html('{} (<span lang="ja">{}</span>)', names.english, names.name)
    else:
        english = f"{names.english} ({names.name})"
    if not full:
        return english
    if html:
        return format_html("{}, {}", english, names.prefecture_english)
    return f"{english}, {names.prefecture_english}"
