"""Template filters about a person's power: whether to show the staff links."""

from __future__ import annotations

from django import template

from accounts.selectors import staff_scope

register = template.Library()


@register.filter
def is_staff_member(user) -> bool:
    """Staff of a municipality or prefecture, or a national administrator."""
    return staff_scope(user=user).is_staff
