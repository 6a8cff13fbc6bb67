"""A session's roster for the task's host and the town's staff: the page, the downloads
(CSV in UTF-8 with a BOM or Shift_JIS, XLSX) and a print view. Every read is audited
(``services.roster_read``, ``services.roster_download``); a session one does not manage is
a 404, whoever asks."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from core.pages import get_only, personal

from .. import selectors, services
from ..errors import MatchingCode
from ..selectors import DetailsState

# ``?encoding=`` of the CSV: UTF-8 with a BOM unless Shift_JIS is asked for.
ENCODINGS = {
    "": "utf-8",
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "sjis": "cp932",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "cp932": "cp932",
}


def _context(roster) -> dict:
    return {
        "roster": roster,
        "session": roster.session,
        "task": roster.task,
        "states": DetailsState,
        "missing": sum(1 for row in roster.rows if row.state == DetailsState.MISSING),
        "retention_days": settings.MATCHING_ROSTER_RETENTION_DAYS,
        "now": timezone.now(),
    }


@personal
@get_only
def roster(request, pk: int):
    session = selectors.session_managed_get(user=request.user, pk=pk)
    result = services.roster_read(viewer=request.user, session=session, fmt="page")
    return render(request, "matching/roster.html", _context(result))


@personal
@get_only
def roster_print(request, pk: int):
    session = selectors.session_managed_get(user=request.user, pk=pk)
    result = services.roster_read(viewer=request.user, session=session, fmt="print")
    return render(request, "matching/roster_print.html", _context(result))


def _download(request, pk: int, fmt: str, encoding: str = "utf-8"):
    session = selectors.session_managed_get(user=request.user, pk=pk)
    try:
        file = services.roster_download(
            viewer=request.user, session=session, fmt=fmt, encoding=encoding
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("matching:roster", pk=session.pk)
    response = HttpResponse(file.content, content_type=file.content_type)
    response["Content-Disposition"] = f'attachment; filename="{file.name}"'
    return response


@personal
@get_only
def roster_csv(request, pk: int):
    wanted = request.GET.get("encoding", "").strip().lower()
    if wanted not in ENCODINGS:
        session = selectors.session_managed_get(user=request.user, pk=pk)
        messages.error(
            request,
            _("文字コードは utf-8 か sjis（Shift_JIS）を指定してください。"),
            extra_tags=MatchingCode.ROSTER_ENCODING_UNKNOWN,
        )
        return redirect("matching:roster", pk=session.pk)
    return _download(request, pk, "csv", ENCODINGS[wanted])


@personal
@get_only
def roster_xlsx(request, pk: int):
    return _download(request, pk, "xlsx")
