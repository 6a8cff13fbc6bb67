"""Filters for notification templates, whose context is JSON."""

from __future__ import annotations

import datetime

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def fromiso(value):
    """An ISO 8601 string from a notification's context, as a date or an aware datetime."""
    if not value or not isinstance(value, str):
        return value
    try:
        if len(value) == 10:
            return datetime.date.fromisoformat(value)
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        return value
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)
