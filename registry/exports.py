"""CSV files for staff: streamed, UTF-8 with a BOM (Excel in Japan opens it as UTF-8),
every cell text, and formulas defused (a cell starting with = + - @ gets a leading ')."""

from __future__ import annotations

import csv
import datetime
from collections.abc import Iterable

from django.http import StreamingHttpResponse
from django.utils import timezone

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
