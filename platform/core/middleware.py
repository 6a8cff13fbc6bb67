"""Middleware of the whole site."""

from __future__ import annotations

from django.utils.cache import add_never_cache_headers

from .public_cache import front_answer


class PrivateResponsesMiddleware:
    """Nothing answered to a signed-in person or an API token is kept by a cache.

    Such a response may carry personal data (``/api/me/``, registrants, a participant list,
    the inbox) whatever the view says, so every one of them is ``private, no-store``: never
    kept by a shared proxy, nor in the browser's cache for the next person at the same
    computer. Anonymous answers are public and keep what their views set. ``request.user`` is
    read after the view, so DRF's token authentication (which sets it) counts too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if "HTTP_AUTHORIZATION" in request.META or (user is not None and user.is_authenticated):
            add_never_cache_headers(response)
        return response


class PublicCacheMiddleware:
    """An anonymous repeat of a public answer from the cache, before URL resolution and the
    view (``core.public_cache``: the front door). The innermost middleware: every other one
    has seen the request (its session, language and user) and sees the answer."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in ("GET", "HEAD"):
            response = front_answer(request)
            if response is not None:
                return response
        return self.get_response(request)
