"""Public holidays are days off in matching (issue 19): a session on 成人の日 (Monday
2027-01-11) falls on "土日祝" for the matcher, as a Saturday does, so people free on
weekends and holidays are matched to it with that reason, and people free only on weekdays
are not; an ordinary Monday is a weekday. Through the services and the matcher."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone, translation

from matching import services
from matching.matcher import reason_codes, reason_texts, task_rank
from matching.models import Match, Reason, Task
from registry import flags
from registry import services as registry_services
from registry.models import AvailableDays, Category, Month, Profile
from tests.matching.support import CHIZU, make_task, resident, staff_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

TOTTORI = "312011"  # 鳥取市: near 智頭町
COMING_OF_AGE_DAY = datetime.date(2027, 1, 11)  # 成人の日, a Monday
ORDINARY_MONDAY = datetime.date(2027, 1, 18)
SATURDAY = datetime.date(2027, 1, 16)


def _at(day: datetime.date, hour: int) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def task_on(day: datetime.date) -> Task:
    staff = staff_of(CHIZU)
    task = make_task(
        staff,
        CHIZU,
        category="farming",
        sessions=[{"starts_at": _at(day, 9), "ends_at": _at(day, 15), "capacity": 5}],
    )
    return services.task_publish(task=task, actor=staff)


def person_free_on(*days: str):
    who = resident(TOTTORI)
    registry_services.profile_update(
        user=who,
        interests=flags.mask_of(Category, ["farming"]),
        available_days=flags.mask_of(AvailableDays, days),
        available_months=flags.full_mask(Month),
    )
    return who


def _days_of(task: Task) -> list[str]:
    task.refresh_from_db()
    return flags.values_of(AvailableDays, task.session_days)


def test_a_holiday_is_a_day_off_for_the_tasks_sessions():
    assert _days_of(task_on(COMING_OF_AGE_DAY)) == ["weekends"]
    assert _days_of(task_on(SATURDAY)) == ["weekends"]
    assert _days_of(task_on(ORDINARY_MONDAY)) == ["weekdays"]


def test_people_free_on_days_off_are_matched_to_a_holiday_with_that_reason():
    weekends = person_free_on("weekends")
    weekdays = person_free_on("weekdays")
    holiday, monday = task_on(COMING_OF_AGE_DAY), task_on(ORDINARY_MONDAY)
    for task in (holiday, monday):
        task_rank(task)

    on_holiday = Match.objects.get(task=holiday, person=weekends)
    assert Reason.DAYS in Reason(on_holiday.reasons)
    codes = dict(reason_codes(on_holiday, holiday, Profile.objects.get(user=weekends)))
    assert codes["days"] == ["weekends"]
    with translation.override("ja"):
        assert "参加しやすい日です: 土日祝" in reason_texts(codes.items())
    with translation.override("en"):
        assert any("Weekends and holidays" in text for text in reason_texts(codes.items()))

    # Free on weekdays only: the holiday is not one of their days; the ordinary Monday is.
    assert Reason.DAYS not in Reason(Match.objects.get(task=holiday, person=weekdays).reasons)
    assert Reason.DAYS in Reason(Match.objects.get(task=monday, person=weekdays).reasons)
    assert Reason.DAYS not in Reason(Match.objects.get(task=monday, person=weekends).reasons)
    # Being free on the day counts: the holiday ranks the weekend person higher than Monday.
    assert on_holiday.score > Match.objects.get(task=monday, person=weekends).score


def test_moving_a_session_onto_a_holiday_makes_it_a_day_off():
    task = task_on(ORDINARY_MONDAY)
    session = task.sessions.get()
    services.session_update(
        session=session,
        actor=staff_of(CHIZU),
        starts_at=_at(COMING_OF_AGE_DAY, 9),
        ends_at=_at(COMING_OF_AGE_DAY, 15),
    )
    assert _days_of(task) == ["weekends"]
