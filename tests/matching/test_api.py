"""The board and the inbox through their API: the whole flow from applying to host to the
registry's activity and the inbox, in Japanese and in English; every kind of bad input
refused with the one error shape, a clear message and nothing changed; search, filters and
distance."""

from __future__ import annotations

import datetime
import io
import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.models import Sum
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image

from accounts.models import AuditEvent, Membership, Role, User
from matching import services
from matching.models import HostApplication, Session, Signup, SignupStatus, Task, TaskStatus
from notifications.models import Notification
from places import distances
from places.models import Municipality
from registry import services as registry_services
from tests.matching.support import (
    AMA,
    CHIZU,
    HIDA,
    api_as,
    error_of,
    host_of,
    in_days,
    make_task,
    move_to_past,
    published_task,
    register,
    resident,
    staff_of,
)
from tests.support import SIGNUP_DETAILS

# Deadlines, terms and days are counted from a frozen clock (tests/conftest.py).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

# Hiragana, katakana, kanji and full-width forms: what an English message must not contain
# (beyond the names of places and tasks it quotes).
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]")


def rows() -> dict[str, int]:
    """What a refusal must leave untouched."""
    return {
        "tasks": Task.objects.count(),
        "sessions": Session.objects.count(),
        "places_taken": Session.objects.aggregate(n=Sum("taken"))["n"] or 0,
        "signups": Signup.objects.count(),
        "live_signups": Signup.objects.filter(status__in=["confirmed", "waitlisted"]).count(),
        "host_applications": HostApplication.objects.count(),
        "notifications": Notification.objects.count(),
        "audit_events": AuditEvent.objects.count(),
    }


def session_body(days: int, capacity: int = 5, start: int = 9, end: int = 15) -> dict:
    return {
        "starts_at": in_days(days, start).isoformat(),
        "ends_at": in_days(days, end).isoformat(),
        "capacity": capacity,
    }


def task_body(code: str = CHIZU, sessions: list | None = None, **extra) -> dict:
    return {
        "municipality": code,
        "title": "棚田の草刈り",
        "description": "棚田のあぜの草を刈ります。鎌の使い方はお教えします。",
        "category": "farming",
        "reward": "新米 2kg",
        "sessions": [session_body(10)] if sessions is None else sessions,
        **extra,
    }


def png(size: int = 8) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), (30, 120, 60)).save(out, format="PNG")
    return out.getvalue()


def upload(name: str, data: bytes, content_type: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def kinds(api) -> list[str]:
    return [row["kind"] for row in api.get("/api/notifications/").json()["results"]]


class Said:
    """Checks that refusals speak the request's language. Japanese: the message says
    ``fragment``. English: no Japanese script in it beyond the ``names`` it quotes. English
    misses are collected and asserted at the end, so that a missing translation does not
    hide the rest of the flow."""

    def __init__(self, language: str):
        self.language = language
        self.not_english: list[str] = []

    def __call__(self, message: str, fragment: str, *names: str) -> None:
        if self.language == "ja":
            assert fragment in message, message
            return
        rest = message
        for name in names:
            rest = rest.replace(name, "")
        if JAPANESE.search(rest):
            self.not_english.append(message)

    def all_in_english(self) -> None:
        assert not self.not_english, "not said in English:\n" + "\n".join(self.not_english)


def make_premium(person: User, code: str, staff: User):
    registration = register(person, code)
    application = registry_services.premium_apply(registration=registration)
    registry_services.premium_decide(application=application, actor=staff, approve=True)
    registration.refresh_from_db()
    assert registration.tier == "premium"
    return registration


# --- The whole flow -----------------------------------------------------------------------


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_board_from_a_host_application_to_the_inbox(language):
    said = Said(language)
    staff = staff_of(CHIZU)
    office = api_as(staff, language)
    applicant = resident(family_name="谷口", given_name="和子")
    as_applicant = api_as(applicant, language)

    # A resident applies to host for 智頭町; a second application while one waits is a clash.
    application_body = {
        "municipality": CHIZU,
        "organisation": "棚田を守る会",
        "message": "棚田の草刈りの人手が足りません。",
    }
    response = as_applicant.post("/api/host-applications/", application_body, format="json")
    assert response.status_code == 201, response.content
    application = response.json()
    assert application["status"] == "pending"
    assert application["municipality"]["code"] == CHIZU
    before = rows()
    error = error_of(
        as_applicant.post("/api/host-applications/", application_body, format="json"),
        409,
        "application_pending",
    )
    said(error["message"], "審査中", "智頭町")
    assert rows() == before
    # Not a host yet: no task.
    error_of(as_applicant.post("/api/tasks/", task_body(), format="json"), 403, "not_host_here")
    assert rows() == before

    # 智頭町's staff see the queue and approve.
    queue = office.get(f"/api/municipalities/{CHIZU}/host-applications/").json()
    assert [row["id"] for row in queue] == [application["id"]]
    assert queue[0]["person_name"] == "谷口 和子"
    assert queue[0]["organisation"] == "棚田を守る会"
    response = office.post(
        f"/api/host-applications/{application['id']}/decide/",
        {"approve": True, "note": "よろしくお願いします"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "approved"
    assert Membership.objects.filter(user=applicant, role=Role.HOST, municipality=CHIZU).exists()
    assert office.get(f"/api/municipalities/{CHIZU}/host-applications/").json() == []
    error = error_of(
        office.post(f"/api/host-applications/{application['id']}/decide/", {"approve": False}),
        409,
        "already_decided",
    )
    said(error["message"], "すでに審査されています")
    assert "host_approved" in kinds(as_applicant)

    # The host (re-read: the role is new) drafts a task with three sessions.
    host = User.objects.get(pk=applicant.pk)
    hosting = api_as(host, language)
    body = task_body(
        sessions=[session_body(12, 5), session_body(10, 1), session_body(11, 3)],
        designated=True,
        host_message="棚田の風景を守りたい。",
        what_to_bring="長靴",
        skills=["physical"],
    )
    response = hosting.post("/api/tasks/", body, format="json")
    assert response.status_code == 201, response.content
    task = response.json()
    assert task["status"] == "draft"
    assert task["host_name"] == "棚田を守る会"  # the organisation the town approved
    assert task["designated"] is True and task["skills"] == ["physical"]
    assert task["may_manage"] is True
    assert [s["capacity"] for s in task["sessions"]] == [1, 3, 5]  # in time order
    assert task["starts_at"] == task["sessions"][0]["starts_at"]
    small, middle, _large = (s["id"] for s in task["sessions"])
    url = f"/api/tasks/{task['id']}/"
    # A draft is nobody else's business.
    for outsider in (None, resident(), host_of(AMA)):
        error_of(api_as(outsider, language).get(url), 404, "not_found")
        error_of(api_as(outsider, language).get(f"/api/sessions/{small}/"), 404, "not_found")
    assert office.get(url).status_code == 200

    # Submitted for review; the town's staff are told, and publish.
    response = hosting.post(f"{url}submit/")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "in_review"
    assert "task_submitted" in kinds(office)
    response = office.post(f"{url}publish/")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "published"
    assert "task_published" in kinds(hosting)
    assert api_as(None, language).get(url).json()["status"] == "published"

    # The second person is a premium registrant of 智頭町 who took part there before.
    first = resident(family_name="佐藤", given_name="一郎")
    second = resident(family_name="鈴木", given_name="花")
    registration = make_premium(second, CHIZU, staff)
    before_task = published_task(CHIZU, staff=staff, title="冬の雪かき", capacity=3)
    earlier = services.signup_create(session=before_task.sessions.get(), person=second)
    move_to_past(before_task.sessions.get())  # marked the day after, a month ago
    services.attendance_mark(signup=earlier, actor=staff, attendance="attended")
    move_to_past(before_task.sessions.get(), days=30)

    # Two people sign up for the session with one place: the second waits, first in line.
    as_first, as_second = api_as(first, language), api_as(second, language)
    response = as_first.post(
        f"/api/sessions/{small}/signups/",
        {**SIGNUP_DETAILS, "message": "初めてです"},
        format="json",
    )
    assert response.status_code == 201, response.content
    mine = response.json()
    assert mine["status"] == "confirmed" and mine["waitlist_position"] is None
    assert mine["ical"] == f"/api/signups/{mine['id']}/ical/"
    response = as_second.post(f"/api/sessions/{small}/signups/", SIGNUP_DETAILS, format="json")
    assert response.status_code == 201, response.content
    theirs = response.json()
    assert theirs["status"] == "waitlisted"
    assert theirs["waitlist_position"] == 1
    assert theirs["ical"] is None
    before = rows()
    error = error_of(
        as_second.post(f"/api/sessions/{small}/signups/", SIGNUP_DETAILS, format="json"),
        409,
        "already_signed_up",
    )
    said(error["message"], "すでに申し込んでいます")
    assert rows() == before
    seen = api_as(None, language).get(f"/api/sessions/{small}/").json()
    assert (seen["taken"], seen["places_left"], seen["waiting"]) == (1, 0, 1)

    # The first cancels: the place goes to the second at once.
    response = as_first.post(f"/api/signups/{mine['id']}/cancel/")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    theirs = as_second.get(f"/api/signups/{theirs['id']}/").json()
    assert theirs["status"] == "confirmed" and theirs["waitlist_position"] is None
    assert Session.objects.get(pk=small).taken == 1
    # The second also takes a place in the middle session (another day).
    assert as_second.post(f"/api/sessions/{middle}/signups/", SIGNUP_DETAILS).status_code == 201

    # Their calendar gets the session; a cancelled sign-up has nothing to add.
    response = as_second.get(f"/api/signups/{theirs['id']}/ical/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    calendar = response.content.decode()
    assert "BEGIN:VCALENDAR" in calendar and "BEGIN:VEVENT" in calendar
    assert "DTSTART" in calendar and "DTEND" in calendar
    assert "棚田の草刈り" in calendar
    error = error_of(as_first.get(f"/api/signups/{mine['id']}/ical/"), 400, "signup_not_confirmed")
    said(error["message"], "参加が確定した回だけ")

    # A change people must know of is told to them; a change of the host's words is not.
    # The host's change to the published task waits for the town's staff (a revision).
    told = Notification.objects.filter(recipient=second, kind="task_changed").count()
    response = hosting.patch(url, {"what_to_bring": "長靴と軍手"}, format="json")
    assert response.status_code == 202, response.content
    assert api_as(None, language).get(url).json()["what_to_bring"] == "長靴"
    revision = response.json()["id"]
    response = office.post(f"{url}revisions/{revision}/decide/", {"approve": True}, format="json")
    assert response.status_code == 200, response.content
    assert api_as(None, language).get(url).json()["what_to_bring"] == "長靴と軍手"
    assert Notification.objects.filter(recipient=second, kind="task_changed").count() == told + 1
    office.patch(url, {"host_message": "毎年来てくれる方に感謝。"}, format="json")
    assert Notification.objects.filter(recipient=second, kind="task_changed").count() == told + 1
    before = rows()
    error = error_of(hosting.patch(url, {"title": ""}, format="json"), 400)
    assert list(error["fields"]) == ["title"]
    said(error["message"], "空に")
    assert rows() == before
    assert Task.objects.get(pk=task["id"]).title == "棚田の草刈り"

    # The day comes: the host marks attendance; it counts in the registry.
    move_to_past(Session.objects.get(pk=small))
    response = hosting.post(
        f"/api/signups/{theirs['id']}/attendance/", {"attendance": "attended"}, format="json"
    )
    assert response.status_code == 200, response.content
    marked = response.json()
    assert marked["attendance"] == "attended" and marked["times_before"] == 1
    activities = as_second.get(f"/api/registrations/{registration.pk}/activities/").json()
    board = [a for a in activities["results"] if a["title"] == "棚田の草刈り"]
    assert len(board) == 1
    assert board[0]["designated"] is True
    assert (board[0]["source"], board[0]["status"]) == ("board", "approved")
    assert (
        board[0]["occurred_on"]
        == timezone.localdate(Session.objects.get(pk=small).starts_at).isoformat()
    )
    # The host sees who came back.
    participants = hosting.get(f"{url}participants/").json()["results"]
    by_name = {(row["name"], row["session"]): row for row in participants}
    assert by_name[("鈴木 花", small)]["times_before"] == 1
    assert by_name[("鈴木 花", small)]["attendance"] == "attended"
    assert by_name[("佐藤 一郎", small)]["status"] == "cancelled"
    assert by_name[("佐藤 一郎", small)]["times_before"] == 0

    # The host calls the rest off: the people of sessions to come are told.
    response = hosting.post(f"{url}cancel/", {"reason": "大雨の予報のため"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    assert Signup.objects.get(pk=theirs["id"]).attendance == "attended"  # history stays
    assert api_as(None, language).get(url).json()["cancel_reason"] == "大雨の予報のため"

    # The inbox.
    inbox = as_second.get("/api/notifications/").json()
    got = [row["kind"] for row in inbox["results"]]
    for kind in ("signup_waitlisted", "signup_promoted", "task_changed", "task_cancelled"):
        assert kind in got, got
    promoted = next(row for row in inbox["results"] if row["kind"] == "signup_promoted")
    said(promoted["subject"], "繰り上がりました", "棚田の草刈り")
    assert promoted["url"] and promoted["is_read"] is False
    cancelled = next(row for row in inbox["results"] if row["kind"] == "task_cancelled")
    assert "大雨の予報のため" in cancelled["body"]
    assert as_second.get(cancelled["url"]).status_code == 200  # the page it links to opens
    unread = as_second.get("/api/notifications/unread-count/").json()["unread"]
    assert unread == inbox["count"] == Notification.objects.filter(recipient=second).count()
    response = as_second.post(f"/api/notifications/{promoted['id']}/read/")
    assert response.status_code == 200
    assert response.json()["is_read"] is True and response.json()["read_at"]
    assert as_second.get("/api/notifications/unread-count/").json() == {"unread": unread - 1}
    assert promoted["id"] not in [
        row["id"] for row in as_second.get("/api/notifications/?unread=1").json()["results"]
    ]
    # Someone else's notification is not there to mark.
    error_of(as_first.post(f"/api/notifications/{promoted['id']}/read/"), 404, "not_found")
    assert as_second.post("/api/notifications/read-all/").json() == {"unread": 0}
    assert as_second.get("/api/notifications/unread-count/").json() == {"unread": 0}
    assert as_first.get("/api/notifications/unread-count/").json()["unread"] > 0

    said.all_in_english()


# --- Bad input when making a task ---------------------------------------------------------


@pytest.fixture
def chizu_staff(db) -> User:
    return staff_of(CHIZU)


BAD_TASKS = {
    "past start": (
        {"sessions": [session_body(-2)]},
        "sessions",
        "未来の日時",
    ),
    "end before start": (
        {"sessions": [session_body(10, start=15, end=9)]},
        "sessions",
        "終了は開始より後",
    ),
    "end before start of the second session": (
        {"sessions": [session_body(10), session_body(11, start=15, end=9)]},
        "sessions",
        "2回目",
    ),
    "capacity 0": ({"sessions": [session_body(10, capacity=0)]}, "sessions", "定員は1人以上"),
    "capacity -1": ({"sessions": [session_body(10, capacity=-1)]}, "sessions", "定員は1人以上"),
    "capacity abc": ({"sessions": [session_body(10, capacity="abc")]}, "sessions", "整数"),
    "no sessions": ({"sessions": []}, "sessions", "開催回を1つ以上"),
    "sessions missing": ({"sessions": None}, "sessions", "必須"),
    "unknown category": ({"category": "harvest"}, "category", "harvest"),
    "unknown municipality": ({"municipality": "999999"}, "municipality", "999999"),
    "blank title": ({"title": "  "}, "title", "空に"),
    "a coordinate without the other": ({"latitude": 35.27}, "latitude", "緯度と経度"),
}


@pytest.mark.parametrize(("change", "field", "fragment"), BAD_TASKS.values(), ids=list(BAD_TASKS))
def test_a_bad_task_is_refused_with_its_reason_and_nothing_is_made(
    chizu_staff, change, field, fragment
):
    body = task_body()
    body.update(change)
    if body["sessions"] is None:
        del body["sessions"]
    before = rows()
    error = error_of(api_as(chizu_staff).post("/api/tasks/", body, format="json"), 400)
    assert list(error["fields"]) == [field]
    assert fragment in error["message"], error
    assert rows() == before


def multipart_task(**extra) -> dict:
    body = task_body(**extra)
    body["sessions"] = json.dumps(body["sessions"])
    return body


def test_a_task_with_a_photo_is_made_from_a_form(chizu_staff):
    body = multipart_task(photo=upload("tanada.png", png(), "image/png"), photo_alt="棚田")
    response = api_as(chizu_staff).post("/api/tasks/", body, format="multipart")
    assert response.status_code == 201, response.content
    task = response.json()
    assert task["photo"] and task["photo"].endswith(".jpg")  # re-encoded, metadata gone
    assert len(task["sessions"]) == 1


@pytest.mark.parametrize(
    ("sessions", "fragment"),
    [("[{broken", "JSON"), ('{"starts_at": "2030-01-01"}', "")],
    ids=["broken JSON", "an object, not a list"],
)
def test_sessions_as_a_broken_json_string_in_a_form_are_refused(chizu_staff, sessions, fragment):
    body = multipart_task()
    body["sessions"] = sessions
    before = rows()
    error = error_of(api_as(chizu_staff).post("/api/tasks/", body, format="multipart"), 400)
    assert list(error["fields"]) == ["sessions"]
    assert fragment in error["message"]
    assert rows() == before


@pytest.mark.parametrize("language", ["ja", "en"])
def test_a_photo_that_is_not_an_image_is_refused(chizu_staff, language):
    body = multipart_task(photo=upload("tanada.jpg", b"<html>not a photo</html>", "image/jpeg"))
    before = rows()
    response = api_as(chizu_staff, language).post("/api/tasks/", body, format="multipart")
    error = error_of(response, 400)
    assert list(error["fields"]) == ["photo"]
    assert "JPEG" in error["message"] and "PNG" in error["message"]
    if language == "ja":
        assert "画像ファイル" in error["message"]
    assert rows() == before


@override_settings(MATCHING_PHOTO_MAX_BYTES=1024 * 1024)
def test_an_oversized_photo_is_refused(chizu_staff):
    big = png() + bytes(1024 * 1024)  # a real image's bytes, padded past the limit
    body = multipart_task(photo=upload("tanada.png", big, "image/png"))
    before = rows()
    error = error_of(api_as(chizu_staff).post("/api/tasks/", body, format="multipart"), 400)
    assert list(error["fields"]) == ["photo"]
    assert "1MB" in error["message"]
    assert rows() == before


# --- Bad input when signing up and cancelling ---------------------------------------------


def test_signing_up_after_the_deadline_is_refused(chizu_staff):
    # Sign-ups close 48 hours before; the session starts tomorrow.
    task = published_task(
        CHIZU,
        staff=chizu_staff,
        signup_close_hours=48,
        sessions=[{"starts_at": in_days(1), "ends_at": in_days(1, 12), "capacity": 5}],
    )
    session = task.sessions.get()
    before = rows()
    response = api_as(resident()).post(
        f"/api/sessions/{session.pk}/signups/", SIGNUP_DETAILS, format="json"
    )
    error = error_of(response, 409, "signup_closed")
    assert "締め切りました" in error["message"]
    assert rows() == before


def test_signing_up_for_a_cancelled_task_is_refused(chizu_staff):
    task = published_task(CHIZU, staff=chizu_staff)
    services.task_cancel(task=task, actor=chizu_staff, reason="台風のため")
    session = task.sessions.get()
    before = rows()
    response = api_as(resident()).post(
        f"/api/sessions/{session.pk}/signups/", SIGNUP_DETAILS, format="json"
    )
    error = error_of(response, 409, "task_not_published")
    assert "中止" in error["message"]
    assert rows() == before


def test_signing_up_twice_is_a_conflict(chizu_staff):
    session = published_task(CHIZU, staff=chizu_staff).sessions.get()
    api = api_as(resident())
    assert api.post(f"/api/sessions/{session.pk}/signups/", SIGNUP_DETAILS).status_code == 201
    before = rows()
    error = error_of(
        api.post(f"/api/sessions/{session.pk}/signups/", SIGNUP_DETAILS), 409, "already_signed_up"
    )
    assert list(error["fields"]) == ["session"]
    assert "すでに申し込んでいます" in error["message"]
    assert rows() == before


def test_cancelling_after_the_cancellation_deadline_is_refused(chizu_staff):
    task = published_task(
        CHIZU,
        staff=chizu_staff,
        signup_close_hours=0,
        cancel_close_hours=72,
        sessions=[{"starts_at": in_days(2), "ends_at": in_days(2, 12), "capacity": 5}],
    )
    person = resident()
    api = api_as(person)
    signup = api.post(f"/api/sessions/{task.sessions.get().pk}/signups/", SIGNUP_DETAILS).json()
    assert signup["status"] == "confirmed"
    before = rows()
    error = error_of(api.post(f"/api/signups/{signup['id']}/cancel/"), 409, "cancel_closed")
    assert "キャンセルの締め切り" in error["message"]
    assert rows() == before
    assert Signup.objects.get(pk=signup["id"]).status == SignupStatus.CONFIRMED


# --- Another town's host ------------------------------------------------------------------


def test_a_host_of_another_town_cannot_change_or_cancel_a_chizu_task(chizu_staff):
    task = published_task(CHIZU, staff=chizu_staff)
    draft = make_task(chizu_staff, CHIZU, title="下書き")
    ama_host = api_as(host_of(AMA))
    before = rows()
    error_of(
        ama_host.patch(f"/api/tasks/{task.pk}/", {"title": "乗っ取り"}, format="json"),
        403,
        "not_task_manager",
    )
    error_of(
        ama_host.post(f"/api/tasks/{task.pk}/cancel/", {"reason": "x"}, format="json"),
        403,
        "not_task_manager",
    )
    session = task.sessions.get()
    error_of(
        ama_host.patch(f"/api/sessions/{session.pk}/", {"capacity": 1}, format="json"),
        403,
        "not_task_manager",
    )
    # A draft is not even there for them.
    error_of(ama_host.patch(f"/api/tasks/{draft.pk}/", {"title": "x"}), 404, "not_found")
    error_of(ama_host.post(f"/api/tasks/{draft.pk}/cancel/", {"reason": "x"}), 404, "not_found")
    assert rows() == before
    task.refresh_from_db()
    draft.refresh_from_db()
    assert (task.title, task.status) == ("棚田の草刈り", TaskStatus.PUBLISHED)
    assert (draft.title, draft.status) == ("下書き", TaskStatus.DRAFT)
    # Nor can they make one for 智頭町.
    error_of(ama_host.post("/api/tasks/", task_body(), format="json"), 403, "not_host_here")
    assert rows() == before


# --- Messages in English ------------------------------------------------------------------


def test_refusals_are_said_in_english(chizu_staff):
    """Every refusal of the board in English, as in Japanese (SPEC 8: bad input)."""
    task = published_task(
        CHIZU,
        staff=chizu_staff,
        signup_close_hours=48,
        sessions=[{"starts_at": in_days(1), "ends_at": in_days(1, 12), "capacity": 5}],
    )
    staff = api_as(chizu_staff, "en")
    anyone = api_as(resident(), "en")
    responses = {
        "end before start": staff.post(
            "/api/tasks/",
            task_body(sessions=[session_body(10, start=15, end=9)]),
            format="json",
        ),
        "capacity 0": staff.post(
            "/api/tasks/", task_body(sessions=[session_body(10, capacity=0)]), format="json"
        ),
        "no sessions": staff.post("/api/tasks/", task_body(sessions=[]), format="json"),
        "capacity abc": staff.post(
            "/api/tasks/", task_body(sessions=[session_body(10, capacity="abc")]), format="json"
        ),
        "broken JSON": staff.post(
            "/api/tasks/", {**multipart_task(), "sessions": "[{"}, format="multipart"
        ),
        "deadline": anyone.post(f"/api/sessions/{task.sessions.get().pk}/signups/", SIGNUP_DETAILS),
        "date": anyone.get("/api/tasks/?date_from=xx"),
        "date order": anyone.get("/api/tasks/?date_from=2030-01-05&date_to=2030-01-01"),
        "distance without origin": anyone.get("/api/tasks/?within_km=50"),
        "prefecture": anyone.get("/api/tasks/?prefecture=99"),
        "not found": anyone.get("/api/tasks/999999999/"),
    }
    statuses = {
        "not found": (404, "not_found"),
        "deadline": (409, "signup_closed"),
        "date order": (400, "filter_dates_reversed"),
        "distance without origin": (400, "filter_near_required"),
        "prefecture": (400, "filter_prefecture_unknown"),
    }
    messages = {
        name: error_of(response, *statuses.get(name, (400,)))["message"]
        for name, response in responses.items()
    }
    assert messages["capacity abc"] == "A valid integer is required."
    assert messages["date"] == "Enter a valid date."
    japanese = [f"{name}: {m}" for name, m in messages.items() if JAPANESE.search(m)]
    assert not japanese, "not said in English:\n" + "\n".join(japanese)


# --- Filters ------------------------------------------------------------------------------


FILTER_CODES = {
    "date_from=2030-01-05&date_to=2030-01-01": "filter_dates_reversed",
    "within_km=50": "filter_near_required",
    "near=home": "filter_home_missing",
    "near=999999": "filter_municipality_unknown",
    "prefecture=99": "filter_prefecture_unknown",
    "municipality=12345x": "filter_municipality_unknown",
    "sort=distance": "filter_near_required",
    "managed=1&status=lost": "status_invalid",
}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("date_from=xx", "date_from"),
        ("date_to=2030-13-45", "date_to"),
        ("date_from=2030-01-05&date_to=2030-01-01", "date_to"),
        ("within_km=50", "near"),
        ("near=313289&within_km=abc", "within_km"),
        ("near=313289&within_km=-5", "within_km"),
        ("near=home", "near"),
        ("near=999999", "near"),
        ("prefecture=99", "prefecture"),
        ("municipality=12345x", "municipality"),
        ("category=harvest", "category"),
        ("online=maybe", "online"),
        ("sort=distance", "sort"),
        ("sort=cheapest", "sort"),
        ("search=" + "草" * 101, "search"),
        ("managed=1&status=lost", "status"),
    ],
)
def test_bad_filters_are_a_400_naming_the_filter(query, field):
    """A wrong value is ``invalid``; a filter the board checks has its own code."""
    person = None if "near=home" in query else host_of(CHIZU)
    response = api_as(person).get(f"/api/tasks/?{query}")
    error = error_of(response, 400, FILTER_CODES.get(query, "invalid"))
    assert list(error["fields"]) == [field], error


def test_near_home_needs_a_home(chizu_staff):
    """Anonymous: refused with its reason. Signed in with a home: distances from it."""
    error = error_of(api_as(None).get("/api/tasks/?near=home"), 400, "filter_home_missing")
    assert "ログイン" in error["message"]
    published_task(CHIZU, staff=chizu_staff)
    response = api_as(resident(home=CHIZU)).get("/api/tasks/?near=home&sort=distance")
    assert response.status_code == 200
    assert response.json()["results"][0]["distance_km"] == 0.0


def test_a_page_size_over_the_maximum_gives_the_maximum(chizu_staff):
    task = published_task(CHIZU, staff=chizu_staff)
    copies = []
    for _ in range(200):
        task.pk = None
        copies.append(Task(**{f.attname: getattr(task, f.attname) for f in Task._meta.fields}))
    Task.objects.bulk_create(copies)
    api = api_as(None)
    body = api.get("/api/tasks/?page_size=100000").json()
    assert body["count"] == 201
    assert len(body["results"]) == 200 and body["next"]
    assert len(api.get("/api/tasks/?page_size=abc").json()["results"]) == 50
    assert len(api.get("/api/tasks/?page_size=-3").json()["results"]) == 50
    error_of(api.get("/api/tasks/?page=999"), 404, "not_found")


# --- Search and filters -------------------------------------------------------------------


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_free_text_finds_japanese_substrings_and_either_kana(chizu_staff):
    kusakari = published_task(CHIZU, staff=chizu_staff, title="棚田の草刈り")
    tanada = published_task(
        CHIZU, staff=chizu_staff, title="タナダの石積み", description="石垣を直します。"
    )
    published_task(HIDA, title="祭りの準備", description="山車を飾ります。")
    api = api_as(None)
    assert _ids(api.get("/api/tasks/", {"search": "草刈"})) == [kusakari.pk]
    # Hiragana finds katakana, and the reading of kanji (棚田): both tasks.
    both = sorted([kusakari.pk, tanada.pk])
    assert sorted(_ids(api.get("/api/tasks/", {"search": "たなだ"}))) == both
    assert sorted(_ids(api.get("/api/tasks/", {"search": "ﾀﾅﾀﾞ"}))) == both  # half-width
    assert _ids(api.get("/api/tasks/", {"search": "タナダの石"})) == [tanada.pk]
    assert _ids(api.get("/api/tasks/", {"search": "石垣"})) == [tanada.pk]  # description
    assert _ids(api.get("/api/tasks/", {"search": "スキー"})) == []


def test_filters_combine(chizu_staff):
    def make(code=CHIZU, days=10, capacity=5, **fields):
        return published_task(
            code,
            staff=chizu_staff if code == CHIZU else None,
            sessions=[
                {"starts_at": in_days(days), "ends_at": in_days(days, 15), "capacity": capacity}
            ],
            **fields,
        )

    target = make()
    decoys = {
        "prefecture": make(AMA),
        "category": make(category="festivals"),
        "date": make(days=20),
        "online": make(is_online=True),
        "open": make(capacity=1),
    }
    services.signup_create(session=decoys["open"].sessions.get(), person=resident())
    today = timezone.localdate()
    filters = {
        "prefecture": "31",
        "category": "farming",
        "date_from": (today + datetime.timedelta(days=8)).isoformat(),
        "date_to": (today + datetime.timedelta(days=12)).isoformat(),
        "online": "false",
        "open": "true",
    }
    api = api_as(None)
    assert _ids(api.get("/api/tasks/", filters)) == [target.pk]
    # Each filter does its part: without it, its decoy is back.
    for name, decoy in decoys.items():
        relaxed = {k: v for k, v in filters.items() if not k.startswith(name)}
        if name == "date":
            relaxed = {k: v for k, v in filters.items() if k not in ("date_from", "date_to")}
        assert sorted(_ids(api.get("/api/tasks/", relaxed))) == sorted([target.pk, decoy.pk]), name
    assert _ids(api.get("/api/tasks/", {"online": "true"})) == [decoys["online"].pk]


NEAR_CHIZU = [
    "313289",
    "336432",
    "312011",
    "312037",
    "285862",
]  # 智頭町 西粟倉村 鳥取市 倉吉市 新温泉町
FAR_FROM_CHIZU = ["285854", "282014", AMA]  # 香美町 (55 km), 姫路市 (65 km), 海士町


def test_near_a_town_within_km_sorted_by_distance():
    tasks = {
        code: published_task(code, title=f"お手伝い {code}") for code in NEAR_CHIZU + FAR_FROM_CHIZU
    }
    online = published_task(CHIZU, title="オンライン相談会", is_online=True)
    expected = sorted(
        (code for code in tasks if distances.km_between(CHIZU, code) <= 50),
        key=lambda code: distances.km_between(CHIZU, code),
    )
    assert set(expected) == set(NEAR_CHIZU)  # the fixture is what it says

    response = api_as(None).get("/api/tasks/?near=313289&within_km=50&sort=distance")
    results = response.json()["results"]
    assert [row["id"] for row in results] == [tasks[code].pk for code in expected]
    assert online.pk not in [row["id"] for row in results]
    for row, code in zip(results, expected, strict=True):
        assert row["distance_km"] == pytest.approx(distances.km_between(CHIZU, code), abs=0.06)
    km = [row["distance_km"] for row in results]
    assert km == sorted(km)
    # Without a radius every task comes, nearest first, online ones last without a distance.
    everything = api_as(None).get("/api/tasks/?near=313289&sort=distance").json()["results"]
    assert [row["id"] for row in everything][-1] == online.pk
    assert everything[-1]["distance_km"] is None
    assert len(everything) == len(tasks) + 1


# --- Query counts -------------------------------------------------------------------------


def _queries(api, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert api.get(path).status_code == 200, path
    return len(queries)


def test_reads_cost_the_same_queries_however_many_rows(chizu_staff):
    def sessions(first_day, n):
        return [
            {"starts_at": in_days(d), "ends_at": in_days(d, 12), "capacity": 5}
            for d in range(first_day, first_day + n)
        ]

    one = published_task(CHIZU, staff=chizu_staff, sessions=sessions(30, 1))
    many = published_task(CHIZU, staff=chizu_staff, sessions=sessions(5, 12))
    api = api_as(None)
    assert _queries(api, f"/api/tasks/{many.pk}/") == _queries(api, f"/api/tasks/{one.pk}/")

    person = resident()
    mine = api_as(person)
    services.signup_create(session=one.sessions.get(), person=person)
    few = _queries(mine, "/api/signups/")
    for session in many.sessions.order_by("starts_at")[:6]:
        services.signup_create(session=session, person=person)
    assert _queries(mine, "/api/signups/") == few

    few = _queries(api, "/api/tasks/")
    for _ in range(5):
        published_task(CHIZU, staff=chizu_staff)
    assert _queries(api, "/api/tasks/") == few

    office = api_as(chizu_staff)
    participants = f"/api/tasks/{one.pk}/participants/"
    few = _queries(office, participants)
    for _ in range(4):
        services.signup_create(session=one.sessions.get(), person=resident())
    assert _queries(office, participants) == few

    queue = f"/api/municipalities/{CHIZU}/host-applications/"
    chizu = Municipality.objects.get(code=CHIZU)
    services.host_apply(person=person, municipality=chizu, message="草刈りを募集したい")
    few = (_queries(office, queue), _queries(mine, "/api/host-applications/"))
    for code in (HIDA, AMA):
        where = Municipality.objects.get(code=code)
        services.host_apply(person=person, municipality=where, message="手伝いを募集したい")
        services.host_apply(person=resident(), municipality=chizu, message="祭りの準備")
    assert (_queries(office, queue), _queries(mine, "/api/host-applications/")) == few


# --- Anonymous visitors -------------------------------------------------------------------


def test_anonymous_visitors_read_the_board_and_nothing_else(chizu_staff):
    task = published_task(CHIZU, staff=chizu_staff)
    session = task.sessions.get()
    signup = services.signup_create(session=session, person=resident())
    api = api_as(None)
    for path in (
        "/api/tasks/",
        f"/api/tasks/{task.pk}/",
        f"/api/sessions/{session.pk}/",
    ):
        assert api.get(path).status_code == 200, path
    before = rows()
    for method, path in (
        ("get", "/api/tasks/?managed=1"),
        ("post", "/api/tasks/"),
        ("patch", f"/api/tasks/{task.pk}/"),
        ("post", f"/api/tasks/{task.pk}/cancel/"),
        ("get", f"/api/tasks/{task.pk}/participants/"),
        ("patch", f"/api/sessions/{session.pk}/"),
        ("get", f"/api/sessions/{session.pk}/signups/"),
        ("post", f"/api/sessions/{session.pk}/signups/"),
        ("get", "/api/signups/"),
        ("get", f"/api/signups/{signup.pk}/"),
        ("get", f"/api/signups/{signup.pk}/ical/"),
        ("post", f"/api/signups/{signup.pk}/cancel/"),
        ("get", "/api/host-applications/"),
        ("post", "/api/host-applications/"),
        ("get", f"/api/municipalities/{CHIZU}/host-applications/"),
        ("get", "/api/notifications/"),
        ("get", "/api/notifications/unread-count/"),
        ("post", "/api/notifications/read-all/"),
    ):
        response = getattr(api, method)(path, {}, format="json")
        error_of(response, 401, "not_authenticated")
    assert rows() == before
