"""Safe retries: a write sent twice changes things once and is answered the same way.

**The API** (``/api/``): a POST, PUT, PATCH or DELETE of a signed-in caller may carry an
``Idempotency-Key`` header (Stripe's convention; any 1–255 visible ASCII characters, a
UUID is best). The first request with a key is run in one transaction with the record of
its answer (status, body, the headers in ``services.KEPT_HEADERS``), so a change that
committed is always answered from the record — also when its answer was lost on the way
back. A retry with the same key, method, path and body gets that answer again, with
``Idempotent-Replayed: true``, for ``IDEMPOTENCY_KEY_HOURS``. The same key with another
request is 422 ``idempotency_key_reused``; while the first is still running, the second
waits for it (at most ``IDEMPOTENCY_WAIT_SECONDS``, then 409 ``idempotency_in_progress``).
An answer of 500 or more is rolled back with its change and not kept: the retry runs anew.
Anonymous callers' keys are not kept (their writes are log-ins and sign-ups of accounts,
whose answers hold secrets).

**The pages**: a form rendered with ``{% form_token %}`` sends a fresh token; its first
submission that redirects (the change done) is kept, and a second submission of the same
token (a double click, a reload, a retry after a lost answer) gets the same redirect and
changes nothing. A submission answered with the form again (an error) keeps nothing.

Last in ``MIDDLEWARE``: it runs the view itself from ``process_view``, after every other
check of the request (CSRF, the second factor of staff) has passed.
"""

from __future__ import annotations

import hashlib
import re

from django.db import transaction
from django.http import HttpResponse
from django.utils.translation import gettext as _
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.settings import api_settings

from core.errors import Code, json_error

from . import services
from .services import FORM_FIELD

HEADER = "Idempotency-Key"
API_WRITES = ("POST", "PUT", "PATCH", "DELETE")
KEY = re.compile(r"[\x21-\x7e]{1,255}")
REPLAYED = "Idempotent-Replayed"


class IdempotencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith("/api/"):
            key = request.headers.get(HEADER)
            if request.method not in API_WRITES or key is None:
                return None
            if not KEY.fullmatch(key):
                return _error(
                    400,
                    Code.IDEMPOTENCY_KEY_INVALID,
                    _("Idempotency-Key は 1〜255 文字の英数字・記号にしてください。"),
                )
            caller = _api_caller(request, view_func)
            if caller is None:
                return None  # anonymous, or refused: the view answers as without a key
            fingerprint = _fingerprint(request)
            keep = _keep_api
        else:
            if request.method != "POST" or not _is_form(request):
                return None
            key = request.POST.get(FORM_FIELD, "")
            caller = _page_caller(request)
            if caller is None or not KEY.fullmatch(key):
                return None
            fingerprint = _digest(request.method, request.path)
            keep = _keep_page
        return _run(request, view_func, view_args, view_kwargs, caller, key, fingerprint, keep)


def _run(request, view_func, view_args, view_kwargs, caller, key, fingerprint, keep):
    with transaction.atomic():
        try:
            claim = services.key_claim(caller=caller, key=key, fingerprint=fingerprint)
        except services.KeyReused:
            return _error(
                422,
                Code.IDEMPOTENCY_KEY_REUSED,
                _(
                    "この Idempotency-Key は別のリクエストに使われています。"
                    "新しいキーで送ってください。"
                ),
            )
        except services.KeyInProgress:
            return _error(
                409,
                Code.IDEMPOTENCY_IN_PROGRESS,
                _(
                    "同じ Idempotency-Key のリクエストを処理中です。"
                    "少し待ってからやり直してください。"
                ),
            )
        if claim.status:
            return _replay(claim)
        response = view_func(request, *view_args, **view_kwargs)
        if callable(getattr(response, "render", None)):
            response = response.render()  # a DRF or template response: its body is kept
        if response.status_code >= 500:
            transaction.set_rollback(True)  # the change goes with its answer: retry anew
        elif keep(response):
            services.key_record(
                claim=claim,
                status=response.status_code,
                headers=response.headers,
                body=response.content,
            )
        else:
            services.key_release(claim=claim)
    return response


def _keep_api(response) -> bool:
    return not response.streaming


def _keep_page(response) -> bool:
    return 300 <= response.status_code < 400  # the change done; a form again keeps nothing


def _replay(claim) -> HttpResponse:
    response = HttpResponse(bytes(claim.body), status=claim.status)
    for name, value in claim.headers.items():
        response[name] = value
    response[REPLAYED] = "true"
    return response


def _api_caller(request, view_func) -> str | None:
    """The caller as the view's authentication will see them, before the view runs."""
    classes = getattr(
        getattr(view_func, "cls", None),
        "authentication_classes",
        api_settings.DEFAULT_AUTHENTICATION_CLASSES,
    )
    previous = request.user if hasattr(request, "user") else None
    drf_request = Request(request, authenticators=[cls() for cls in classes])
    try:
        user = drf_request.user
    except APIException:
        user = None
    finally:
        if previous is not None:
            request.user = previous  # the view authenticates again, as it always does
    if user is None or not user.is_authenticated:
        return None
    return f"user:{user.pk}"


def _page_caller(request) -> str | None:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"form:user:{user.pk}"
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        return f"form:session:{hashlib.sha256(session_key.encode()).hexdigest()[:40]}"
    return None


def _is_form(request) -> bool:
    return request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data")


def _fingerprint(request) -> str:
    """What the request asks: method, path with query, and body (the files of a multipart
    body by their contents, as its parsing leaves no raw body)."""
    if request.method == "POST" and request.content_type == "multipart/form-data":
        parts = [f"{name}={value}" for name, value in sorted(request.POST.lists())]
        for name, files in sorted(request.FILES.lists()):
            for upload in files:
                content = hashlib.sha256()
                for chunk in upload.chunks():
                    content.update(chunk)
                upload.seek(0)
                parts.append(f"{name}:{upload.name}:{content.hexdigest()}")
        body = "\n".join(parts).encode()
    else:
        body = request.body
    return _digest(request.method, request.get_full_path(), body)


def _digest(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _error(status_code: int, code: str, message: str) -> HttpResponse:
    return json_error(None, status_code, code, message)
