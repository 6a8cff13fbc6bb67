"""The briefing for participants (issue 17, Done-when 2): where exactly to meet, what
happens on the day and whom to call reach the people holding a place — on the task's page,
in the confirmation e-mail (a real SMTP server) and in the .ics, parsed with ``icalendar`` —
and nobody else: not the public page or API, not an anonymous visitor, not a person on the
waiting list, not another user. Bad input is a clear 400 in Japanese and English; another
town's host is refused."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings
from icalendar import Calendar

from accounts.models import AuditEvent
from core.errors import Conflict, Denied
from demo.content import demo_tasks
from matching import services
from matching.models import Signup, SignupStatus, Task, TaskBriefing
from notifications.emails import message_for
from notifications.models import Email, Notification
from notifications.services import email_relay
from tests.factories import client_for
from tests.matching.support import (
    AMA,
    CHIZU,
    api_as,
    error_of,
    host_of,
    make_task,
    published_task,
    refuses,
    resident,
    staff_of,
)
from tests.smtp import SmtpServer, smtp_server_running
from tests.support import errors_of, page

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

MEETING_POINT = "智頭駅の改札前・青い看板の下"
ADDRESS = "鳥取県八頭郡智頭町大字智頭1875"
INSTRUCTIONS = "8:50に集合。軍手と飲み物を持ってきてください。"
CONTACT = "ヌシの携帯 090-1234-5678"
BRIEFING = {
    "meeting_point": MEETING_POINT,
    "address": ADDRESS,
    "latitude": 35.2650,
    "longitude": 134.2270,
    "instructions": INSTRUCTIONS,
    "contact": CONTACT,
}
SECRETS = (MEETING_POINT, ADDRESS, "090-1234-5678", "軍手と飲み物")


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server_running() as server:
        yield server


def _hosted_task(capacity: int = 1, **kwargs):
    """A task of 智頭町's host, published by its staff, with one session and a briefing."""
    host = host_of(CHIZU)
    staff = staff_of(CHIZU)
    task = make_task(host, CHIZU, capacity=capacity, address="鳥取県八頭郡智頭町", **kwargs)
    services.task_submit(task=task, actor=host)
    task = services.task_publish(task=task, actor=staff)
    services.briefing_set(task=task, actor=host, **BRIEFING)
    return task, host


def _absent(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, secret


def _present(text: str) -> None:
    for secret in SECRETS:
        assert secret in text, secret


def test_the_meeting_point_reaches_only_the_people_holding_a_place():
    task, host = _hosted_task(capacity=1)
    session = task.sessions.get()
    confirmed, waiting, other = resident(), resident(), resident()
    assert services.signup_create(session=session, person=confirmed).status == "confirmed"
    assert services.signup_create(session=session, person=waiting).status == "waitlisted"

    # Nobody without a place: anonymous, the waiting list, another user, another town's host
    # and staff — the page, the
    # public API (detail and list), the board's lists, and the briefing's own endpoint.
    for person in (None, waiting, other, host_of(AMA), staff_of(AMA)):
        _absent(page(client_for(person), f"/tasks/{task.pk}/"))
        _absent(page(client_for(person), "/tasks/"))
        _absent(page(client_for(person), "/tasks/calendar/"))
        _absent(page(client_for(person), "/tasks/map/"))
        api = api_as(person)
        _absent(api.get(f"/api/tasks/{task.pk}/").content.decode())
        _absent(api.get("/api/tasks/").content.decode())
        _absent(api.get(f"/api/sessions/{session.pk}/").content.decode())
        briefing = api.get(f"/api/tasks/{task.pk}/briefing/")
        assert briefing.status_code == (401 if person is None else 404)
        _absent(briefing.content.decode())
    # Nor the waiting person's own sign-ups page and API.
    _absent(page(client_for(waiting), "/me/signups/"))
    _absent(api_as(waiting).get("/api/signups/").content.decode())
    assert "briefing" not in api_as(None).get(f"/api/tasks/{task.pk}/").json()

    # The confirmed participant: on the page and through the API.
    html = page(client_for(confirmed), f"/tasks/{task.pk}/")
    _present(html)
    assert 'id="briefing"' in html and "openstreetmap.org/?mlat=35.265" in html
    assert f"/tasks/{task.pk}/briefing/" not in html  # no edit link for a participant
    data = api_as(confirmed).get(f"/api/tasks/{task.pk}/briefing/").json()
    assert data["meeting_point"] == MEETING_POINT and data["latitude"] == 35.265

    # The host sees it with the link to edit it.
    html = page(client_for(host), f"/tasks/{task.pk}/")
    _present(html)
    assert f"/tasks/{task.pk}/briefing/" in html

    # Once the participant cancels, it is gone for them; the person promoted gets it.
    services.signup_cancel(signup=confirmed.signups.get(), actor=confirmed)
    assert waiting.signups.get().status == SignupStatus.CONFIRMED
    _absent(page(client_for(confirmed), f"/tasks/{task.pk}/"))
    assert api_as(confirmed).get(f"/api/tasks/{task.pk}/briefing/").status_code == 404
    _present(page(client_for(waiting), f"/tasks/{task.pk}/"))


def test_a_place_offered_from_the_waiting_list_holds_and_sees_it():
    task, _host = _hosted_task(capacity=1, confirm_window_hours=24)
    session = task.sessions.get()
    first, second = resident(), resident()
    services.signup_create(session=session, person=first)
    offered = services.signup_create(session=session, person=second)
    _absent(page(client_for(second), f"/tasks/{task.pk}/"))
    services.signup_cancel(signup=first.signups.get(), actor=first)
    offered.refresh_from_db()
    assert offered.status == SignupStatus.OFFERED
    _present(page(client_for(second), f"/tasks/{task.pk}/"))


def test_the_confirmation_email_carries_the_briefing_as_it_is_when_sent(smtp):
    task, host = _hosted_task(capacity=1)
    session = task.sessions.get()
    confirmed, waiting = resident(), resident()
    with override_settings(**smtp.settings()):
        services.signup_create(session=session, person=confirmed)
        services.signup_create(session=session, person=waiting)
        # Changed after the sign-up, before the e-mail goes out: the e-mail says the new.
        services.briefing_set(task=task, actor=host, contact="ヌシの携帯 090-1234-5678（変更）")
        email_relay()
    # The confirmation, and the notice that the briefing changed after it.
    message, changed = sorted(
        smtp.to(confirmed.email), key=lambda m: "参加が決まりました" not in m.text
    )
    assert "参加が決まりました" in str(message.message["Subject"])
    assert "案内が更新されました" in str(changed.message["Subject"])
    _present(message.text)
    assert "（変更）" in message.text
    assert "openstreetmap.org/?mlat=35.265" in message.text
    [waitlisted] = smtp.to(waiting.email)
    _absent(waitlisted.text)
    # The inbox row of the confirmation shows it too; the waiting person's does not.
    _present(confirmed.notifications.get(kind="signup_confirmed").body)
    _absent(waiting.notifications.get().body)


def test_an_accepted_request_and_a_promotion_carry_it_in_english():
    task, host = _hosted_task(capacity=1, signup_mode="approval")
    session = task.sessions.get()
    person = resident(language="en")
    request = services.signup_create(session=session, person=person)
    pending = Email.objects.get(recipient=person)
    assert MEETING_POINT not in message_for(pending).body  # a request holds no place
    services.signup_decide(signup=request, actor=host, accept=True)
    accepted = Email.objects.filter(recipient=person).latest("id")
    text = message_for(accepted).body
    assert "Briefing for participants" in text and "Meeting point:" in text
    _present(text)

    task2, _host2 = _hosted_task(capacity=1, title="栗拾い")
    session2 = task2.sessions.get()
    first, promoted = resident(), resident()
    services.signup_create(session=session2, person=first)
    services.signup_create(session=session2, person=promoted)
    services.signup_cancel(signup=first.signups.get(), actor=first)
    promotion = Email.objects.filter(recipient=promoted).latest("id")
    _present(message_for(promotion).body)
    # The e-mail of a place given up no longer shows it, whenever it is rendered.
    confirmation = Email.objects.filter(recipient=first).earliest("id")
    _absent(message_for(confirmation).body)


def test_the_ics_has_location_description_and_geo():
    task, _host = _hosted_task()
    person = resident()
    signup = services.signup_create(session=task.sessions.get(), person=person)
    for path in (f"/me/signups/{signup.pk}/calendar.ics", f"/api/signups/{signup.pk}/ical/"):
        client = client_for(person) if path.startswith("/me") else api_as(person)
        response = client.get(path)
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/calendar")
        [event] = Calendar.from_ical(response.content).walk("VEVENT")
        assert str(event["LOCATION"]) == f"{MEETING_POINT} {ADDRESS}"
        description = str(event["DESCRIPTION"])
        assert INSTRUCTIONS in description and CONTACT in description
        geo = event["GEO"]
        assert (geo.latitude, geo.longitude) == (35.265, 134.227)
        assert str(event["UID"]).startswith(f"signup-{signup.pk}@")


def test_without_a_briefing_the_ics_shows_the_public_place_and_no_geo():
    task = published_task(address="鳥取県八頭郡智頭町")
    person = resident()
    signup = services.signup_create(session=task.sessions.get(), person=person)
    response = client_for(person).get(f"/me/signups/{signup.pk}/calendar.ics")
    [event] = Calendar.from_ical(response.content).walk("VEVENT")
    assert str(event["LOCATION"]) == "鳥取県八頭郡智頭町"
    assert "GEO" not in event


# --- Writing it ---------------------------------------------------------------------------


def test_the_host_writes_it_on_its_page_and_it_takes_effect_at_once():
    host = host_of(CHIZU)
    staff = staff_of(CHIZU)
    task = make_task(host, CHIZU)
    services.task_submit(task=task, actor=host)
    task = services.task_publish(task=task, actor=staff)
    client = client_for(host)
    html = page(client, f"/tasks/{task.pk}/briefing/")
    assert 'name="meeting_point"' in html and "公開ページには出ません" in html
    response = client.post(
        f"/tasks/{task.pk}/briefing/",
        {**BRIEFING, "meeting_point": "  智頭駅の改札前・青い看板の下  "},  # trimmed
    )
    assert response.status_code == 302 and response["Location"].endswith("#briefing")
    briefing = TaskBriefing.objects.get(task=task)
    assert briefing.meeting_point == MEETING_POINT and briefing.updated_by == host
    assert briefing.latitude == 35.265
    # No review: the task has no pending revision, and the audit log has the change.
    assert not task.revisions.exists()
    event = AuditEvent.objects.get(action="task.briefing_set")
    assert event.actor == host and event.target_id == str(task.pk)
    assert "meeting_point" in event.detail["fields"]
    # The staff of the town may change it too, through the API.
    response = api_as(staff).patch(
        f"/api/tasks/{task.pk}/briefing/", {"contact": "役場 0858-75-0000"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["contact"] == "役場 0858-75-0000"
    assert response.json()["meeting_point"] == MEETING_POINT  # a PATCH keeps the rest
    # A PUT says the whole briefing.
    response = api_as(host).put(
        f"/api/tasks/{task.pk}/briefing/", {"meeting_point": "智頭町役場"}, format="json"
    )
    assert response.json()["contact"] == "" and response.json()["latitude"] is None


def test_the_task_form_says_its_place_is_public():
    host = host_of(CHIZU)
    html = page(client_for(host), f"/tasks/new/{CHIZU}/")
    assert "場所（公開）" in html and "参加者向けの案内" in html


@pytest.mark.parametrize(
    ("language", "latitude_words", "length_words"),
    [
        ("ja", "日本の範囲", "200文字以内"),
        ("en", "within Japan", "200 characters"),
    ],
)
def test_bad_input_is_a_clear_400_and_saves_nothing(language, latitude_words, length_words):
    task, host = _hosted_task()
    before = TaskBriefing.objects.get(task=task).meeting_point
    api = api_as(host, language=language)
    error = error_of(
        api.put(
            f"/api/tasks/{task.pk}/briefing/",
            {"meeting_point": "駅", "latitude": 10.0, "longitude": 134.0},
            format="json",
        ),
        400,
        "briefing_outside_japan",
    )
    assert latitude_words in error["message"]
    assert list(error["fields"]) == ["latitude"]
    error = error_of(
        api.patch(f"/api/tasks/{task.pk}/briefing/", {"meeting_point": "あ" * 201}, format="json"),
        400,
        "briefing_too_long",
    )
    assert length_words in error["message"] and list(error["fields"]) == ["meeting_point"]
    error_of(
        api.patch(
            f"/api/tasks/{task.pk}/briefing/",
            {"latitude": 35.2, "longitude": None},
            format="json",
        ),
        400,
        "briefing_coordinate_pair",
    )
    assert TaskBriefing.objects.get(task=task).meeting_point == before

    # The page: the same refusals beside the fields, nothing saved.
    response = client_for(host, language).post(
        f"/tasks/{task.pk}/briefing/",
        {**BRIEFING, "latitude": "60", "instructions": "あ" * 3001},
    )
    assert response.status_code == 200
    html = response.content.decode()
    errors = " ".join(errors_of(html))
    assert latitude_words in errors and ("3000" in errors)
    assert TaskBriefing.objects.get(task=task).instructions == INSTRUCTIONS


def test_the_service_refuses_with_codes():
    task, host = _hosted_task()
    with refuses("briefing_outside_japan"):
        services.briefing_set(task=task, actor=host, latitude=35.0, longitude=100.0)
    with refuses("briefing_coordinate_pair"):
        services.briefing_set(task=task, actor=host, latitude=None, longitude=134.0)
    with refuses("briefing_too_long"):
        services.briefing_set(task=task, actor=host, contact="0" * 201)
    with refuses("not_task_manager", kind=Denied):
        services.briefing_set(task=task, actor=host_of(AMA), meeting_point="乗っ取り")
    assert TaskBriefing.objects.get(task=task).contact == CONTACT
    # Nothing changed: no second audit row.
    services.briefing_set(task=task, actor=host, **BRIEFING)
    assert AuditEvent.objects.filter(action="task.briefing_set").count() == 1
    # A task that is over keeps its briefing as it was.
    services.task_cancel(task=task, actor=host, reason="大雨のため")
    with refuses("task_over", kind=Conflict):
        services.briefing_set(task=task, actor=host, contact="変更")
    assert f"/tasks/{task.pk}/briefing/" not in page(client_for(host), f"/tasks/{task.pk}/")


def test_another_towns_host_or_staff_is_refused():
    task, _host = _hosted_task()
    for outsider in (host_of(AMA), staff_of(AMA), resident()):
        assert client_for(outsider).get(f"/tasks/{task.pk}/briefing/").status_code == 403
        response = client_for(outsider).post(
            f"/tasks/{task.pk}/briefing/", {**BRIEFING, "meeting_point": "乗っ取り"}
        )
        assert response.status_code == 403
        error_of(
            api_as(outsider).put(
                f"/api/tasks/{task.pk}/briefing/", {"meeting_point": "乗っ取り"}, format="json"
            ),
            403,
            "not_task_manager",
        )
        assert api_as(outsider).get(f"/api/tasks/{task.pk}/briefing/").status_code == 404
    assert TaskBriefing.objects.get(task=task).meeting_point == MEETING_POINT
    # A draft's briefing page is unknown to anyone but its managers.
    draft = make_task(host_of(CHIZU), CHIZU, title="下書き")
    assert client_for(host_of(AMA)).get(f"/tasks/{draft.pk}/briefing/").status_code == 404
    assert api_as(None).put(f"/api/tasks/{task.pk}/briefing/", {}).status_code == 401
    assert client_for(None).get(f"/tasks/{task.pk}/briefing/").status_code == 302  # sign in


def test_the_briefing_page_in_english():
    task, host = _hosted_task()
    person = resident()
    services.signup_create(session=task.sessions.get(), person=person)
    html = page(client_for(person, "en"), f"/tasks/{task.pk}/", language="en")
    assert "Briefing for participants" in html and MEETING_POINT in html
    html = page(client_for(host, "en"), f"/tasks/{task.pk}/briefing/", language="en")
    assert "Meeting point" in html and "Save" in html


def test_the_demo_task_that_promises_a_meeting_point_has_one():
    promised = "集合場所は参加が決まった方にお知らせします"
    for month in range(1, 13):
        for spec in demo_tasks(month):
            if promised in spec.address or promised in spec.description:
                assert spec.briefing.get("meeting_point"), spec.title
                assert spec.briefing.get("contact") and spec.briefing.get("instructions")
                assert 20 <= spec.briefing["latitude"] <= 46


def test_the_demo_loader_writes_the_briefing_a_participant_then_sees(settings):
    settings.DEMO_CONTENT_ALLOWED = True
    for name in ("load_demo_accounts", "load_demo_registry", "load_demo_board"):
        call_command(name, stdout=StringIO())
    promised = Task.objects.filter(address__contains="集合場所は参加が決まった方にお知らせします")
    task = promised.get()  # one of them, for the season the clock is in
    briefing = TaskBriefing.objects.get(task=task)
    assert briefing.meeting_point and briefing.contact and briefing.latitude is not None
    holder = Signup.objects.filter(session__task=task, status=SignupStatus.CONFIRMED).first()
    assert briefing.meeting_point in page(client_for(holder.person), f"/tasks/{task.pk}/")
    assert briefing.meeting_point not in page(client_for(None), f"/tasks/{task.pk}/")


def test_people_already_holding_a_place_hear_when_the_briefing_changes():
    """A briefing written (or changed) after people signed up reaches them; not the
    waiting list, not the host."""
    task, host = _hosted_task(capacity=1)
    session = task.sessions.get()
    holder, waiting = resident(), resident()
    services.signup_create(session=session, person=holder)
    services.signup_create(session=session, person=waiting)
    services.briefing_set(task=task, actor=host, meeting_point="智頭駅の東口")

    notice = Notification.objects.get(kind="briefing_changed")
    assert notice.recipient_id == holder.pk
    assert "智頭駅の東口" in notice.rendered()[1]
    # Nothing changed, nobody told again.
    services.briefing_set(task=task, actor=host, meeting_point="智頭駅の東口")
    assert Notification.objects.filter(kind="briefing_changed").count() == 1


def test_the_participants_page_leads_to_the_briefing_the_messages_and_the_questions():
    task, host = _hosted_task()
    html = page(client_for(host), f"/tasks/{task.pk}/participants/")
    for path in ("briefing/", "messages/", "questions/"):
        assert f'href="/tasks/{task.pk}/{path}"' in html
