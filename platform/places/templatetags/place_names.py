"""The one way a page names a place (a built-in library: no ``{% load %}`` needed).

``{{ municipality|place }}``: 飛騨市 on a Japanese page; on an English one
``Hida (<span lang="ja">飛騨市</span>)``, so a screen reader reads the kanji as Japanese.
``{{ municipality|place:"full" }}``: 岐阜県飛騨市, or ``Hida (飛騨市), Gifu``.
``{{ prefecture|place }}``: 岐阜県, or ``Gifu (岐阜県)``.
``place_text`` is the same as plain text, for ``<title>`` and attributes.
What a place may be: ``places.names.place_name``.
"""

from __future__ import annotations

from django import template
from django.utils.html import format_html

from places.names import place_name

register = template.Library()


@register.filter
def place(value, arg: str = ""):
    """The place's name as HTML, in the page's language (above)."""
    return format_html("{}", place_name(value, full=arg == "full", html=True))


@register.filter
def place_text(value, arg: str = "") -> str:
    """The place's name as plain text, for a title or an attribute (escaped as usual)."""
    return str(place_name(value, full=arg == "full"))
