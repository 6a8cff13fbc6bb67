"""Small template helpers of the board: a session's time span and a task's skills."""

from __future__ import annotations

from django import template
from django.core.exceptions import FieldDoesNotExist
from django.utils import dateformat, formats, timezone
from django.utils.translation import get_language

from core.templatetags.core_tags import jdatetime
from registry.flags import labels_of
from registry.models import Skill

from ..matcher import reason_texts
from ..models import Task

register = template.Library()


def _japanese() -> bool:
    return (get_language() or "ja").startswith("ja")


@register.filter
def span(session) -> str:
    """2026年12月3日(木) 09:00〜15:00; the end's date too when it is another day."""
    if session is None:
        return ""
    starts, ends = timezone.localtime(session.starts_at), timezone.localtime(session.ends_at)
    japanese = _japanese()
    separator = "〜" if japanese else " – "
    if starts.date() != ends.date():
        return f"{jdatetime(starts)}{separator}{jdatetime(ends)}"
    end = dateformat.format(ends, "H:i") if japanese else formats.time_format(ends, "TIME_FORMAT")
    return f"{jdatetime(starts)}{separator}{end}"


@register.filter
def task_field_labels(names) -> list[str]:
    """The labels of a task's fields, by name, in the reader's language (a notification
    stores the names, not the words of whoever made the change)."""
    labels = []
    for name in names or []:
        try:
            labels.append(str(Task._meta.get_field(name).verbose_name))
        except FieldDoesNotExist:  # a field renamed since: show its stored name
            labels.append(str(name))
    return labels


@register.filter
def skill_labels(mask: int) -> list[str]:
    """The labels of a task's wanted skills (a bitmask)."""
    return labels_of(Skill, mask or 0)


@register.filter
def match_reasons(codes) -> list[str]:
    """The matcher's reason codes (a notification's context, a match) in words."""
    return reason_texts(codes or [])
