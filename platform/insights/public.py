"""Published statistics answered from a cache: what everyone without row-level rights sees
is the same for every anonymous viewer until the next publication, so it is rendered once
per publication and language and kept under the publication's version (``State``, moved by
every publication in the transaction that writes the pages: a new publication is a new key,
visible on the very next request). Browsers and proxies revalidate with the version as the
``ETag`` and get ``304 Not Modified`` while it holds.

What varies per person is kept out of the cached part: a page's form token (the language
switch's) is put in for each request, and signed-in viewers are never answered from here.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable

from django.core.cache import cache
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.translation import get_language

from . import selectors

# The form token's place in a cached page, filled in for each request.
TOKEN = "insights-csrf-token-placeholder"  # noqa: S105 — a marker, not a secret
CACHE_SECONDS = 24 * 60 * 60  # an entry outlives a day's publication at most
_LOCAL_SIZE = 64  # answers kept in each process too (a dict read beats a round trip)
_local: dict[str, tuple[int, bytes, dict]] = {}
_local_lock = threading.Lock()


def is_public(request) -> bool:
    """Anonymous, without an API token: the published figures, the same for everyone."""
    return "HTTP_AUTHORIZATION" not in request.META and not request.user.is_authenticated


def answer(
    request,
    *,
    name: str,
    build: Callable[[], HttpResponse],
    shared: bool,
) -> HttpResponse:
    """The cached answer ``name`` (what the URL and its parameters choose) at the current
    publication in the request's language; ``build`` makes it on a miss (a 200 is kept).
    ``shared``: proxies may keep it (the API); else only the browser (a page, which holds
    the visitor's form token)."""
    version = selectors.published_version()
    language = get_language() or ""
    token, token_of = "", ""
    if not shared:  # a 304 only to the browser that holds this form token's secret
        token = get_token(request)  # the visitor's (a new one sets its cookie)
        secret = request.META.get("CSRF_COOKIE") or ""
        token_of = "-" + hashlib.sha256(secret.encode()).hexdigest()[:8]
    etag = f'W/"stats-{version}-{language}-{_digest(name)}{token_of}"'
    response = get_conditional_response(request, etag=etag)
    if response is None:
        key = f"insights:public:{version}:{language}:{_digest(name)}"
        found = _local.get(key)
        if found is None:
            found = cache.get(key)
            if found is None:
                made = build()
                if made.status_code != 200 or not hasattr(made, "content"):
                    return _headers(made, etag=None, shared=shared)
                found = (made.status_code, made.content, _kept_headers(made))
                cache.set(key, found, CACHE_SECONDS)
            _remember(key, found)
        status, content, headers = found
        if not shared:
            content = content.replace(TOKEN.encode(), token.encode())
        response = HttpResponse(content, status=status)
        for header, value in headers.items():
            response[header] = value
    return _headers(response, etag=etag, shared=shared)


def _digest(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:16]


def _kept_headers(response: HttpResponse) -> dict:
    return {
        header: response[header]
        for header in ("Content-Type", "Content-Disposition", "Content-Language")
        if header in response
    }


def _remember(key: str, found: tuple) -> None:
    with _local_lock:
        if len(_local) >= _LOCAL_SIZE:
            _local.clear()  # old versions go with the rest; the shared cache still has them
        _local[key] = found


def _headers(response: HttpResponse, *, etag: str | None, shared: bool) -> HttpResponse:
    if etag is not None:
        response["ETag"] = etag
        # Kept, but asked again each time (no-cache): the next request after a publication
        # sees it. A page holds the visitor's form token: the browser's cache only.
        response["Cache-Control"] = "public, no-cache" if shared else "private, no-cache"
    patch_vary_headers(response, ("Accept-Language", "Cookie", "Authorization"))
    return response
