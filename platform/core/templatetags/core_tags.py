"""Template filters every room's pages share: dates and lists the Japanese way (SPEC 7a),
and the language's own way in English."""

from __future__ import annotations

import datetime

from django import template
from django.utils import dateformat, formats, timezone
from django.utils.html import linebreaks, urlize
from django.utils.safestring import mark_safe

from core import language
from core.language import japanese as _japanese

register = template.Library()


@register.filter
def jdate(value) -> str:
    """2026年11月23日(月) in Japanese (SPEC 7a); the language's own date format otherwise."""
    if not value:
        return ""
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value).date()
    if _japanese():
        return dateformat.format(value, "Y年n月j日(D)")
    return formats.date_format(value, "DATE_FORMAT")


@register.filter
def jdatetime(value) -> str:
    """2026年11月23日(月) 14:05 (24-hour) in Japanese."""
    if not value:
        return ""
    value = timezone.localtime(value)
    if _japanese():
        return dateformat.format(value, "Y年n月j日(D) H:i")
    return formats.date_format(value, "DATETIME_FORMAT")


@register.filter
def jlist(values) -> str:
    """A list in the language's own way: 「、」 in Japanese, ", " otherwise."""
    return language.list_join(values)


@register.filter
def aside(value) -> str:
    """``{{ email|aside }}``: 「（…）」 in Japanese, " (…)" otherwise."""
    return language.aside(value) if value not in (None, "") else ""


@register.simple_tag
def sep() -> str:
    """``A {% sep %} B``: 「・」 between details in Japanese, "·" otherwise."""
    return language.separator()


@register.simple_tag
def colon() -> str:
    """``{% translate "メモ" %}{% colon %}``: 「：」 in Japanese, ": " otherwise."""
    return language.colon()


_NOFOLLOW = ' rel="nofollow"'


@register.filter(needs_autoescape=True)
def linkify(value, autoescape=True):
    """Free text as typed with its web addresses made links, and its line breaks kept:
    Django's ``urlize`` (which escapes the text, and links only http, https, www. and
    e-mail addresses, never ``javascript:``), each link ``rel="nofollow noopener"``."""
    linked = urlize(value, nofollow=True, autoescape=autoescape)
    # The text itself was escaped by urlize, so this attribute can only be urlize's own.
    linked = linked.replace(_NOFOLLOW, ' rel="nofollow noopener"')
    return mark_safe(linebreaks(linked, autoescape=False))  # noqa: S308 — escaped by urlize
