"""Refusals with codes.

A service refuses with Django's own exceptions, so pages put them on forms as they are
(``core.pages.put_errors``), and every refusal carries a stable, machine-readable code: a
member of an ``ErrorCode`` enum. Each room has its enum in its ``errors.py``; every enum
that subclasses ``ErrorCode`` is listed in the OpenAPI schema (``all_codes``)::

    raise ValidationError(_("…"), code=Code.SESSION_FULL)
    raise ValidationError({"capacity": ValidationError(_("…"), code=Code.CAPACITY_BELOW_SIGNUPS)})
    raise Conflict(_("…"), code=Code.ALREADY_DECIDED)
    raise Denied(_("…"), code=Code.OWN_ITEM)

What the status means is the same in every room:

- **400** ``ValidationError``: the input itself is wrong (a field, a combination of fields).
- **403** ``Denied``: this person may not do this (whatever the input).
- **404**: no such thing, or not one this person may see.
- **409** ``Conflict``: the input is fine but clashes with the state of things now: already
  decided, already signed up, full, withdrawn, closed. Trying again later may succeed.

The API's error body says the code of the refusal (``core.api``); a form's error keeps it in
``form.errors.as_data()``.
"""

from __future__ import annotations

from enum import StrEnum

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse
from django.utils.module_loading import autodiscover_modules

_ENUMS: list[type[ErrorCode]] = []


class ErrorCode(StrEnum):
    """The base of each room's enum of refusal codes (``registry.errors.Code`` …)."""

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        _ENUMS.append(cls)


class Code(ErrorCode):
    """Codes every room shares, DRF's own among them."""

    INVALID = "invalid"  # a form or body with field errors, no more precise code
    CONFLICT = "conflict"  # a clash with the state, no more precise code
    PARSE_ERROR = "parse_error"
    NOT_AUTHENTICATED = "not_authenticated"
    AUTHENTICATION_FAILED = "authentication_failed"
    PERMISSION_DENIED = "permission_denied"
    MFA_REQUIRED = "mfa_required"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    NOT_ACCEPTABLE = "not_acceptable"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    THROTTLED = "throttled"
    SERVER_ERROR = "server_error"
    DATE_OUT_OF_RANGE = "date_out_of_range"
    # The review queues (core.review).
    ALREADY_DECIDED = "already_decided"
    NOTE_REQUIRED = "note_required"
    OWN_ITEM = "own_item"
    NOT_STAFF_HERE = "not_staff_here"
    # Safe retries (idempotency).
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    IDEMPOTENCY_IN_PROGRESS = "idempotency_in_progress"
    IDEMPOTENCY_KEY_INVALID = "invalid_idempotency_key"


def all_codes() -> list[str]:
    """Every code of every room, in a stable order (for the OpenAPI schema)."""
    autodiscover_modules("errors")  # each room's errors.py defines its enum
    return sorted({member.value for enum in _ENUMS for member in enum})


class Conflict(ValidationError):
    """The input clashes with the state of things (already decided, full): HTTP 409."""

    http_status = 409


class Denied(PermissionDenied):
    """This person may not do this: HTTP 403, with a code."""

    def __init__(self, message: str = "", code: str = Code.PERMISSION_DENIED) -> None:
        super().__init__(message)
        self.code = code


def code_of(error: ValidationError) -> str | None:
    """The code of a refusal: the first error's own code, if it has one of ours."""
    known = {member.value for enum in _ENUMS for member in enum}
    for item in (
        error.error_list
        if not hasattr(error, "error_dict")
        else [e for errors in error.error_dict.values() for e in errors]
    ):
        if item.code and str(item.code) in known:
            return str(item.code)
    return None


def error_body(status_code: int, code: str, message: str, fields: dict | None = None) -> dict:
    """The one error format of the API: ``{"error": {"status", "code", "message", "fields"?}}``."""
    error = {"status": status_code, "code": str(code), "message": str(message)}
    if fields:
        error["fields"] = fields
    return {"error": error}


def json_error(request, status_code: int, code: str, message: str) -> JsonResponse:
    """An error in that format outside DRF (middleware, Django's error views)."""
    return JsonResponse(
        error_body(status_code, code, message),
        status=status_code,
        json_dumps_params={"ensure_ascii": False},
    )
