"""What the server-rendered pages of every app share, as ``core.api`` is for the API:
method guards, the decorator of personal pages, service refusals put back on forms, and a
safe ``next`` address."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

get_only = require_http_methods(["GET"])
get_or_post = require_http_methods(["GET", "POST"])


def personal(view):
    """A page of the signed-in person (their own data or what they manage): login required,
    never cached."""
    return login_required(never_cache(view))


def put_errors(error: ValidationError, *forms_, aliases: dict[str, str] | None = None) -> None:
    """Show a service's refusal on the form that has the field (else at the top of the first)."""
    aliases = aliases or {}
    if not hasattr(error, "error_dict"):
        forms_[0].add_error(None, error)
        return
    for name, errors in error.error_dict.items():
        name = aliases.get(name, name)
        target = next((form for form in forms_ if name in form.fields), None)
        if target is None:
            forms_[0].add_error(None, errors)
        else:
            target.add_error(name, errors)


def safe_next(request, fallback: str) -> str:
    """The ``next`` address of the request if it stays on this site, else ``fallback``."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return fallback
