"""Public answers from the shared cache, keyed by what they show, with ETag and 304.

A view hands ``public_response`` a way to build its answer and the names of the versions
its data hangs on (``core.versions``). For an anonymous ``GET`` the answer is looked up
under a key made of the path, the query (parameters sorted, every value kept), the
language, the versions and the minute, and built and stored only on a miss. Every such
answer carries a weak ``ETag`` of that key, and a request whose ``If-None-Match`` names it
gets a ``304`` without a body.

What varies per person never enters the cache:

- Only anonymous requests use it (no session user, no ``Authorization`` header, no message
  waiting to be shown), and never while the shared cache is down (``core.versions``).
  Signed-in people get the view's own answer, which ``core.middleware`` makes
  ``private, no-store``; a view whose answer is the same for everyone may let them share
  the entry (``shared=True``) with their answers still private.
- Pages carry a CSRF token in their forms (the language switch). It is cut out of the
  stored copy and each answer gets a token of its own request's secret (and so its cookie,
  as Django's CSRF middleware sets it); the ETag of a page includes the CSRF cookie, so a
  browser's copy is confirmed only while its token is still good. Pages are therefore
  ``private`` (a shared proxy must not hand one visitor's cookie to another); API answers
  hold no cookie and are ``public``. Both say ``Vary: Accept-Language, Cookie`` (the
  language comes from either).
- The minute is in the key because what the board shows also changes with time (a session
  that began, a deadline passed) without any write: an entry lives at most a minute, and
  ``max-age`` (``PUBLIC_CACHE_MAX_AGE``, a few seconds) is all a proxy may keep an answer
  without asking again.

The front door (``front_answer``, from ``core.middleware.PublicCacheMiddleware``, the
innermost middleware) answers a repeat before URL resolution and the view: every other
middleware has run, so the request is known to be anonymous and its language is set as the
view would see it. What it needs of a path (its kind, its versions, the API's rate limits)
is learned from the view's own answer in each process. It serves only an entry the view
stored under the same key; otherwise it hands over what it read (the versions, the entry
and the rate limit's count) so that the view costs no second round trip and the limit
counts once.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.utils import translation
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from rest_framework.renderers import JSONRenderer

from .api import AnonRateThrottle, ScopedRateThrottle, UserRateThrottle, count_request
from .versions import cache_is_down, version_keys, versions_from

ENTRY_SECONDS = 60
_TOKEN_RE = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"')
_TOKEN_MARK = b'name="csrfmiddlewaretoken" value="\x00csrf\x00"'
_MARK = b"\x00csrf\x00"


def is_anonymous(request) -> bool:
    """A request whose answer can come from the public cache."""
    if request.method not in ("GET", "HEAD") or "HTTP_AUTHORIZATION" in request.META:
        return False
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return False
    storage = getattr(request, "_messages", None)
    return not (storage is not None and len(storage))  # len() reads, keeps them


def cache_key(request, kind: str, extra: str = "") -> str:
    """The entry's key: what the answer shows but the versions (marked inside the entry)."""
    query = sorted((name, tuple(values)) for name, values in request.GET.lists())
    what = repr((request.path, query, extra)).encode()
    digest = hashlib.blake2b(what, digest_size=16).hexdigest()
    language = translation.get_language() or ""
    return f"public:{kind}:{language}:{int(time.time() // ENTRY_SECONDS)}:{digest}"


# Where a DRF view's rate limit reads the entry in its own round trip to Redis (core.api).
PREFETCH_ATTR = "public_cache_prefetch"


def _lookup(key: str, names: tuple[str, ...], request=None):
    """The current versions of ``names`` and the entry at ``key`` if it was made under them,
    read in one round trip (the rate limit's, when it read them: ``PublicCacheMixin``)."""
    keys = [*version_keys(*names), key]
    prefetched = getattr(request, PREFETCH_ATTR, None) if request is not None else None
    if prefetched is not None and prefetched["keys"] == keys and prefetched["found"] is not None:
        found = prefetched["found"]
    else:
        found = cache.get_many(keys)
    versions = versions_from(found, names)
    entry = found.get(key)
    if entry is not None and entry[0] != versions:
        entry = None  # made before a write: built again
    return versions, entry


def enabled() -> bool:
    """On where the cache is shared by every web process (``PUBLIC_CACHE``: Redis); off in
    the embedded mode, whose periodic jobs run in a process of their own."""
    return settings.PUBLIC_CACHE and not cache_is_down()


def _usable(request, shared: bool) -> bool:
    if not enabled():
        return False
    return is_anonymous(request) or (
        shared and request.method in ("GET", "HEAD") and not _has_messages(request)
    )


def _has_messages(request) -> bool:
    storage = getattr(request, "_messages", None)
    return storage is not None and bool(len(storage))


def _answer(request, body: bytes, content_type: str, etag: str, *, page: bool) -> HttpResponse:
    if page and _MARK in body:
        body = body.replace(_MARK, get_token(request).encode())
    response = HttpResponse(body, content_type=content_type)
    patch_vary_headers(
        response,
        # (An API answer is also DRF's choice of renderer by Accept.)
        ("Accept-Language", "Cookie")
        if page
        else ("Accept", "Accept-Language", "Cookie", "Authorization"),
    )
    if not is_anonymous(request):
        return response  # private, no-store (core.middleware); no validator for a person
    if page:
        etag = hashlib.blake2b(
            (etag + request.COOKIES.get(settings.CSRF_COOKIE_NAME, "")).encode(), digest_size=12
        ).hexdigest()
    response["ETag"] = f'W/"{etag}"'
    max_age = settings.PUBLIC_CACHE_MAX_AGE
    if page:
        patch_cache_control(response, private=True, max_age=0, must_revalidate=True)
    else:
        patch_cache_control(response, public=True, max_age=max_age, must_revalidate=True)
    return get_conditional_response(request, etag=response["ETag"], response=response)


def public_response(
    request,
    *,
    names: tuple[str, ...],
    build: Callable[[], HttpResponse],
    kind: str = "page",
    shared: bool = False,
    extra: str = "",
) -> HttpResponse:
    """``build()``'s answer, from the cache where the request allows (above).

    ``kind`` is ``page`` (HTML with forms) or ``api`` (JSON); ``shared``: the answer is the
    same for a signed-in person (then served from the same entry, still private);
    ``extra``: anything else the answer depends on. Only a 200 is stored; a refusal
    (400, 404) is built each time."""
    if not _usable(request, shared):
        return build()
    key = cache_key(request, kind, extra)
    versions, entry = _lookup(key, names, request)
    page = kind == "page"
    if is_anonymous(request):
        _learn(request, kind, names, extra)
    if entry is None:
        response = build()
        if response.status_code != 200 or response.streaming or response.cookies:
            return response
        body = response.content
        if page:
            body = _TOKEN_RE.sub(_TOKEN_MARK, body)
        etag = hashlib.blake2b(f"{key}:{versions}".encode(), digest_size=12).hexdigest()
        entry = (versions, body, response["Content-Type"], etag)
        cache.set(key, entry, ENTRY_SECONDS)
    _versions, body, content_type, etag = entry
    return _answer(request, body, content_type, etag, page=page)


def cached_values(*wanted: tuple[tuple, tuple[str, ...], Callable[[], object]]) -> list:
    """Parts of an answer (rows, a rendered fragment), each ``(key_parts, names, build)``:
    shared by everyone who asks for the same ``key_parts`` under the current versions of
    ``names``, built on a miss, all read in one round trip. Where the cache is off or down,
    built each time."""
    if not enabled():
        return [build() for _parts, _names, build in wanted]
    minute = int(time.time() // ENTRY_SECONDS)
    keys = [
        f"part:{minute}:{hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()}"
        for parts, _names, _build in wanted
    ]
    every = sorted({name for _parts, names, _build in wanted for name in names})
    found = cache.get_many([*version_keys(*every), *keys])
    out = []
    for key, (_parts, names, build) in zip(keys, wanted, strict=True):
        versions = versions_from(found, names)
        entry = found.get(key)
        if entry is None or entry[0] != versions:
            entry = (versions, build())
            cache.set(key, entry, ENTRY_SECONDS)
        out.append(entry[1])
    return out


def api_response(request, *, names: tuple[str, ...], build: Callable, shared: bool = False):
    """``public_response`` for a DRF view: ``build()`` returns its ``Response``, whose data
    is stored as the JSON DRF would send. The browsable API is built each time."""
    if not isinstance(getattr(request, "accepted_renderer", None), JSONRenderer):
        return build()

    def rendered() -> HttpResponse:
        return HttpResponse(JSONRenderer().render(build().data), content_type="application/json")

    return public_response(request, names=names, build=rendered, kind="api", shared=shared)


class PublicCacheMixin:
    """For a DRF viewset whose ``public_cache_actions`` answer through ``api_response``
    under ``public_cache_names``: the anonymous limit's atomic count in Redis reads the
    versions and the entry in the same round trip (``core.api``), so that an answer from the
    cache costs one round trip to Redis, as a page's does."""

    public_cache_names: tuple[str, ...] = ()
    public_cache_actions: tuple[str, ...] = ("list", "retrieve")

    def public_cache_shared(self, request) -> bool:
        """Whether this request's answer is the same for a signed-in person (``shared``)."""
        return False

    def check_throttles(self, request):
        if (
            self.action in self.public_cache_actions
            and isinstance(getattr(request, "accepted_renderer", None), JSONRenderer)
            and enabled()
            and (is_anonymous(request) or self.public_cache_shared(request))
        ):
            keys = [*version_keys(*self.public_cache_names), cache_key(request, "api")]
            before = getattr(request, PREFETCH_ATTR, None)  # the front door's, if it read them
            if before is None or before["keys"] != keys:
                setattr(request, PREFETCH_ATTR, {"keys": keys, "found": None})
            request.public_cache_throttles = tuple(type(t) for t in self.get_throttles())
        super().check_throttles(request)


# --- The front door -------------------------------------------------------------------------

_ROUTES_SIZE = 4096  # paths remembered per process (a task page each: cleared when full)
_routes: dict[str, tuple[str, tuple[str, ...], str, tuple[type, ...]]] = {}
_routes_lock = threading.Lock()


def routes_forget() -> None:
    """Forget what was learned of every path (tests: their views' limits change with them)."""
    with _routes_lock:
        _routes.clear()


def _front_throttles(classes) -> bool:
    """Rate limits the front door can count as the view would: by client, not by view."""
    return all(
        issubclass(cls, (AnonRateThrottle, UserRateThrottle))
        and not issubclass(cls, ScopedRateThrottle)
        for cls in classes
    )


def _learn(request, kind: str, names: tuple[str, ...], extra: str) -> None:
    throttles = getattr(request, "public_cache_throttles", None) if kind == "api" else ()
    if throttles is None or not _front_throttles(throttles):
        return  # an API view whose limits the front door cannot count: always the view's
    route = (kind, names, extra, throttles)
    if _routes.get(request.path) == route:
        return
    with _routes_lock:
        if len(_routes) >= _ROUTES_SIZE:
            _routes.clear()
        _routes[request.path] = route


def _asks_json(request) -> bool:
    """What DRF would answer with its first renderer, JSON (no ``format``, no preference for
    the browsable API's HTML)."""
    accept = request.META.get("HTTP_ACCEPT", "")
    return "format" not in request.GET and (
        not accept or accept == "*/*" or accept.startswith("application/json")
    )


def front_answer(request) -> HttpResponse | None:
    """The cached answer to an anonymous repeat of a path the views answered from the cache,
    or ``None`` for the view to answer (with what was read handed over)."""
    route = _routes.get(request.path)
    if route is None or not enabled() or not is_anonymous(request):
        return None
    kind, names, extra, throttles = route
    if kind == "api" and not _asks_json(request):
        return None
    key = cache_key(request, kind, extra)
    prefetch = {"keys": [*version_keys(*names), key], "found": None}
    counted, refused = {}, False
    for cls in throttles:
        throttle = cls()
        limit_key = throttle.get_cache_key(request, None) if throttle.rate else None
        if limit_key is None:
            continue
        count, remaining = count_request(limit_key, throttle.duration, prefetch)
        counted[limit_key] = (count, remaining)
        refused = refused or count > throttle.num_requests
    if prefetch["found"] is None:
        prefetch["found"] = cache.get_many(prefetch["keys"])
    setattr(request, PREFETCH_ATTR, prefetch)
    request.rate_limit_counted = counted  # the view's throttles take these counts
    if refused:
        return None  # the view refuses it, with its own answer (429 and Retry-After)
    versions = versions_from(prefetch["found"], names)
    entry = prefetch["found"].get(key)
    if entry is None or entry[0] != versions:
        return None
    _versions, body, content_type, etag = entry
    return _answer(request, body, content_type, etag, page=kind == "page")
