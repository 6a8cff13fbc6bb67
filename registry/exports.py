"""Files the registry hands out: the person's own data as JSON, and CSV for staff (streamed,
UTF-8 with a BOM, which Excel in Japan opens as UTF-8; every cell text; formulas defused: a
cell starting with = + - @ gets a leading ')."""

from __future__ import annotations

import csv
import datetime
from collections.abc import Iterable

from django.core.serializers.json import DjangoJSONEncoder
from django.http import JsonResponse, StreamingHttpResponse
from django.utils import timezone

from accounts.services import personal_data_export

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """A cell Excel shows as text: lists joined, local times, ISO dates, formulas defused."""
    if value is None:
        return ""
    if isinstance(value, list):
        value = "; ".join(str(item) for item in value)  # a separator Excel users can split on
    elif isinstance(value, bool):
        value = "1" if value else "0"
    elif isinstance(value, datetime.datetime):
        value = timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    elif isinstance(value, datetime.date):
        value = value.isoformat()
    value = str(value)
    return "'" + value if value.startswith(FORMULA_START) else value


class _Echo:
    def write(self, value):
        return value


def csv_response(header: list[str], rows: Iterable[list], filename: str) -> StreamingHttpResponse:
    """Stream ``rows`` (lists of values) under ``header`` as a CSV attachment."""
    writer = csv.writer(_Echo())

    def lines():
        yield "\ufeff" + writer.writerow(header)
        for row in rows:
            yield writer.writerow([csv_cell(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def personal_data_response(user) -> JsonResponse:
    """Everything the platform keeps about ``user``, as a JSON attachment."""
    response = JsonResponse(
        personal_data_export(user=user),
        encoder=DjangoJSONEncoder,
        json_dumps_params={"ensure_ascii": False, "indent": 2},
    )
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="furusato-data-{stamp}.json"'
    return response
