"""The API's one error format, without DRF: ``{"error": {"status", "code", "message"}}``.

Apart from ``config.api`` on purpose. Importing ``config.api`` first imports DRF's views,
which load the throttle classes named in the settings from ``config.api`` itself: a module
imported before DRF (the CSRF failure view, which Django's system checks import in no fixed
order, or the idempotency middleware) would find it half-initialised.
"""

from __future__ import annotations

from django.http import JsonResponse


def error_body(status_code: int, code: str, message: str, fields: dict | None = None) -> dict:
    error = {"status": status_code, "code": code, "message": str(message)}
    if fields:
        error["fields"] = fields
    return {"error": error}


def json_error(request, status_code: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(
        error_body(status_code, code, message),
        status=status_code,
        json_dumps_params={"ensure_ascii": False},
    )
