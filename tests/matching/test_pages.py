"""The board's web pages, as residents, hosts and municipality staff use them: the whole
flow of a task in Japanese and English, each page for its roles (and 403/404 for others),
filters, calendar and map, iCalendar, refusals shown on the forms with nothing created, and
the query counts of the busy pages."""

from __future__ import annotations

import datetime
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from accounts.models import Membership, Role, User
from matching import services
from matching.models import HostApplication, Session, Signup, Task, TaskRevision
from registry import services as registry_services
from registry.models import Activity, Registration
from tests.factories import client_for
from tests.matching.support import (
    AMA,
    CHIZU,
    HIDA,
    host_of,
    in_days,
    make_task,
    move_to_past,
    published_task,
    register,
    resident,
    staff_of,
)
from tests.support import SIGNUP_FORM, errors_of, page, queries_of

# Deadlines, terms and days are counted from a frozen clock (tests/conftest.py).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def summary_of(html: str) -> str:
    """The error summary at the top of a form, as text."""
    found = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    return re.sub(r"<[^>]+>", " ", found.group(0)) if found else ""


def day(days: int) -> str:
    return (timezone.localdate() + datetime.timedelta(days=days)).isoformat()


TASK_FIELDS = {
    "title": "棚田の草刈りと稲架掛け",
    "category": "farming",
    "description": "智頭町の棚田で、あぜの草刈りと稲架（はで）掛けを手伝ってください。",
    "host_message": "高齢化で手が足りません。一緒に棚田を守ってください。",
    "host_name": "智頭の棚田を守る会",
    "schedule": "9:00 集合／12:00 昼食／15:00 解散",
    "skills": ["farmwork", "physical"],
    "address": "鳥取県八頭郡智頭町大字智頭",
    "latitude": "",
    "longitude": "",
    "minimum_age": "",
    "what_to_bring": "長靴、軍手、帽子",
    "reward": "新米 2kg と昼食",
    "conditions": "",
    "participant_costs": "現地までの交通費は参加者の負担です。",
    "weather_policy": "雨天の場合は翌週に延期します。",
    "signup_mode": "first_come",
    "signup_close_hours": "24",
    "cancel_close_hours": "24",
    "confirm_window_hours": "",
    "designated": "on",
    "photo_alt": "",
}


def task_data(sessions: list[tuple], **changes) -> dict:
    """The task form's fields and its session rows (date, start, end, capacity)."""
    data = {**TASK_FIELDS, **changes}
    rows = max(len(sessions), 3)
    data.update(
        {
            "sessions-TOTAL_FORMS": str(rows),
            "sessions-INITIAL_FORMS": "0",
            "sessions-MIN_NUM_FORMS": "1",
            "sessions-MAX_NUM_FORMS": "100",
        }
    )
    for index in range(rows):
        date, start, end, capacity = sessions[index] if index < len(sessions) else ("",) * 4
        data.update(
            {
                f"sessions-{index}-date": date,
                f"sessions-{index}-start_time": start,
                f"sessions-{index}-end_time": end,
                f"sessions-{index}-capacity": capacity,
            }
        )
    return data


def make_premium(person: User, code: str) -> Registration:
    """A premium registration, approved as tests/registry do it (an automatic verifier)."""
    registration = register(person, code)
    application = registry_services.premium_apply(registration=registration)
    registry_services.premium_decide(application=application, actor=None, approve=True)
    registration.refresh_from_db()
    assert registration.tier == "premium"
    return registration


def png(size: tuple[int, int] = (40, 30), noise: bool = False) -> bytes:
    image = Image.new("RGB", size, (40, 120, 80))
    if noise:
        image = Image.effect_noise(size, 80).convert("RGB")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


# --- The whole flow ----------------------------------------------------------------------


@pytest.mark.parametrize("language", ["ja", "en"])
def test_a_task_goes_from_a_host_application_to_attendance_through_the_pages(language):
    ja = language == "ja"
    staff = staff_of(CHIZU)
    host = resident(family_name="田中", given_name="一郎")
    me = client_for(host, language)
    office = client_for(staff, language)

    # A resident applies to host for 智頭町, found with the picker, chosen by name.
    assert "ヌシ" in page(me, "/me/", language) or not ja
    assert "/host/apply/" in page(me, "/me/", language)
    assert "智頭町" in page(me, "/host/apply/", language, q="ちづ")
    assert "智頭町" in page(me, "/host/apply/", language, municipality=CHIZU)
    response = me.post(
        "/host/apply/",
        {"municipality": "智頭町", "organisation": "智頭の棚田を守る会", "message": "棚田の草刈り"},
    )
    assert response.status_code == 302 and response["Location"] == "/host/"
    application = HostApplication.objects.get(person=host)
    assert (application.municipality_id, application.status) == (CHIZU, "pending")
    assert "智頭町" in page(me, "/host/", language)

    # The town's staff find it from their menu and approve it.
    assert f"/staff/{CHIZU}/hosts/" in page(office, "/staff/", language)
    assert "田中 一郎" in page(office, f"/staff/{CHIZU}/hosts/", language)
    response = office.post(
        f"/staff/host-applications/{application.pk}/decide/",
        {
            f"application-{application.pk}-decision": "approve",
            f"application-{application.pk}-note": "",
        },
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == "approved"
    assert Membership.objects.filter(user=host, role=Role.HOST, municipality_id=CHIZU).exists()

    # The host drafts a task with three sessions (the first for one person only).
    assert f"/tasks/new/{CHIZU}/" in page(me, "/host/", language)
    html = page(me, f"/tasks/new/{CHIZU}/", language)
    assert 'name="signup_close_hours" value="24"' in html  # the defaults are filled in
    response = me.post(
        f"/tasks/new/{CHIZU}/",
        task_data(
            [
                (day(10), "09:00", "15:00", "1"),
                (day(17), "09:00", "15:00", "5"),
                (day(24), "13:00", "16:30", "5"),
            ]
        ),
    )
    assert response.status_code == 302, summary_of(response.content.decode())
    task = Task.objects.get(host=host)
    assert response["Location"] == f"/tasks/{task.pk}/"
    assert (task.status, task.municipality_id, task.designated) == ("draft", CHIZU, True)
    sessions = list(task.sessions.order_by("starts_at"))
    assert [s.capacity for s in sessions] == [1, 5, 5]
    first = sessions[0]
    assert timezone.localtime(first.starts_at).strftime("%H:%M") == "09:00"
    assert "稲架掛け" in page(me, f"/tasks/{task.pk}/", language)
    page(client_for(None, language), f"/tasks/{task.pk}/", language, status=404)  # a draft

    # Submitted for review; the staff publish it from their list of the town's tasks.
    assert me.post(f"/tasks/{task.pk}/status/submit/").status_code == 302
    task.refresh_from_db()
    assert task.status == "in_review"
    assert "稲架掛け" in page(office, f"/staff/{CHIZU}/tasks/", language)
    response = office.post(f"/tasks/{task.pk}/status/publish/", {"next": f"/staff/{CHIZU}/tasks/"})
    assert response.status_code == 302 and response["Location"] == f"/staff/{CHIZU}/tasks/"
    task.refresh_from_db()
    assert task.status == "published"
    visitor = client_for(None, language)
    html = page(visitor, "/tasks/", language)
    assert "稲架掛け" in html and "badge-designated" in html
    if ja:
        assert "（ほか 2 回）" in html and "残り 11 人" in html  # places of all sessions
    assert f"/sessions/{first.pk}/signup/" in page(visitor, f"/tasks/{task.pk}/", language)

    # Two residents sign up for the one place: the second waits.
    first_person, second_person = resident(), resident()
    make_premium(second_person, CHIZU)
    first_client = client_for(first_person, language)
    second_client = client_for(second_person, language)
    page(first_client, f"/sessions/{first.pk}/signup/", language)
    response = first_client.post(
        f"/sessions/{first.pk}/signup/", {**SIGNUP_FORM, "message": "初参加です"}
    )
    assert response.status_code == 302 and response["Location"] == "/me/signups/"
    response = second_client.post(
        f"/sessions/{first.pk}/signup/", {**SIGNUP_FORM, "message": ""}, follow=True
    )
    html = response.content.decode()
    if ja:
        assert "キャンセル待ちの1番目" in html
    theirs = Signup.objects.get(person=first_person)
    mine = Signup.objects.get(person=second_person)
    assert (theirs.status, mine.status) == ("confirmed", "waitlisted")
    assert "status-waitlisted" in page(second_client, "/me/signups/", language)

    # The first cancels: the second is promoted, in the database and on their page.
    assert f"/me/signups/{theirs.pk}/cancel/" in page(first_client, "/me/signups/", language)
    # Cancelling asks first (issue 17): a confirmation page, then the confirmed POST.
    assert "confirm" in page(first_client, f"/me/signups/{theirs.pk}/cancel/", language)
    response = first_client.post(f"/me/signups/{theirs.pk}/cancel/", {"confirm": "yes"})
    assert response.status_code == 302
    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert (theirs.status, mine.status) == ("cancelled", "confirmed")
    first.refresh_from_db()
    assert first.taken == 1
    html = page(second_client, "/me/signups/", language)
    assert "status-confirmed" in html and f"/me/signups/{mine.pk}/calendar.ics" in html
    if ja:
        assert "参加確定" in html

    # After the session, the host marks attendance; the premium registrant's designated
    # activity is recorded in the registry.
    move_to_past(first)
    html = page(me, f"/tasks/{task.pk}/participants/", language)
    assert second_person.get_full_name() in html
    response = me.post(f"/signups/{mine.pk}/attendance/", {"attendance": "attended"})
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.attendance == "attended"
    activity = Activity.objects.get(registration__person=second_person)
    assert activity.registration.municipality_id == CHIZU
    assert (activity.designated, activity.source, activity.status) == (True, "board", "approved")
    assert activity.reference == f"signup:{mine.pk}"

    # A thank-you after taking part reaches the host's list.
    assert f"/me/signups/{mine.pk}/thanks/" in page(second_client, "/me/signups/", language)
    response = second_client.post(f"/me/signups/{mine.pk}/thanks/", {"message": "楽しかったです"})
    assert response.status_code == 302
    assert "楽しかったです" in page(me, f"/tasks/{task.pk}/participants/", language)


# --- Pages for their roles ---------------------------------------------------------------


@pytest.fixture
def board():
    """A published task and a draft of 智頭町, its staff and host, and outsiders."""
    staff = staff_of(CHIZU)
    host = host_of(CHIZU)
    published = make_task(host)
    services.task_submit(task=published, actor=host)
    published = services.task_publish(task=published, actor=staff)
    draft = make_task(host, title="下書きのお手伝い")
    return {
        "staff": staff,
        "host": host,
        "published": published,
        "draft": draft,
        "session": published.sessions.get(),
        "ama_host": host_of(AMA),
        "ama_staff": staff_of(AMA),
        "resident": resident(),
    }


def test_everyone_sees_the_board_and_public_tasks_but_not_drafts(board):
    visitor = client_for(None)
    for path in ("/tasks/", "/tasks/calendar/", "/tasks/map/"):
        page(visitor, path)
    assert "棚田の草刈り" in page(visitor, f"/tasks/{board['published'].pk}/")
    page(visitor, f"/tasks/{board['draft'].pk}/", status=404)
    page(client_for(board["resident"]), f"/tasks/{board['draft'].pk}/", status=404)
    page(client_for(board["ama_host"]), f"/tasks/{board['draft'].pk}/", status=404)
    assert "下書きのお手伝い" in page(client_for(board["host"]), f"/tasks/{board['draft'].pk}/")
    assert "下書きのお手伝い" in page(client_for(board["staff"]), f"/tasks/{board['draft'].pk}/")
    page(visitor, "/tasks/99999999/", status=404)
    page(visitor, "/tasks/99999999999999999999999/", status=404)
    staff = client_for(board["staff"])
    for path in (
        "/tasks/new/%00/",
        "/staff/%00/tasks/",
        "/staff/31%0089/hosts/",
        "/tasks/new/999999/",
    ):
        page(staff, path, status=404)
    page(client_for(board["resident"]), "/me/signups/99999999999999999999999/thanks/", status=404)


def test_personal_pages_send_visitors_to_log_in(board):
    visitor = client_for(None)
    session, task = board["session"], board["published"]
    for path in (
        "/me/signups/",
        "/host/",
        "/host/apply/",
        f"/sessions/{session.pk}/signup/",
        f"/tasks/new/{CHIZU}/",
        f"/tasks/{task.pk}/edit/",
        f"/tasks/{task.pk}/participants/",
        f"/staff/{CHIZU}/tasks/",
    ):
        response = visitor.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/accounts/login/?next="), path


def test_managers_pages_render_for_the_host_and_the_staff(board):
    task, draft, session = board["published"], board["draft"], board["session"]
    for user in (board["host"], board["staff"]):
        client = client_for(user)
        html = page(client, f"/tasks/{task.pk}/")
        assert f"/tasks/{task.pk}/edit/" in html and f"/tasks/{task.pk}/participants/" in html
        for path in (
            f"/tasks/new/{CHIZU}/",
            f"/tasks/{task.pk}/edit/",
            f"/tasks/{task.pk}/sessions/",
            f"/sessions/{session.pk}/edit/",
            f"/sessions/{session.pk}/cancel/",
            f"/tasks/{task.pk}/cancel/",
            f"/tasks/{task.pk}/report/",
            f"/tasks/{task.pk}/participants/",
            f"/tasks/{draft.pk}/edit/",
            "/host/",
        ):
            page(client, path)
    staff = client_for(board["staff"])
    for path in (
        f"/staff/{CHIZU}/tasks/",
        f"/staff/{CHIZU}/hosts/",
        f"/tasks/{task.pk}/status/return/",
    ):
        page(staff, path)


def test_others_get_403_or_404_and_change_nothing(board):
    task, draft, session = board["published"], board["draft"], board["session"]
    title = task.title
    for user in (board["ama_host"], board["ama_staff"], board["resident"]):
        client = client_for(user)
        for path in (
            f"/tasks/{task.pk}/edit/",
            f"/tasks/{task.pk}/sessions/",
            f"/sessions/{session.pk}/edit/",
            f"/tasks/{task.pk}/participants/",
            f"/tasks/{task.pk}/cancel/",
            f"/tasks/new/{CHIZU}/",
        ):
            assert client.get(path).status_code == 403, (user, path)
        assert client.get(f"/tasks/{draft.pk}/edit/").status_code == 404
        assert client.get(f"/staff/{CHIZU}/tasks/").status_code == 403
        assert client.get(f"/staff/{CHIZU}/hosts/").status_code == 403
        response = client.post(f"/tasks/{task.pk}/edit/", {**TASK_FIELDS, "title": "乗っ取り"})
        assert response.status_code == 403
        assert client.post(f"/tasks/{task.pk}/status/close/").status_code == 403
        assert client.post(f"/tasks/{task.pk}/cancel/", {"reason": "いたずら"}).status_code == 403
    task.refresh_from_db()
    assert (task.title, task.status) == (title, "published")
    # A sign-up of another town's task cannot be marked by its id.
    signup = services.signup_create(session=session, person=board["resident"])
    move_to_past(session)
    response = client_for(board["ama_host"]).post(
        f"/signups/{signup.pk}/attendance/", {"attendance": "attended"}
    )
    assert response.status_code == 404
    signup.refresh_from_db()
    assert signup.attendance == ""
    # Someone else's sign-up is nobody else's business.
    other = client_for(resident())
    assert other.post(f"/me/signups/{signup.pk}/cancel/").status_code == 404
    assert other.get(f"/me/signups/{signup.pk}/calendar.ics").status_code == 404


def test_a_host_cannot_publish_and_only_staff_return(board):
    host = client_for(board["host"])
    draft = board["draft"]
    assert host.post(f"/tasks/{draft.pk}/status/submit/").status_code == 302
    assert host.post(f"/tasks/{draft.pk}/status/publish/").status_code == 403
    assert host.get(f"/tasks/{draft.pk}/status/return/").status_code == 403
    draft.refresh_from_db()
    assert draft.status == "in_review"
    # Returning needs a note: a blank one is a form error, then it goes back as a draft.
    staff = client_for(board["staff"])
    response = staff.post(f"/tasks/{draft.pk}/status/return/", {"note": "  "})
    assert response.status_code == 200 and errors_of(response.content.decode())
    response = staff.post(f"/tasks/{draft.pk}/status/return/", {"note": "集合場所を詳しく"})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.status, draft.review_note) == ("draft", "集合場所を詳しく")
    assert "集合場所を詳しく" in page(host, f"/tasks/{draft.pk}/")
    assert host.get(f"/tasks/{draft.pk}/status/teleport/").status_code == 404
    assert host.get(f"/tasks/{draft.pk}/status/submit/").status_code == 405


def test_a_refused_transition_is_a_message_not_an_error_page(board):
    staff = client_for(board["staff"])
    task = board["published"]
    response = staff.post(f"/tasks/{task.pk}/status/complete/", follow=True)
    assert response.status_code == 200
    assert "まだ始まっていない開催回があります。" in response.content.decode()
    task.refresh_from_db()
    assert task.status == "published"


# --- Editing, sessions, cancelling, reports ----------------------------------------------


def test_the_host_edits_a_task_and_manages_its_sessions(board):
    host, office = client_for(board["host"]), client_for(board["staff"])
    task, session = board["published"], board["session"]
    # The task is published: the host's change waits for the town's staff (a revision),
    # and the name shown is not the host's to type (the posted one is ignored).
    response = host.post(
        f"/tasks/{task.pk}/edit/",
        {**TASK_FIELDS, "title": "棚田の草刈り（午前だけ）", "host_name": "智頭の会"},
    )
    assert response.status_code == 302, summary_of(response.content.decode())
    task.refresh_from_db()
    assert task.title == "棚田の草刈り"
    revision = TaskRevision.objects.get(status="pending")
    response = office.post(f"/revisions/{revision.pk}/decide/", {"decision": "approve"})
    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.title, task.host_name, task.reward) == (
        "棚田の草刈り（午前だけ）",  # kept as typed
        board["host"].public_name,
        "新米 2kg と昼食",
    )
    # A blank title is refused next to the field.
    response = host.post(f"/tasks/{task.pk}/edit/", {**TASK_FIELDS, "title": ""})
    assert response.status_code == 200 and errors_of(response.content.decode())

    # Add a session and change one (held, then approved); cancel one with a reason.
    response = host.post(
        f"/tasks/{task.pk}/sessions/",
        {"date": day(30), "start_time": "10:00", "end_time": "12:00", "capacity": "8"},
    )
    assert response.status_code == 302
    assert task.sessions.count() == 1
    response = host.post(
        f"/sessions/{session.pk}/edit/",
        {"date": day(8), "start_time": "08:30", "end_time": "11:30", "capacity": "12"},
    )
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.capacity != 12
    revision = TaskRevision.objects.get(status="pending")
    assert len(revision.sessions) == 2
    response = office.post(f"/revisions/{revision.pk}/decide/", {"decision": "approve"})
    assert response.status_code == 302
    assert task.sessions.count() == 2
    session.refresh_from_db()
    assert session.capacity == 12
    assert timezone.localtime(session.starts_at).strftime("%H:%M") == "08:30"
    response = host.post(f"/sessions/{session.pk}/cancel/", {"reason": ""})
    assert response.status_code == 200 and errors_of(response.content.decode())
    response = host.post(f"/sessions/{session.pk}/cancel/", {"reason": "台風のため"})
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.status == "cancelled"


def test_cancelling_a_task_tells_its_people_and_needs_a_reason(board):
    host = client_for(board["host"])
    task = board["published"]
    person = board["resident"]
    services.signup_create(session=board["session"], person=person)
    page(host, f"/tasks/{task.pk}/cancel/")
    response = host.post(f"/tasks/{task.pk}/cancel/", {"reason": ""})
    assert response.status_code == 200 and errors_of(response.content.decode())
    task.refresh_from_db()
    assert task.status == "published"
    response = host.post(f"/tasks/{task.pk}/cancel/", {"reason": "大雪のため中止します"})
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == "cancelled"
    assert Signup.objects.get(person=person).status == "cancelled"
    assert "大雪のため中止します" in page(client_for(person), f"/tasks/{task.pk}/")


def test_the_activity_report_is_published_after_the_event(board):
    host = client_for(board["host"])
    task = board["published"]
    response = host.post(f"/tasks/{task.pk}/report/", {"report": "10人で草刈りをしました。"})
    assert response.status_code == 200
    assert "開催回が始まった後" in response.content.decode()
    move_to_past(board["session"])
    photo = SimpleUploadedFile("day.png", png(), content_type="image/png")
    response = host.post(
        f"/tasks/{task.pk}/report/", {"report": "10人で草刈りをしました。", "photo": photo}
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.report_published_at and task.report_photo.name.endswith(".jpg")
    html = page(client_for(None), f"/tasks/{task.pk}/")
    assert "10人で草刈りをしました。" in html and task.report_photo.url in html


def test_approval_tasks_are_accepted_or_declined_on_the_participants_page():
    staff = staff_of(CHIZU)
    task = published_task(staff=staff, signup_mode="approval")
    session = task.sessions.get()
    asking, declined = resident(), resident()
    response = client_for(asking).post(
        f"/sessions/{session.pk}/signup/", {**SIGNUP_FORM, "message": "運転できます"}
    )
    assert response.status_code == 302
    services.signup_create(session=session, person=declined)
    office = client_for(staff)
    html = page(office, f"/tasks/{task.pk}/participants/")
    assert "運転できます" in html and "/decide/" in html
    first, second = Signup.objects.filter(session=session).order_by("pk")
    assert office.post(f"/signups/{first.pk}/decide/", {"decision": "accept"}).status_code == 302
    assert office.post(f"/signups/{second.pk}/decide/", {"decision": "decline"}).status_code == 302
    assert office.post(f"/signups/{second.pk}/decide/", {"decision": "maybe"}).status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("confirmed", "declined")


def test_repeat_participants_stand_out_for_the_host():
    staff = staff_of(CHIZU)
    person = resident()
    for days in (7, 14):
        task = published_task(
            staff=staff,
            sessions=[{"starts_at": in_days(days), "ends_at": in_days(days, 15), "capacity": 5}],
        )
        signup = services.signup_create(session=task.sessions.get(), person=person)
        move_to_past(signup.session)  # marked the day after, weeks ago
        services.attendance_mark(signup=signup, actor=staff, attendance="attended")
        move_to_past(signup.session, days=30 - days)
    task = published_task(staff=staff)
    services.signup_create(session=task.sessions.get(), person=person)
    assert "リピーター（3回目）" in page(client_for(staff), f"/tasks/{task.pk}/participants/")


# --- Finding tasks: filters, calendar, map -------------------------------------------------


def test_filters_find_tasks_and_bad_filters_are_form_errors():
    staff = staff_of(CHIZU)
    published_task(staff=staff, title="棚田の草刈り")
    published_task(
        staff=staff,
        title="古民家のウェブサイトづくり",
        description="空き家バンクのページを作ります。",
        category="digital",
        is_online=True,
    )
    published_task(
        HIDA, title="飛騨の雪かき", description="屋根の雪下ろしです。", category="disaster"
    )
    visitor = client_for(None)

    html = page(visitor, "/tasks/", search="草刈")
    assert "棚田の草刈り" in html and "雪かき" not in html and "ウェブサイト" not in html
    html = page(visitor, "/tasks/", search="くさかり")  # hiragana finds nothing odd, no error
    assert not errors_of(html)
    html = page(visitor, "/tasks/", prefecture="21")
    assert "飛騨の雪かき" in html and "棚田" not in html
    html = page(visitor, "/tasks/", category="digital")
    assert "ウェブサイト" in html and "棚田" not in html
    html = page(visitor, "/tasks/", online="true")
    assert "ウェブサイト" in html and "棚田" not in html and "badge-online" in html
    html = page(visitor, "/tasks/", municipality=CHIZU)
    assert "棚田" in html and "雪かき" not in html and "鳥取県智頭町のお手伝い" in html
    html = page(visitor, "/tasks/", date_from=day(6), date_to=day(8))
    assert "棚田" in html
    html = page(visitor, "/tasks/", date_from=day(8))
    assert "棚田" not in html
    for far in ({"date_to": "9999-12-31"}, {"date_from": "0001-01-01"}):  # a message, no 500
        for path in ("/tasks/", "/tasks/calendar/", "/tasks/map/"):
            assert "2000-01-01" in summary_of(page(visitor, path, **far))

    for params, message in [
        ({"date_from": "2026-13-45"}, "日付"),
        ({"date_from": day(9), "date_to": day(3)}, "後にして"),
        ({"prefecture": "99"}, "見つかりません"),
        ({"municipality": "999999"}, "見つかりません"),
        ({"near": "home"}, "ログイン"),
        ({"within_km": "abc"}, "数値"),
        ({"sort": "distance"}, "基準"),
        ({"search": "x" * 500}, "100"),
        ({"category": "astrology"}, "選択"),
        ({"near": "21\x0072"}, "距離の基準"),  # a NUL character is refused, not sent to SQL
        ({"search": "草\x00刈"}, "キーワード"),
    ]:
        for path in ("/tasks/", "/tasks/calendar/", "/tasks/map/"):
            html = page(visitor, path, **params)
            assert message in summary_of(html), (path, params, summary_of(html))
    assert "棚田" in page(visitor, "/tasks/", page="999")  # the last page, not a 404
    assert "棚田" in page(visitor, "/tasks/", page="abc")


def test_near_my_home_shows_the_distance_and_keeps_within_the_radius():
    staff = staff_of(CHIZU)
    published_task(staff=staff, title="棚田の草刈り")
    published_task(AMA, title="海士町の漁の手伝い")
    person = resident(home="313297")  # 鳥取県八頭町, next to 智頭町
    me = client_for(person)
    html = page(me, "/tasks/", near="home", within_km="30", sort="distance")
    assert "棚田の草刈り" in html and "海士町" not in html
    assert re.search(r"自宅から \d+ km", html)
    html = page(me, "/tasks/", near="home", sort="distance")
    assert html.index("棚田の草刈り") < html.index("海士町の漁の手伝い")
    # Someone signed in without a home is told to set one.
    staff_without_home = client_for(staff)
    assert "住所の市区町村" in summary_of(page(staff_without_home, "/tasks/", near="home"))


def test_the_calendar_shows_a_month_of_sessions_and_moves_between_months():
    staff = staff_of(CHIZU)
    task = published_task(staff=staff, title="棚田の草刈り")
    session = task.sessions.get()
    month = timezone.localtime(session.starts_at).strftime("%Y-%m")
    visitor = client_for(None)
    html = page(visitor, "/tasks/calendar/", month=month)
    assert "棚田の草刈り" in html and "<table" in html and "<caption>" in html
    assert f"/tasks/{task.pk}/" in html
    following = (session.starts_at + datetime.timedelta(days=40)).strftime("%Y-%m")
    assert "棚田の草刈り" not in page(visitor, "/tasks/calendar/", month=following)
    assert "month=" in html  # previous and next months keep the filters
    html = page(visitor, "/tasks/calendar/", month=month, search="雪かき")
    assert "棚田の草刈り" not in html
    for bad in ("2026-13", "tomorrow", "9999-01", "0001-01"):
        assert "西暦の年と月" in page(visitor, "/tasks/calendar/", month=bad)
    unpadded = f"{month[:4]}-{int(month[5:])}"  # 2026-3 as well as 2026-03
    assert "棚田の草刈り" in page(visitor, "/tasks/calendar/", month=unpadded)


def test_the_map_counts_tasks_by_prefecture_and_links_to_the_list():
    staff = staff_of(CHIZU)
    published_task(staff=staff, title="棚田の草刈り")
    published_task(staff=staff, title="智頭の杉の間伐")
    published_task(HIDA, title="飛騨の雪かき")
    html = page(client_for(None), "/tasks/map/")

    def count(code: str, name: str) -> int:
        found = re.search(
            rf'prefecture={code}">{name}</a></th>\s*<td>(\d+)</td>', html.replace("&amp;", "&")
        )
        assert found, name
        return int(found.group(1))

    assert count("31", "鳥取県") == 2
    assert count("21", "岐阜県") == 1
    assert count("13", "東京都") == 0
    # The outline map: every prefecture drawn, a marker per town with tasks.
    assert html.count('<svg class="japan-map"') == 1 and html.count("<path d=") == 47
    assert html.count('class="map-marker') == 2
    assert "飛騨の雪かき" in page(client_for(None), "/tasks/", prefecture="21")


# --- Signing up --------------------------------------------------------------------------


def test_the_ical_file_has_the_sessions_start():
    task = published_task(title="棚田の草刈り")
    session = task.sessions.get()
    person = resident()
    signup = services.signup_create(session=session, person=person)
    response = client_for(person).get(f"/me/signups/{signup.pk}/calendar.ics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    body = response.content.decode()
    starts = session.starts_at.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    assert f"DTSTART:{starts}" in body  # 09:00 in Tokyo is 00:00 UTC
    assert "棚田の草刈り" in body and f"/tasks/{task.pk}/" in body
    # Only for a confirmed place.
    waiting = services.signup_create(session=session, person=resident())
    waiting_person_client = client_for(waiting.person)
    services.signup_cancel(signup=signup, actor=person)
    waiting.refresh_from_db()
    assert waiting.status == "confirmed"
    assert waiting_person_client.get(f"/me/signups/{waiting.pk}/calendar.ics").status_code == 200
    assert client_for(person).get(f"/me/signups/{signup.pk}/calendar.ics").status_code == 404


def test_signing_up_twice_or_after_the_deadline_is_refused_on_the_form():
    task = published_task(
        sessions=[{"starts_at": in_days(1, 23), "ends_at": in_days(2, 1), "capacity": 5}],
        signup_close_hours=72,
    )
    session = task.sessions.get()
    person = resident()
    response = client_for(person).post(
        f"/sessions/{session.pk}/signup/", {**SIGNUP_FORM, "message": ""}
    )
    assert response.status_code == 200
    assert "締め切りました" in summary_of(response.content.decode())
    assert not Signup.objects.exists()

    open_task = published_task(title="空きのあるお手伝い")
    open_session = open_task.sessions.get()
    me = client_for(person)
    assert (
        me.post(
            f"/sessions/{open_session.pk}/signup/", {**SIGNUP_FORM, "message": "よろしく"}
        ).status_code
        == 302
    )
    response = me.post(f"/sessions/{open_session.pk}/signup/", {**SIGNUP_FORM, "message": ""})
    assert response.status_code == 200
    assert "すでに申し込んでいます" in response.content.decode()
    assert Signup.objects.filter(person=person).count() == 1
    response = client_for(resident()).post(
        f"/sessions/{open_session.pk}/signup/", {**SIGNUP_FORM, "message": "長" * 1001}
    )
    assert response.status_code == 200 and errors_of(response.content.decode())
    assert Signup.objects.count() == 1


def test_an_offer_from_the_waiting_list_is_confirmed_on_my_signups():
    task = published_task(capacity=1, confirm_window_hours=12)
    session = task.sessions.get()
    first, second = resident(), resident()
    held = services.signup_create(session=session, person=first)
    waiting = services.signup_create(session=session, person=second)
    services.signup_cancel(signup=held, actor=first)
    waiting.refresh_from_db()
    assert waiting.status == "offered"
    me = client_for(second)
    html = page(me, "/me/signups/")
    assert f"/me/signups/{waiting.pk}/confirm/" in html and "までに参加を確定" in html
    assert me.post(f"/me/signups/{waiting.pk}/confirm/").status_code == 302
    waiting.refresh_from_db()
    assert waiting.status == "confirmed"
    # Confirming twice is a message, not an error page.
    response = me.post(f"/me/signups/{waiting.pk}/confirm/", follow=True)
    assert (
        response.status_code == 200
        and "確定を待っている申込ではありません" in response.content.decode()
    )


def test_cancelling_after_the_deadline_is_refused_with_the_reason():
    task = published_task(
        sessions=[{"starts_at": in_days(1, 23), "ends_at": in_days(2, 1), "capacity": 5}],
        signup_close_hours=1,
        cancel_close_hours=72,
    )
    person = resident()
    signup = services.signup_create(session=task.sessions.get(), person=person)
    me = client_for(person)
    assert "ヌシに直接連絡" in page(me, "/me/signups/")
    response = me.post(f"/me/signups/{signup.pk}/cancel/", {"confirm": "yes"}, follow=True)
    assert response.status_code == 200 and "締め切り" in response.content.decode()
    signup.refresh_from_db()
    assert signup.status == "confirmed"
    # The confirmation page says so and offers no button.
    html = page(me, f"/me/signups/{signup.pk}/cancel/")
    assert "締め切り" in html and 'name="confirm"' not in html


# --- Refusals: form errors, nothing created ---------------------------------------------


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ((day(-1), "09:00", "15:00", "5"), "未来の日時"),
        ((day(5), "15:00", "09:00", "5"), "終了は開始より後"),
        ((day(5), "09:00", "09:00", "5"), "終了は開始より後"),
        ((day(5), "09:00", "15:00", "0"), "1 以上"),
        ((day(5), "09:00", "15:00", "-3"), "1 以上"),
        ((day(5), "09:00", "15:00", "100000"), "10000 以下"),
        (("2026-02-30", "09:00", "15:00", "5"), "日付"),
        ((day(5), "25:00", "26:00", "5"), "時間"),
        (("", "", "", ""), "必須"),
    ],
)
def test_a_bad_session_is_a_form_error_and_creates_nothing(row, message):
    host = host_of(CHIZU)
    response = client_for(host).post(f"/tasks/new/{CHIZU}/", task_data([row]))
    assert response.status_code == 200
    html = response.content.decode()
    assert any(message in error for error in errors_of(html)), errors_of(html)
    assert "開催回を確認してください" in html
    assert not Task.objects.exists() and not Session.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field_message"),
    [
        ({"title": ""}, "必須"),
        ({"reward": ""}, "必須"),
        ({"category": "astrology"}, "選択"),
        ({"latitude": "35.2"}, "両方"),
        ({"latitude": "99", "longitude": "134"}, "46 以下"),
        ({"minimum_age": "150"}, "100 以下"),
        ({"signup_close_hours": "99999999999"}, "2160 以下"),
        ({"confirm_window_hours": "0"}, "1 以上"),
        ({"skills": ["telepathy"]}, "選択"),
    ],
)
def test_a_bad_task_field_is_a_form_error_and_creates_nothing(changes, field_message):
    host = host_of(CHIZU)
    data = task_data([(day(5), "09:00", "15:00", "5")], **changes)
    response = client_for(host).post(f"/tasks/new/{CHIZU}/", data)
    assert response.status_code == 200
    html = response.content.decode()
    assert any(field_message in error for error in errors_of(html)), errors_of(html)
    assert not Task.objects.exists()


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (("big.png", "noise"), "MB以下"),
        (("photo.jpg", b"this is not a picture at all"), "JPEG、PNG、WebP"),
        (("photo.gif", "gif"), "JPEG、PNG、WebP"),
    ],
)
def test_an_oversized_or_non_image_photo_is_refused_and_creates_nothing(settings, upload, message):
    settings.MATCHING_PHOTO_MAX_BYTES = 20_000
    name, content = upload
    if content == "noise":
        content = png((300, 300), noise=True)
        assert len(content) > 20_000
    elif content == "gif":
        out = io.BytesIO()
        Image.new("RGB", (10, 10)).save(out, format="GIF")
        content = out.getvalue()
    host = host_of(CHIZU)
    data = task_data([(day(5), "09:00", "15:00", "5")])
    data["photo"] = SimpleUploadedFile(name, content)
    response = client_for(host).post(f"/tasks/new/{CHIZU}/", data)
    assert response.status_code == 200
    assert any(message in error for error in errors_of(response.content.decode()))
    assert not Task.objects.exists() and not Session.objects.exists()


def test_a_photo_is_stored_as_a_jpeg_and_shown_with_its_alt_text():
    host = host_of(CHIZU)
    data = task_data([(day(5), "09:00", "15:00", "5")], photo_alt="棚田と山並み")
    data["photo"] = SimpleUploadedFile("tanada.png", png(), content_type="image/png")
    response = client_for(host).post(f"/tasks/new/{CHIZU}/", data)
    assert response.status_code == 302
    task = Task.objects.get()
    assert task.photo.name.endswith(".jpg")
    assert 'alt="棚田と山並み"' in page(client_for(host), f"/tasks/{task.pk}/")


def test_host_applications_refused_by_the_service_show_on_the_form():
    person = resident()
    me = client_for(person)
    for value, message in [("999999", "見つかりません"), ("府中市", "複数あります"), ("", "必須")]:
        response = me.post("/host/apply/", {"municipality": value, "message": "草刈り"})
        assert response.status_code == 200
        assert any(message in e for e in errors_of(response.content.decode())), value
    assert me.post("/host/apply/", {"municipality": CHIZU, "message": "草刈り"}).status_code == 302
    response = me.post("/host/apply/", {"municipality": CHIZU, "message": "もう一度"})
    assert response.status_code == 200
    assert "すでに審査中" in response.content.decode()
    assert HostApplication.objects.filter(person=person).count() == 1
    # A host of the town cannot apply again.
    host = host_of(CHIZU)
    response = client_for(host).post("/host/apply/", {"municipality": CHIZU, "message": "x"})
    assert "すでに承認されています" in response.content.decode()


def test_staff_cannot_decide_their_own_application_and_others_see_404():
    staff = staff_of(CHIZU)
    application = services.host_apply(
        person=staff, municipality=staff.memberships.get().municipality, message="自分で"
    )
    key = f"application-{application.pk}"
    response = client_for(staff).post(
        f"/staff/host-applications/{application.pk}/decide/", {f"{key}-decision": "approve"}
    )
    assert response.status_code == 403
    response = client_for(staff_of(AMA)).post(
        f"/staff/host-applications/{application.pk}/decide/", {f"{key}-decision": "approve"}
    )
    assert response.status_code == 404
    response = client_for(staff_of(CHIZU)).post(
        f"/staff/host-applications/{application.pk}/decide/", {f"{key}-decision": "perhaps"}
    )
    assert response.status_code == 200 and errors_of(response.content.decode())
    application.refresh_from_db()
    assert application.status == "pending"


# --- Navigation --------------------------------------------------------------------------


def test_navigation_links_the_board_sign_ups_and_notifications():
    html = page(client_for(None), "/")
    assert 'href="/tasks/"' in html and 'href="/me/signups/"' not in html
    person = resident()
    task = published_task()
    services.signup_create(session=task.sessions.get(), person=person)
    html = page(client_for(person), "/")
    assert 'href="/me/signups/"' in html and 'href="/notifications/"' in html
    assert 'class="nav-count">1' in html  # the confirmation in the inbox
    assert f"/tasks/?municipality={CHIZU}" in page(client_for(None), f"/municipalities/{CHIZU}/")
    staff_home = page(client_for(staff_of(CHIZU)), "/staff/")
    assert f"/staff/{CHIZU}/tasks/" in staff_home and f"/staff/{CHIZU}/hosts/" in staff_home


# --- Query counts ------------------------------------------------------------------------


def test_the_board_costs_the_same_queries_for_one_task_or_twenty(django_assert_max_num_queries):
    staff = staff_of(CHIZU)
    person = resident()
    published_task(staff=staff, title="最初のお手伝い")
    visitor, me = client_for(None), client_for(person)
    for path in ("/tasks/", "/tasks/calendar/", "/tasks/map/"):
        page(me, path, near="home")  # distances are read once per process, not per page
    few = {
        path: (queries_of(visitor, path), queries_of(me, path, near="home"))
        for path in ("/tasks/", "/tasks/calendar/", "/tasks/map/")
    }
    for number in range(20):
        published_task(staff=staff, title=f"お手伝い{number}", capacity=number + 1)
    for path, (anonymous, signed_in) in few.items():
        assert queries_of(visitor, path) == anonymous, path
        assert queries_of(me, path, near="home") == signed_in, path
    with django_assert_max_num_queries(12):
        html = page(me, "/tasks/", near="home")
    assert html.count('class="task-card"') == 20


def test_a_task_page_and_my_sign_ups_are_bounded(django_assert_max_num_queries):
    staff = staff_of(CHIZU)
    sessions = [
        {"starts_at": in_days(days), "ends_at": in_days(days, 15), "capacity": 1}
        for days in range(3, 13)
    ]
    task = published_task(staff=staff, sessions=sessions)
    person = resident()
    for session in task.sessions.all():
        services.signup_create(session=session, person=resident())  # takes the place
        services.signup_create(session=session, person=person)  # waits
    me = client_for(person)
    with django_assert_max_num_queries(10):
        page(me, f"/tasks/{task.pk}/")
    with django_assert_max_num_queries(10):
        html = page(me, "/me/signups/")
    assert html.count("キャンセル待ち 1番目") == 10
    office = client_for(staff)
    # The read is audited: one INSERT (in a savepoint, under the test's transaction).
    with django_assert_max_num_queries(14):
        html = page(office, f"/tasks/{task.pk}/participants/")
    assert html.count('class="participant ') == 20
    # One more: the hosts' changes to published tasks waiting for review.
    with django_assert_max_num_queries(14):
        page(office, f"/staff/{CHIZU}/tasks/")
