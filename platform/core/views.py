"""Site-wide answers that belong to no one room: the health check and the error pages."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .errors import json_error
from .health import monitor as health_monitor

logger = logging.getLogger(__name__)


def _check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"status": "ok", "vendor": connection.vendor}
    except Exception as exc:
        logger.warning("Health: database unreachable: %s", exc)
        return {"status": "error", "error": exc.__class__.__name__}


def _health() -> dict:
    """The database now (one quick query); the broker and workers as the background check
    last saw them (``core.health``)."""
    database = _check_database()
    background = health_monitor.latest()
    broker, workers = background["broker"], background["workers"]
    healthy = all(part["status"] in ("ok", "in-process") for part in (database, broker, workers))
    return {
        "status": "ok" if healthy else "degraded",
        "database": database,
        "broker": broker,
        "workers": workers,
    }


def _shows_details(request) -> bool:
    """``Authorization: Bearer <FURUSATO_HEALTH_TOKEN>``, compared in constant time."""
    token = settings.HEALTH_TOKEN
    scheme, _space, given = request.headers.get("Authorization", "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and constant_time_compare(given, token)


@never_cache
@require_GET
def health(request):
    """``{"status": "ok" | "degraded"}``; 503 only when the database is down.

    The details (database vendor, broker, worker names) tell an attacker what runs here:
    only a caller with the health token sees them. Nothing here waits on Redis or a worker:
    their checks run in the background, so a flood of probes costs one query each.
    """
    body = _health()
    status = 200 if body["database"]["status"] == "ok" else 503
    if not _shows_details(request):
        body = {"status": body["status"]}
    return JsonResponse(body, status=status)


def _error(request, status_code: int, code: str, message: str):
    """JSON in the API's error format under /api/, the site's error page elsewhere."""
    if request.path.startswith("/api/"):
        return json_error(request, status_code, code, message)
    return render(
        request, "error.html", {"message": message, "status": status_code}, status=status_code
    )


def bad_request(request, exception=None):
    return _error(request, 400, "bad_request", _("リクエストを処理できませんでした。"))


def permission_denied(request, exception=None):
    # A reason our own code gave (PermissionDenied("…")) is shown; otherwise the general one.
    reason = str(exception) if exception is not None and exception.args else ""
    return _error(
        request, 403, "permission_denied", reason or _("このページを見る権限がありません。")
    )


def csrf_failure(request, reason: str = ""):
    """A form sent from an outdated page (or with cookies off): say so, and how to go on."""
    return _error(
        request,
        403,
        "csrf_failed",
        _(
            "ページの有効期限が切れたため、送信できませんでした。"
            "ページを読み込み直してから、もう一度送信してください（Cookie を有効にしてください）。"
        ),
    )


def page_not_found(request, exception=None):
    return _error(request, 404, "not_found", _("お探しのページは見つかりませんでした。"))


def server_error(request):
    """No request context: the database or session may be what failed."""
    message = _("サーバーでエラーが起きました。時間をおいてやり直してください。")
    if request.path.startswith("/api/"):
        return json_error(request, 500, "server_error", message)
    return HttpResponseServerError(loader.render_to_string("500.html", {"message": message}))
