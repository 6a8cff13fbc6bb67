"""Nothing of the registry's own any more: the date filters are ``core_tags``, the staff
check ``accounts_tags``. Only the import ``matching.templatetags.matching_tags`` still makes
is left, until matching imports ``core.templatetags.core_tags``; then delete this module."""

from django import template

from core.templatetags.core_tags import jdatetime

register = template.Library()

__all__ = ["jdatetime", "register"]
