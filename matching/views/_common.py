"""What the board's pages share: a refusal shown, and the task or session the person manages."""

from __future__ import annotations

import re

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.selectors import managed_municipality
from places.models import Municipality

from .. import selectors, services


def _take_errors(error: ValidationError, name: str) -> tuple[list[str], ValidationError | None]:
    """The messages of one key of a service's refusal, and the refusal without it."""
    if not hasattr(error, "error_dict") or name not in error.error_dict:
        return [], error
    taken = ValidationError(error.error_dict[name]).messages
    rest = {key: value for key, value in error.error_dict.items() if key != name}
    return taken, (ValidationError(rest) if rest else None)


def _refused(request, error: ValidationError) -> None:
    """A refusal of a button (no form to show it on) becomes a message."""
    messages.error(request, " ".join(error.messages))


def _task_url(task) -> str:
    return reverse("matching:task_detail", args=[task.pk])


CODE_RE = re.compile(r"[0-9]{6}")


def _municipality_code(code: str) -> str:
    """A municipality code from a URL: six digits, else 404 (before any query sees it)."""
    if not CODE_RE.fullmatch(code):
        raise Http404
    return code


def _staff_municipality(request, code: str) -> Municipality:
    return managed_municipality(user=request.user, code=_municipality_code(code))


def _managed_task(request, pk: int):
    """A task the person manages: 404 if they may not even see it, else 403."""
    task = selectors.task_get(user=request.user, pk=pk)
    if not services.may_manage_task(request.user, task):
        raise PermissionDenied(_("このお手伝いを管理する権限がありません。"))
    return task


def _managed_session(request, pk: int):
    session = selectors.session_get(user=request.user, pk=pk)
    if not services.may_manage_task(request.user, session.task):
        raise PermissionDenied(_("このお手伝いを管理する権限がありません。"))
    return session
