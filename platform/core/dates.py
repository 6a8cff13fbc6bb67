"""The range of dates the site takes from people: 2000-01-01 … 2100-12-31.

Python's dates run from year 1 to 9999, but a date near either end cannot be turned into an
aware datetime and back (``0001-01-01`` minus the time zone's offset overflows), and SQLite
and PostgreSQL disagree about such dates. No session, filter, activity or registration of
this site lies outside this range, so every date typed into a page or sent to the API is
checked against it, with one clear message, before anything computes with it: a form error
on the pages, a 400 naming the field in the API. (Birth years are years, not dates, and
have their own range in the registry.)
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

EARLIEST = datetime.date(2000, 1, 1)
LATEST = datetime.date(2100, 12, 31)

MESSAGE = _("日付は %(earliest)s から %(latest)s までの間で入力してください。")


def _day(value: datetime.date | datetime.datetime) -> datetime.date:
    return value.date() if isinstance(value, datetime.datetime) else value


def within_range(value: datetime.date | datetime.datetime) -> bool:
    return EARLIEST <= _day(value) <= LATEST


def validate_sane_date(value: datetime.date | datetime.datetime | None) -> None:
    """A validator for form and model fields: refuses dates outside the site's range."""
    if value is not None and not within_range(value):
        raise ValidationError(
            MESSAGE,
            code="date_out_of_range",
            params={"earliest": EARLIEST.isoformat(), "latest": LATEST.isoformat()},
        )


def _drf_message() -> str:
    return MESSAGE % {"earliest": EARLIEST.isoformat(), "latest": LATEST.isoformat()}


class SaneDateField(serializers.DateField):
    """A DRF date within the site's range (an error in the API's format otherwise)."""

    def to_internal_value(self, value):
        day = super().to_internal_value(value)
        if not within_range(day):
            raise serializers.ValidationError(_drf_message(), code="date_out_of_range")
        return day


class SaneDateTimeField(serializers.DateTimeField):
    """A DRF date and time within the site's range. The range is checked on the text's own
    date before the time zone is applied, so ``0001-01-01T00:00`` is a 400, not an
    overflow."""

    def to_internal_value(self, value):
        if isinstance(value, str):
            try:
                parsed = datetime.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError:
                parsed = None  # DRF's own parser reports the format
            if parsed is not None and not within_range(parsed):
                raise serializers.ValidationError(_drf_message(), code="date_out_of_range")
        moment = super().to_internal_value(value)
        if not within_range(moment):
            raise serializers.ValidationError(_drf_message(), code="date_out_of_range")
        return moment
