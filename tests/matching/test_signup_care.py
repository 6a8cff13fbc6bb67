"""Sign-up care (issue 17): each small break of the loop between host and participants has
a test here that would have caught it — cancelling in one tap and without a reason, an
offered place counted as confirmed, a waiting list, a watch or a calendar button offered
where there is nothing to come, watching a task that still has places, and joining a
waiting list over a held session without a warning."""

from __future__ import annotations

import datetime

import pytest

from core.errors import Conflict
from matching import services
from matching.errors import MatchingCode
from matching.models import Signup, TaskWatch
from tests.factories import client_for
from tests.matching.support import (
    CHIZU,
    HIDA,
    api_as,
    error_of,
    host_of,
    in_days,
    move_to_past,
    published_task,
    refuses,
    resident,
    staff_of,
)
from tests.support import SIGNUP_DETAILS, SIGNUP_FORM, errors_of, messages_of, page, summary_of

pytestmark = pytest.mark.django_db


def slot(start: datetime.datetime, hours: int = 2, capacity: int = 1) -> dict:
    return {
        "starts_at": start,
        "ends_at": start + datetime.timedelta(hours=hours),
        "capacity": capacity,
    }


# --- Cancelling asks first, and takes an optional reason ---------------------------------


@pytest.mark.parametrize("language", ["ja", "en"])
def test_cancelling_is_not_one_tap_and_takes_a_reason(language):
    task = published_task(capacity=3)
    person = resident()
    signup = services.signup_create(session=task.sessions.get(), person=person)
    me = client_for(person, language)
    # My sign-ups links to a confirmation page; no form there cancels in one tap.
    html = page(me, "/me/signups/", language)
    assert f'href="/me/signups/{signup.pk}/cancel/"' in html
    assert f'action="/me/signups/{signup.pk}/cancel/"' not in html
    html = page(me, f"/me/signups/{signup.pk}/cancel/", language)
    assert 'name="reason"' in html and 'name="confirm" value="yes"' in html
    assert ("この申込をキャンセルしますか" if language == "ja" else "Cancel this sign-up?") in html
    # Nobody waits for this session: the place becomes free, not "goes to the next person".
    assert ("空きになり" if language == "ja" else "becomes free") in html
    assert "キャンセル待ちの方" not in html and "waiting list" not in html
    # A POST without the confirmation (an old one-tap form) cancels nothing.
    response = me.post(f"/me/signups/{signup.pk}/cancel/", {"reason": "x"})
    assert response.status_code == 200
    signup.refresh_from_db()
    assert signup.status == "confirmed"
    # Too long a reason is refused on the form, and nothing changes.
    response = me.post(
        f"/me/signups/{signup.pk}/cancel/", {"confirm": "yes", "reason": "あ" * 1001}
    )
    assert response.status_code == 200 and errors_of(response.content.decode())
    signup.refresh_from_db()
    assert signup.status == "confirmed"
    # Confirmed, with a reason: cancelled, and the reason kept for the host.
    response = me.post(
        f"/me/signups/{signup.pk}/cancel/",
        {"confirm": "yes", "reason": "  熱が出ました  "},
        follow=True,
    )
    assert messages_of(response.content.decode())
    signup.refresh_from_db()
    assert (signup.status, signup.cancel_reason) == ("cancelled", "熱が出ました")
    # Without a reason is fine too.
    other = services.signup_create(session=task.sessions.get(), person=resident())
    response = client_for(other.person).post(f"/me/signups/{other.pk}/cancel/", {"confirm": "yes"})
    assert response.status_code == 302
    other.refresh_from_db()
    assert (other.status, other.cancel_reason) == ("cancelled", "")


def test_the_reason_is_checked_by_the_service_and_the_api():
    session = published_task(capacity=3).sessions.get()
    person = resident()
    signup = services.signup_create(session=session, person=person)
    with refuses(MatchingCode.CANCEL_REASON_TOO_LONG):
        services.signup_cancel(signup=signup, actor=person, reason="あ" * 1001)
    error = error_of(
        api_as(person).post(
            f"/api/signups/{signup.pk}/cancel/", {"reason": "あ" * 1001}, format="json"
        ),
        400,
    )
    assert "reason" in error["fields"]
    assert Signup.objects.get(pk=signup.pk).status == "confirmed"
    # Without a body, the API cancels as before, with no reason.
    response = api_as(person).post(f"/api/signups/{signup.pk}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"


def test_nobody_else_reaches_a_persons_cancel_page():
    signup = services.signup_create(session=published_task().sessions.get(), person=resident())
    url = f"/me/signups/{signup.pk}/cancel/"
    assert client_for(None).get(url).status_code == 302  # to log in
    for outsider in (resident(), host_of(CHIZU), staff_of(CHIZU), host_of(HIDA)):
        assert client_for(outsider).get(url).status_code == 404
        assert client_for(outsider).post(url, {"confirm": "yes"}).status_code == 404
        error_of(api_as(outsider).post(f"/api/signups/{signup.pk}/cancel/"), 404, "not_found")
    assert client_for(signup.person).get("/me/signups/999999/cancel/").status_code == 404
    assert Signup.objects.get(pk=signup.pk).status == "confirmed"


# --- An offered place is not a confirmed one ---------------------------------------------


@pytest.mark.parametrize("language", ["ja", "en"])
def test_an_offered_place_is_counted_apart_from_the_confirmed_ones(language):
    host = staff_of(CHIZU)
    task = published_task(CHIZU, staff=host, capacity=1, confirm_window_hours=24)
    session = task.sessions.get()
    holder, waiting = resident(), resident()
    held = services.signup_create(session=session, person=holder)
    services.signup_create(session=session, person=waiting)
    services.signup_cancel(signup=held, actor=holder)
    offered = Signup.objects.get(person=waiting)
    assert offered.status == "offered"
    words = {
        "ja": ("確定 0 人", "繰り上げの確認待ち 1 人", "確定 1 人"),
        "en": ("confirmed 0", "1 offered, awaiting confirmation", "confirmed 1"),
    }[language]
    staff = client_for(host, language)
    html = page(staff, f"/tasks/{task.pk}/participants/", language)
    assert words[0] in html and words[1] in html
    html = page(staff, f"/tasks/{task.pk}/sessions/", language)
    assert "<td>1</td><td>0</td><td>1</td>" in html  # capacity, confirmed, offered
    figures = api_as(host).get(f"/api/sessions/{session.pk}/").json()
    assert (figures["taken"], figures["confirmed"], figures["offered"]) == (1, 0, 1)
    task_figures = api_as(None).get(f"/api/tasks/{task.pk}/").json()["sessions"][0]
    assert (task_figures["confirmed"], task_figures["offered"]) == (0, 1)
    mine = api_as(waiting).get("/api/signups/").json()["results"][0]["session"]
    assert (mine["confirmed"], mine["offered"]) == (0, 1)

    services.signup_confirm(signup=offered, actor=waiting)
    assert words[2] in page(staff, f"/tasks/{task.pk}/participants/", language)
    figures = api_as(host).get(f"/api/sessions/{session.pk}/").json()
    assert (figures["taken"], figures["confirmed"], figures["offered"]) == (1, 1, 0)


# --- Nothing to come: no waiting list, no watch, no calendar ------------------------------


def test_a_completed_task_offers_no_waiting_list_no_watch_and_no_calendar():
    staff = staff_of(CHIZU)
    task = published_task(CHIZU, staff=staff, capacity=1)
    session = task.sessions.get()
    holder = resident()
    held = services.signup_create(session=session, person=holder)
    me = client_for(holder)
    assert f"/me/signups/{held.pk}/calendar.ics" in page(me, "/me/signups/")
    move_to_past(session)
    services.task_complete(task=task, actor=staff)
    visitor = client_for(resident())
    html = page(visitor, f"/tasks/{task.pk}/")
    assert f"/sessions/{session.pk}/signup/" not in html
    assert (
        "キャンセル待ちに申し込む" not in html and f'action="/tasks/{task.pk}/watch/"' not in html
    )
    # Nor does it read like an open call: no invitation, no places "left" on a past session.
    assert "キャンセル待ちに申し込めます" not in html and "残り" not in html
    assert "終了した回" in html
    # The sign-up page itself says so and offers no form.
    html = page(visitor, f"/sessions/{session.pk}/signup/")
    assert (
        "申し込めません" in html and "<form" not in html.split("<main", 1)[-1].split("</main>")[0]
    )
    assert api_as(None).get(f"/api/sessions/{session.pk}/").json()["signup_open"] is False
    # A past sign-up offers no calendar file, on the page or in the API.
    assert f"/me/signups/{held.pk}/calendar.ics" not in page(me, "/me/signups/")
    assert api_as(holder).get(f"/api/signups/{held.pk}/").json()["ical"] is None


def test_a_past_session_of_a_running_task_offers_no_waiting_list_nor_calendar():
    task = published_task(
        capacity=1,
        sessions=[slot(in_days(3), capacity=1), slot(in_days(10), capacity=1)],
    )
    past, coming = task.sessions.order_by("starts_at")
    holder = resident()
    held = services.signup_create(session=past, person=holder)
    services.signup_create(session=coming, person=resident())
    move_to_past(past)
    html = page(client_for(resident()), f"/tasks/{task.pk}/")
    assert f"/sessions/{past.pk}/signup/" not in html  # over
    assert f"/sessions/{coming.pk}/signup/" in html  # full: its waiting list is open
    assert api_as(None).get(f"/api/sessions/{past.pk}/").json()["signup_open"] is False
    assert api_as(None).get(f"/api/sessions/{coming.pk}/").json()["signup_open"] is True
    assert f"/me/signups/{held.pk}/calendar.ics" not in page(client_for(holder), "/me/signups/")


def test_a_cancelled_task_offers_no_calendar():
    staff = staff_of(CHIZU)
    task = published_task(CHIZU, staff=staff)
    holder = resident()
    held = services.signup_create(session=task.sessions.get(), person=holder)
    services.task_cancel(task=task, actor=staff, reason="大雨のため")
    assert f"/me/signups/{held.pk}/calendar.ics" not in page(client_for(holder), "/me/signups/")


# --- Watching is for full sessions only ----------------------------------------------------


@pytest.mark.parametrize("language", ["ja", "en"])
def test_watching_is_offered_and_taken_only_when_the_task_is_full(language):
    task = published_task(capacity=1)
    watcher = resident()
    me = client_for(watcher, language)
    watch = f'action="/tasks/{task.pk}/watch/"'
    assert watch not in page(me, f"/tasks/{task.pk}/", language)
    # Forced through the page or the API: refused with its reason, nothing stored.
    html = me.post(f"/tasks/{task.pk}/watch/", follow=True).content.decode()
    assert messages_of(html) == [
        "まだ空きのある回があります。見守りは満員の回のためのものです。そのまま申し込んでください。"
        if language == "ja"
        else "Some sessions still have places. Watching is for full sessions: sign up instead."
    ]
    error_of(api_as(watcher).post(f"/api/tasks/{task.pk}/watch/"), 409, "watch_places_left")
    with refuses(MatchingCode.WATCH_PLACES_LEFT, Conflict):
        services.task_watch(task=task, person=watcher)
    assert not TaskWatch.objects.exists()
    # Full: offered, and taken.
    services.signup_create(session=task.sessions.get(), person=resident())
    assert watch in page(me, f"/tasks/{task.pk}/", language)
    assert me.post(f"/tasks/{task.pk}/watch/").status_code == 302
    assert TaskWatch.objects.filter(task=task, person=watcher).exists()


def test_a_task_whose_sessions_no_longer_take_sign_ups_cannot_be_watched():
    task = published_task(capacity=1)
    session = task.sessions.get()
    services.signup_create(session=session, person=resident())
    move_to_past(session)
    watcher = resident()
    assert f'action="/tasks/{task.pk}/watch/"' not in page(
        client_for(watcher), f"/tasks/{task.pk}/"
    )
    error_of(api_as(watcher).post(f"/api/tasks/{task.pk}/watch/"), 409, "watch_nothing_to_come")
    assert not TaskWatch.objects.exists()


# --- A waiting list over a held session warns first ---------------------------------------


@pytest.fixture
def overlap():
    """A person confirmed on day 7, 9–15, and a full session of another task on day 7,
    10–12 whose waiting list they consider."""
    held_session = published_task(title="棚田の草刈り", capacity=5).sessions.get()
    full = published_task(title="朝市", sessions=[slot(in_days(7, 10))]).sessions.get()
    services.signup_create(session=full, person=resident())
    person = resident()
    services.signup_create(session=held_session, person=person)
    return person, full


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_sign_up_page_warns_of_the_overlap_and_asks_to_confirm(overlap, language):
    person, full = overlap
    me = client_for(person, language)
    html = page(me, f"/sessions/{full.pk}/signup/", language)
    assert 'id="overlap-warning"' in html and 'name="confirm_overlap"' in html
    assert "棚田の草刈り" in html
    # Submitted without the confirmation: refused with the reason, nothing stored.
    response = me.post(f"/sessions/{full.pk}/signup/", {**SIGNUP_FORM, "message": ""})
    assert response.status_code == 200
    summary = summary_of(response.content.decode())
    assert ("繰り上がりません" if language == "ja" else "will not be given a place") in summary
    assert not Signup.objects.filter(session=full, person=person).exists()
    # Confirmed: on the waiting list.
    response = me.post(
        f"/sessions/{full.pk}/signup/", {**SIGNUP_FORM, "message": "", "confirm_overlap": "yes"}
    )
    assert response.status_code == 302
    assert Signup.objects.get(session=full, person=person).status == "waitlisted"


def test_the_api_answers_409_on_an_overlapping_waiting_list_unless_confirmed(overlap):
    person, full = overlap
    api = api_as(person)
    error = error_of(
        api.post(f"/api/sessions/{full.pk}/signups/", SIGNUP_DETAILS, format="json"),
        409,
        "overlap_not_confirmed",
    )
    assert "棚田の草刈り" in error["message"]
    assert not Signup.objects.filter(session=full, person=person).exists()
    response = api.post(
        f"/api/sessions/{full.pk}/signups/",
        {**SIGNUP_DETAILS, "confirm_overlap": True},
        format="json",
    )
    assert response.status_code == 201 and response.json()["status"] == "waitlisted"
    schema = api_as(None).get("/api/schema/?format=json").json()
    create = schema["components"]["schemas"]["SignupCreateRequest"]["properties"]
    assert "confirm_overlap" in create


def test_no_warning_where_nothing_overlaps():
    full = published_task(title="朝市", sessions=[slot(in_days(8, 10))]).sessions.get()
    services.signup_create(session=full, person=resident())
    person = resident()
    assert 'id="overlap-warning"' not in page(client_for(person), f"/sessions/{full.pk}/signup/")
    assert services.signup_create(session=full, person=person).status == "waitlisted"
