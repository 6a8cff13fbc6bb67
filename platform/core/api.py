"""What the whole API shares: one error format, pagination and atomic rate limits.

Every error, from DRF or from Django, reaches the client as::

    {"error": {"status": 400, "code": "invalid", "message": "…",
               "fields": {"capacity": ["…"]}}}

``code`` is the refusal's own code (``core.errors``: ``session_full``, ``already_decided``
…), else ``invalid`` (400) or ``conflict`` (409). ``fields`` is present only for validation
errors: 400 when the input is wrong, 409 when it clashes with the state of things (a second
sign-up for the same session). Messages follow the request's language.
"""

from __future__ import annotations

import logging

from django.core.cache import caches
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, serializers, status, throttling
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .cache import DOWN as cache_down
from .cache import ResilientRedisCache
from .errors import Code, all_codes, code_of, error_body
from .text import nfkc

logger = logging.getLogger(__name__)


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def _messages(detail) -> list[str] | dict:
    if isinstance(detail, dict):
        return {key: _messages(value) for key, value in detail.items()}
    if isinstance(detail, list):
        flat: list[str] = []
        for item in detail:
            value = _messages(item)
            flat.extend(value if isinstance(value, list) else [value])
        return flat
    return [str(detail)]


def _flatten(fields) -> list[str]:
    if isinstance(fields, dict):
        return [message for value in fields.values() for message in _flatten(value)]
    return list(fields)


def _drf_code(detail) -> str | None:
    """The first code of ours among a serializer's errors (``date_out_of_range`` …)."""
    known = set(all_codes())
    stack = [detail]
    while stack:
        item = stack.pop(0)
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif getattr(item, "code", None) in known and item.code not in (Code.INVALID,):
            return str(item.code)
    return None


def exception_handler(exc, context):
    """DRF's handler, then our shape. Django's ValidationError from services is a 400."""
    if isinstance(exc, exceptions.ParseError):
        # DRF's text quotes the parser's English error; say it in the request's language.
        exc = exceptions.ParseError(
            _("リクエストの本文を読み取れませんでした。JSON の形式を確認してください。")
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(_("見つかりませんでした。"))
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None, code=getattr(exc, "code", None))
    elif isinstance(exc, DjangoValidationError):
        refusal_code = code_of(exc)
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        detail["non_field_errors"] = detail.pop("__all__", [])
        http_status = getattr(exc, "http_status", 400)  # 409 for a clash with the state
        exc = exceptions.ValidationError({k: v for k, v in detail.items() if v})
        exc.status_code = http_status
        exc.refusal_code = refusal_code
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled error in API view", exc_info=exc)
        return Response(
            error_body(
                500,
                "server_error",
                _("サーバーでエラーが起きました。時間をおいてやり直してください。"),
            ),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        fields = _messages(detail)
        message = _("入力内容を確認してください。")
        general = fields.get("non_field_errors") or fields.get("detail")
        every = _flatten(fields)
        if general:
            message = general[0]
        elif len(every) == 1:
            message = every[0]  # one problem: say it where clients show one message
        code = getattr(exc, "refusal_code", None) or _drf_code(exc.detail)
        if code is None:
            code = Code.CONFLICT if response.status_code == 409 else Code.INVALID
        response.data = error_body(response.status_code, code, message, fields)
    else:
        code = getattr(exc.detail, "code", None) or exc.default_code
        response.data = error_body(response.status_code, code, str(exc.detail))
    return response


class NormalisedCharField(serializers.CharField):
    """Text of a fixed form (a code, a date, a phone number, a kana reading), NFKC-normalised
    (full-width digits, half-width kana) before validation. Free text is a plain
    ``serializers.CharField``: kept as typed (``core.text``)."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        return nfkc(value).strip()


# --- Rate limits --------------------------------------------------------------------------
# DRF's throttles keep a list of times in the cache (read, then write): two processes that
# read it at once both let a request through, so the limit leaks across web workers. These
# count in Redis with one atomic step per request: the window's key is created with its
# expiry and incremented in one script (SET NX EX, INCR), and a request is let through while
# the count is within the rate. The window starts at a client's first request and lasts
# the rate's period. With Redis down (or without Redis: the embedded mode) each process
# counts in its own memory, so the limit allows up to the number of web processes times its
# rate: open enough that the API goes on, never unlimited.


class AtomicRateThrottle(throttling.SimpleRateThrottle):
    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        # Counted already by the public cache's front door (core.public_cache), or now,
        # with a public answer's cache entry read in the same round trip.
        counted = getattr(request, "rate_limit_counted", None) or {}
        if self.key in counted:
            count, self.remaining = counted.pop(self.key)
        else:
            prefetch = getattr(request, "public_cache_prefetch", None)
            count, self.remaining = count_request(self.key, self.duration, prefetch)
        return count <= self.num_requests

    def wait(self):
        return max(self.remaining, 1)


# The window's step in one script, atomic in Redis as a MULTI would be, in one command and
# one reply (half a MULTI's cost in the client): the count, the seconds left, and the values
# of any further keys (a public answer's versions and entry).
_COUNT_SCRIPT = """
redis.call('SET', KEYS[1], 0, 'EX', ARGV[1], 'NX')
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('TTL', KEYS[1])
if #KEYS > 1 then
    return {count, ttl, redis.call('MGET', unpack(KEYS, 2))}
end
return {count, ttl, {}}
"""
_count_script = None


def count_request(key: str, duration: int, prefetch: dict | None = None) -> tuple[int, int]:
    """This request's number in ``key``'s window, and the seconds left in the window; with
    ``prefetch`` (``{"keys": [...], "found": None}``), the cache's values at those keys read
    in the same step into ``found``."""
    global _count_script  # made once, with the first client
    cache = caches["default"]
    if isinstance(cache, ResilientRedisCache) and (client := cache.raw_client()) is not None:
        wanted = prefetch["keys"] if prefetch is not None and prefetch["found"] is None else []
        keys = [cache.make_and_validate_key(k) for k in (key, *wanted)]
        try:
            if _count_script is None:
                _count_script = client.register_script(_COUNT_SCRIPT)
            count, ttl, values = _count_script(keys=keys, args=[duration], client=client)
            if wanted:
                loads = cache._cache._serializer.loads
                prefetch["found"] = {k: loads(v) for k, v in zip(wanted, values, strict=True) if v}
            return count, ttl if ttl > 0 else duration
        except cache_down as exc:
            cache.mark_down("throttle", exc)
    local = cache.fallback if isinstance(cache, ResilientRedisCache) else cache
    for _attempt in range(3):
        local.add(key, 0, duration)
        try:
            return local.incr(key), duration
        except ValueError:  # expired between the two steps: a new window
            continue
    return 1, duration


class AnonRateThrottle(throttling.AnonRateThrottle, AtomicRateThrottle):
    pass


class UserRateThrottle(throttling.UserRateThrottle, AtomicRateThrottle):
    """Signed-in people. DRF's counts anonymous clients too, by address, beside the stricter
    ``anon`` limit that already counts them: one round trip to Redis per request saved."""

    def get_cache_key(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return None
        return super().get_cache_key(request, view)


class ScopedRateThrottle(throttling.ScopedRateThrottle, AtomicRateThrottle):
    pass
