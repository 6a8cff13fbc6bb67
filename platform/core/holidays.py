"""Days off: Saturdays, Sundays and Japan's public holidays (祝日, 振替休日 and 国民の休日),
from the jpholiday package. The one place the site tells a day off from a weekday: the
matcher's "free on weekends and holidays" (土日祝) and the days of a task's sessions."""

from __future__ import annotations

import datetime

import jpholiday


def is_holiday(day: datetime.date) -> bool:
    """Whether ``day`` is a public holiday in Japan."""
    return jpholiday.is_holiday(day)


def holiday_name(day: datetime.date) -> str | None:
    """The holiday's Japanese name (成人の日), or None on an ordinary day."""
    return jpholiday.is_holiday_name(day)


def is_day_off(day: datetime.date) -> bool:
    """Whether ``day`` is a Saturday, a Sunday or a public holiday."""
    return day.weekday() >= 5 or is_holiday(day)
