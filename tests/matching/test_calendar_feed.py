"""A calendar to subscribe to (issue 17, Done-when 6): each person's webcal feed at a
secret URL lists exactly the sessions they hold — not their waiting list, not what they
cancelled, not other people's — and, for a host, every session of their tasks; it is valid
iCalendar (parsed with ``icalendar``), changes when a session moves, and stops working
(404) when its URL is remade."""

from __future__ import annotations

import datetime

import pytest
from icalendar import Calendar

from matching import services
from matching.models import CalendarFeed, Signup, SignupStatus
from tests.factories import client_for
from tests.matching.support import (
    CHIZU,
    api_as,
    host_of,
    in_days,
    make_task,
    move_to_past,
    published_task,
    resident,
    staff_of,
)
from tests.support import page

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def _feed(client, url: str, status: int = 200) -> Calendar | None:
    response = client.get(url)
    assert response.status_code == status, response.status_code
    if status != 200:
        return None
    assert response["Content-Type"].startswith("text/calendar")
    assert "no-cache" in response["Cache-Control"] and "private" in response["Cache-Control"]
    return Calendar.from_ical(response.content)


def _events(calendar: Calendar) -> dict[str, dict]:
    return {
        str(event["UID"]): {
            "summary": str(event["SUMMARY"]),
            "start": event.decoded("DTSTART"),
            "end": event.decoded("DTEND"),
            "location": str(event.get("LOCATION", "")),
        }
        for event in calendar.walk("VEVENT")
    }


def _path(feed: CalendarFeed) -> str:
    return f"/calendar/{feed.token}.ics"


def _session(days: int, capacity: int = 5, hour: int = 9) -> dict:
    return {
        "starts_at": in_days(days, hour),
        "ends_at": in_days(days, hour + 3),
        "capacity": capacity,
    }


def test_the_feed_lists_exactly_the_sessions_the_person_holds():
    staff = staff_of(CHIZU)
    person, other = resident(), resident()
    held = published_task(staff=staff, title="棚田の草刈り", sessions=[_session(7), _session(14)])
    first, second = held.sessions.order_by("starts_at")
    mine = services.signup_create(session=first, person=person)
    services.signup_create(session=second, person=other)  # someone else's
    full = published_task(staff=staff, title="満員の栗拾い", sessions=[_session(9, capacity=1)])
    services.signup_create(session=full.sessions.get(), person=other)
    waiting = services.signup_create(session=full.sessions.get(), person=person)
    assert waiting.status == "waitlisted"
    dropped = published_task(staff=staff, title="やめた古民家の掃除", sessions=[_session(10)])
    gone = services.signup_create(session=dropped.sessions.get(), person=person)
    services.signup_cancel(signup=gone, actor=person)
    done = published_task(staff=staff, title="先週の稲刈り", sessions=[_session(3)])
    recent = services.signup_create(session=done.sessions.get(), person=person)
    move_to_past(done.sessions.get(), days=7)
    long_ago = published_task(staff=staff, title="去年の雪かき", sessions=[_session(4)])
    services.signup_create(session=long_ago.sessions.get(), person=person)
    move_to_past(long_ago.sessions.get(), days=60)

    feed = services.calendar_feed_get(person=person)
    events = _events(_feed(client_for(None), _path(feed)))  # no sign-in: the token is the key
    assert {e["summary"] for e in events.values()} == {"棚田の草刈り", "先週の稲刈り"}
    assert set(events) == {uid for uid in events if uid.startswith("signup-")}
    assert {uid.split("@")[0] for uid in events} == {f"signup-{mine.pk}", f"signup-{recent.pk}"}
    event = next(e for e in events.values() if e["summary"] == "棚田の草刈り")
    assert event["start"] == first.starts_at and event["end"] == first.ends_at

    # The same request twice gives the same UIDs (an app updates, never duplicates), and a
    # poll of an unchanged feed is answered 304.
    response = client_for(None).get(_path(feed))
    assert set(_events(Calendar.from_ical(response.content))) == set(events)
    again = client_for(None).get(_path(feed), HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304 and again.content == b""

    # The other person's feed is theirs.
    theirs = _events(_feed(client_for(None), _path(services.calendar_feed_get(person=other))))
    assert {e["summary"] for e in theirs.values()} == {"棚田の草刈り", "満員の栗拾い"}


def test_the_feed_changes_when_a_session_moves_and_carries_the_briefing():
    staff = staff_of(CHIZU)
    task = published_task(staff=staff, sessions=[_session(7)])
    session = task.sessions.get()
    person = resident()
    signup = services.signup_create(session=session, person=person)
    services.briefing_set(
        task=task,
        actor=staff,
        meeting_point="智頭駅の改札前",
        address="鳥取県八頭郡智頭町大字智頭1875",
        latitude=35.265,
        longitude=134.227,
    )
    feed = services.calendar_feed_get(person=person)
    client = client_for(None)
    first = client.get(_path(feed))
    [event] = Calendar.from_ical(first.content).walk("VEVENT")
    assert str(event["LOCATION"]) == "智頭駅の改札前 鳥取県八頭郡智頭町大字智頭1875"
    assert (event["GEO"].latitude, event["GEO"].longitude) == (35.265, 134.227)

    later = session.starts_at + datetime.timedelta(days=1, hours=2)
    services.session_update(
        session=session,
        actor=staff,
        starts_at=later,
        ends_at=later + datetime.timedelta(hours=3),
        capacity=session.capacity,
    )
    moved = client.get(_path(feed), HTTP_IF_NONE_MATCH=first["ETag"])
    assert moved.status_code == 200 and moved["ETag"] != first["ETag"]
    [event] = Calendar.from_ical(moved.content).walk("VEVENT")
    assert event.decoded("DTSTART") == later
    assert str(event["UID"]) == f"signup-{signup.pk}@" + str(event["UID"]).split("@")[1]

    # A cancelled session leaves the feed.
    services.session_cancel(session=session, actor=staff, reason="大雨のため")
    assert _events(_feed(client, _path(feed))) == {}


def test_a_hosts_feed_has_every_session_of_their_tasks():
    host, staff = host_of(CHIZU), staff_of(CHIZU)
    task = make_task(host, CHIZU, title="古民家の障子張り", sessions=[_session(7), _session(8)])
    services.task_submit(task=task, actor=host)
    services.task_publish(task=task, actor=staff)
    someone_elses = published_task(staff=staff, title="役場のお手伝い")
    posted_by_staff = published_task(staff=staff, title="職員が載せたお手伝い")
    assert someone_elses.host_id is None and posted_by_staff.host_id is None

    events = _events(_feed(client_for(None), _path(services.calendar_feed_get(person=host))))
    assert sorted(uid.split("@")[0] for uid in events) == sorted(
        f"session-{s.pk}" for s in task.sessions.all()
    )
    assert all("古民家の障子張り" in e["summary"] for e in events.values())
    # The staff member's feed has the tasks they posted, not the host's.
    staff_events = _events(_feed(client_for(None), _path(services.calendar_feed_get(person=staff))))
    assert {e["summary"].split("】")[-1] for e in staff_events.values()} == {
        "役場のお手伝い",
        "職員が載せたお手伝い",
    }


def test_remaking_the_url_stops_the_old_one_and_unknown_tokens_are_404():
    person = resident()
    task = published_task()
    services.signup_create(session=task.sessions.get(), person=person)
    client = client_for(person)

    html = page(client, "/me/signups/")
    assert "購読用のURLを作る" in html and "webcal://" not in html
    response = client.post("/me/calendar-feed/")
    assert response.status_code == 302 and response["Location"].endswith("#calendar-feed")
    feed = CalendarFeed.objects.get(person=person)
    client.post("/me/calendar-feed/")  # a second press changes nothing
    assert CalendarFeed.objects.get(person=person).token == feed.token
    html = page(client, "/me/signups/")
    assert f"webcal://testserver/calendar/{feed.token}.ics" in html
    assert f"http://testserver/calendar/{feed.token}.ics" in html
    _feed(client_for(None), _path(feed))

    response = client.post("/me/calendar-feed/revoke/")
    assert response.status_code == 302
    new = CalendarFeed.objects.get(person=person)
    assert new.token != feed.token
    _feed(client_for(None), _path(feed), status=404)
    assert len(_events(_feed(client_for(None), _path(new)))) == 1
    assert feed.token not in page(client, "/me/signups/")

    for token in ("x", "0" * 43, new.token[:-1], new.token + "a", "a" * 200):
        _feed(client_for(None), f"/calendar/{token}.ics", status=404)
    # The buttons are POST only, and need a signed-in person and the form's CSRF token.
    assert client.get("/me/calendar-feed/").status_code == 405
    assert client_for(None).post("/me/calendar-feed/revoke/").status_code == 302  # sign in
    assert CalendarFeed.objects.get(person=person).token == new.token
    strict = client_for(person, enforce_csrf_checks=True)
    assert strict.post("/me/calendar-feed/revoke/").status_code == 403
    assert CalendarFeed.objects.get(person=person).token == new.token

    # A deleted account's feed is gone with it.
    person.delete()
    _feed(client_for(None), _path(new), status=404)


def test_the_api_makes_and_remakes_the_url():
    person = resident()
    api = api_as(person)
    assert api.get("/api/me/calendar-feed/").status_code == 404
    made = api.post("/api/me/calendar-feed/")
    assert made.status_code == 201
    url = made.json()["url"]
    assert made.json()["webcal_url"] == "webcal://" + url.split("://", 1)[1]
    assert api.post("/api/me/calendar-feed/").json()["url"] == url
    remade = api.post("/api/me/calendar-feed/revoke/").json()["url"]
    assert remade != url
    assert client_for(None).get(url.split("testserver", 1)[1]).status_code == 404
    assert client_for(None).get(remade.split("testserver", 1)[1]).status_code == 200


def test_the_feed_and_its_section_in_english():
    person = resident(language="en")
    feed = services.calendar_feed_get(person=person)
    html = page(client_for(person, "en"), "/me/signups/", language="en")
    assert "Subscribe in your calendar" in html and feed.token in html
    calendar = _feed(client_for(None), _path(feed))
    assert str(calendar["X-WR-CALNAME"]) == "Furusato tasks"


def test_an_offered_place_is_tentative_until_taken_up():
    staff = staff_of(CHIZU)
    person = resident()
    task = published_task(staff=staff, title="棚田の草刈り", sessions=[_session(7)])
    signup = services.signup_create(session=task.sessions.get(), person=person)
    feed = services.calendar_feed_get(person=person)

    def status() -> str:
        [event] = _feed(client_for(None), _path(feed)).walk("VEVENT")
        return str(event["STATUS"])

    assert status() == "CONFIRMED"
    Signup.objects.filter(pk=signup.pk).update(
        status=SignupStatus.OFFERED, offer_expires_at=in_days(2, 9)
    )
    assert status() == "TENTATIVE"
