"""The one way a page names a place (a built-in library: no ``{% load %}`` needed).

``{{ municipality|place }}``: 飛騨市 on a Japanese page; on an English one
``Hida (<span lang="ja">飛騨市</span>)``, so a screen reader reads the kanji as Japanese.
``{{ municipality|place:"full" }}``: 岐阜県飛騨市, or ``Hida (飛騨市), Gifu``.
``{{ prefecture|place }}``: 岐阜県, or ``Gifu (岐阜県)``.
``place_text`` is the same as plain text, for ``<title>`` and attributes.

A place is a ``Municipality`` or ``Prefecture``, or anything with a ``code`` (an object's
attribute or a dict's key) and a ``name``, such as the areas of the statistics pages: its
English name is then looked up by code (``places.names``). Anything else is shown as it is.
"""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.translation import get_language

from places.models import Municipality, Prefecture
from places.names import PlaceNames, names_of

register = template.Library()


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


def _english() -> bool:
    return not (get_language() or "ja").startswith("ja")


def _render(value, arg: str, *, html: bool):
    if value is None or value == "":
        return ""
    names = _names(value, full=arg == "full")
    if names is None:
        return _get(value, "name") if not isinstance(value, str) else value
    full = arg == "full" and bool(names.prefecture_name)
    if not _english():
        return f"{names.prefecture_name}{names.name}" if full else names.name
    if names.english == names.name:  # no romaji (not loaded yet)
        english = names.name
    elif html:
        english = format_html('{} (<span lang="ja">{}</span>)', names.english, names.name)
    else:
        english = f"{names.english} ({names.name})"
    if full:
        return (
            format_html("{}, {}", english, names.prefecture_english)
            if html
            else (f"{english}, {names.prefecture_english}")
        )
    return english


@register.filter
def place(value, arg: str = ""):
    """The place's name as HTML, in the page's language (above)."""
    rendered = _render(value, arg, html=True)
    return format_html("{}", rendered)


@register.filter
def place_text(value, arg: str = "") -> str:
    """The place's name as plain text, for a title or an attribute (escaped as usual)."""
    return str(_render(value, arg, html=False))
