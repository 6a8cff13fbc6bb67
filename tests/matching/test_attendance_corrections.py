"""Issue 17, "attendance that can be corrected": the host marks attended, excused absence or
no-show and corrects it (back to unmarked too) until MATCHING_ATTENDANCE_CORRECTION_DAYS
after the session; the registry's activity follows each change (withdrawn when the mark
leaves "attended", restored when it comes back) and so does the premium count; after the
window every change is refused with a clear message; "everyone present" marks only the
confirmed people not marked yet. Through the pages and the API, on PostgreSQL, with the
frozen clock; the attackers (another town's host, the participant, anonymous, guessed ids)
each get their refusal."""

from __future__ import annotations

import datetime
import re

import pytest
from django.conf import settings
from django.utils import translation

from accounts.models import AuditEvent, User
from core.templatetags.core_tags import jdatetime
from matching import services
from matching.models import Session, Signup, Task
from places.models import Municipality
from registry import selectors as registry_selectors
from registry import services as registry_services
from registry.models import Activity, Registration, ReviewStatus
from tests.factories import client_for
from tests.matching.test_concurrency import in_threads, unexpected
from tests.support import messages_of, page

from .support import (
    AMA,
    CHIZU,
    SETAGAYA,
    api_as,
    error_of,
    host_of,
    make_task,
    register,
    resident,
    staff_of,
)

# Deadlines are counted from the frozen clock (tests/conftest.py), which the tests move on.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

DAY = datetime.timedelta(days=1)


def hosts_published_task(host: User, staff: User, **fields) -> Task:
    """A host's task (one session a week from now), submitted and published by the staff."""
    task = make_task(host, **fields)
    services.task_submit(task=task, actor=host)
    return services.task_publish(task=task, actor=staff)


def make_premium(person: User, code: str) -> Registration:
    registration = register(person, code)
    application = registry_services.premium_apply(registration=registration)
    registry_services.premium_decide(application=application, actor=None, approve=True)
    registration.refresh_from_db()
    assert registration.tier == "premium"
    return registration


def with_profile(user: User) -> User:
    """Give a host or staff member the profile signing up needs."""
    registry_services.profile_update(
        user=user, home_municipality=Municipality.objects.get(code=SETAGAYA), birth_year=1980
    )
    return user


def activity_of(signup: Signup) -> Activity | None:
    return Activity.objects.filter(reference=f"signup:{signup.pk}").first()


def premium_count(client, registration: Registration, language: str) -> int:
    """The designated activities the person's registration page counts towards premium."""
    html = page(client, f"/registrations/{registration.pk}/", language)
    found = re.search(r'<progress max="\d+" value="(\d+)"', html)
    assert found, "the premium registration shows its count"
    return int(found.group(1))


def this_years_activities(person: User) -> int:
    return registry_selectors.registrations_of(person=person).get().activities_this_year


def trail(signup: Signup) -> list[tuple[str, str]]:
    """The audited changes of the sign-up's attendance: (from, to), oldest first."""
    return [
        (event.detail["from"], event.detail["to"])
        for event in AuditEvent.objects.filter(
            action="signup.attendance", target_id=str(signup.pk)
        ).order_by("id")
    ]


def deadline_text(session: Session, language: str) -> str:
    with translation.override(language):
        return jdatetime(services.attendance_deadline(session))


# --- Marked, corrected to an excused absence, and back -----------------------------------


@pytest.mark.parametrize("language", ["ja", "en"])
def test_attendance_is_corrected_and_the_registry_follows_each_change(clock, language):
    ja = language == "ja"
    staff, host = staff_of(CHIZU), host_of(CHIZU)
    task = hosts_published_task(host, staff, designated=True)
    session = task.sessions.get()
    person = resident()
    registration = make_premium(person, CHIZU)
    signup = services.signup_create(session=session, person=person)
    as_host, as_host_api = client_for(host, language), api_as(host, language)
    as_person = client_for(person, language)
    url = f"/signups/{signup.pk}/attendance/"
    api_url = f"/api/signups/{signup.pk}/attendance/"

    # Before the session nothing can be marked, and the page offers nothing.
    html = page(as_host, f"/tasks/{task.pk}/participants/", language)
    assert url not in html
    error_of(as_host_api.post(api_url, {"attendance": "attended"}), 400, "session_not_started")

    # The session takes place; the next day the host marks it on the page.
    clock.shift(8 * DAY)
    html = page(as_host, f"/tasks/{task.pk}/participants/", language)
    assert url in html and deadline_text(session, language) in html
    assert ("全員参加にする" if ja else "Mark everyone attended") in html
    response = as_host.post(url, {"attendance": "attended"})
    assert response.status_code == 302
    signup.refresh_from_db()
    assert signup.attendance == "attended"
    activity = activity_of(signup)
    assert (activity.status, activity.designated) == (ReviewStatus.APPROVED, True)
    assert premium_count(as_person, registration, language) == 1
    assert this_years_activities(person) == 1

    # The buttons stay: the current mark is shown pressed, the others offered.
    html = page(as_host, f"/tasks/{task.pk}/participants/", language)
    assert url in html
    assert 'aria-pressed="true" disabled>' + ("参加した" if ja else "Attended") in html
    for value in ("excused", "no_show", ""):
        assert f'name="attendance" value="{value}"' in html
    assert ("未記録に戻す" if ja else "Clear the mark") in html

    # Corrected through the API to an excused absence: the activity is withdrawn, premium
    # and this year's count no longer see it, and a thank-you is refused.
    response = as_host_api.post(api_url, {"attendance": "excused"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["attendance"] == "excused"
    assert body["attendance_label"] == ("欠席（連絡あり）" if ja else "Absent (with notice)")
    assert body["attendance_open"] is True
    assert datetime.datetime.fromisoformat(body["attendance_deadline"]) == (
        session.ends_at + settings.MATCHING_ATTENDANCE_CORRECTION_DAYS * DAY
    )
    activity.refresh_from_db()
    assert activity.status == ReviewStatus.CANCELLED
    assert premium_count(as_person, registration, language) == 0
    assert this_years_activities(person) == 0
    registration.refresh_from_db()
    assert registration.last_activity_on is None
    response = api_as(person, language).post(
        f"/api/signups/{signup.pk}/thanks/", {"message": "ありがとうございました"}, format="json"
    )
    error_of(response, 400, "not_attended")
    assert f"/me/signups/{signup.pk}/thanks/" not in page(as_person, "/me/signups/", language)

    # And back to attended on the page: the same row counts again.
    response = as_host.post(url, {"attendance": "attended"}, follow=True)
    assert any(
        ("参加した" if ja else "Attended") in message
        for message in messages_of(response.content.decode())
    )
    activity.refresh_from_db()
    assert activity.status == ReviewStatus.APPROVED
    assert Activity.objects.filter(registration__person=person).count() == 1
    assert premium_count(as_person, registration, language) == 1
    registration.refresh_from_db()
    assert registration.last_activity_on == activity.occurred_on

    # A no-show, taken back to unmarked, then attended again.
    for value, counted in (("no_show", 0), ("", 0), ("attended", 1)):
        response = as_host_api.post(api_url, {"attendance": value}, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["attendance"] == value
        assert premium_count(as_person, registration, language) == counted
    assert Signup.objects.get(pk=signup.pk).attendance_marked_at is not None
    assert trail(signup) == [
        ("", "attended"),
        ("attended", "excused"),
        ("excused", "attended"),
        ("attended", "no_show"),
        ("no_show", ""),
        ("", "attended"),
    ]
    assert (
        AuditEvent.objects.filter(action="activity.withdraw", target_id=str(activity.pk)).count()
        == 2
    )

    # After the correction window every change is refused, saying until when it was open.
    clock.shift((settings.MATCHING_ATTENDANCE_CORRECTION_DAYS - 1) * DAY)
    assert services.attendance_open(session)  # the last day is still open
    clock.shift(DAY)
    assert not services.attendance_open(session)
    response = as_host_api.post(api_url, {"attendance": "excused"}, format="json")
    message = error_of(response, 409, "attendance_closed")["message"]
    assert deadline_text(session, language) in message
    assert ("期限を過ぎています" if ja else "That deadline has passed") in message
    as_host = client_for(host, language)  # signed in again: weeks have passed
    response = as_host.post(url, {"attendance": "no_show"}, follow=True)
    shown = messages_of(response.content.decode())
    assert any(deadline_text(session, language) in message for message in shown)
    html = page(as_host, f"/tasks/{task.pk}/participants/", language)
    assert url not in html
    assert ("出欠を直せる期限" if ja else "The deadline for correcting attendance") in html
    assert Signup.objects.get(pk=signup.pk).attendance == "attended"
    activity.refresh_from_db()
    assert activity.status == ReviewStatus.APPROVED
    assert len(trail(signup)) == 6


def test_a_withdrawn_activity_leaves_the_review_queue_and_a_refused_one_stays_refused(clock):
    """The host's own attendance at a designated task waits for another staff member's
    review: undone, it leaves the queue; marked again, it waits again. A refusal stands
    whatever the marks do afterwards."""
    host, staff, colleague = with_profile(host_of(CHIZU)), staff_of(CHIZU), staff_of(CHIZU)
    register(host, CHIZU)
    task = hosts_published_task(host, staff, designated=True)
    signup = services.signup_create(session=task.sessions.get(), person=host)
    clock.shift(8 * DAY)
    api = api_as(staff)
    municipality = Municipality.objects.get(code=CHIZU)

    def mark(value: str) -> None:
        response = api.post(
            f"/api/signups/{signup.pk}/attendance/", {"attendance": value}, format="json"
        )
        assert response.status_code == 200, response.content

    def queued() -> bool:
        return (
            registry_selectors.activity_queue(municipality=municipality)
            .filter(reference=f"signup:{signup.pk}")
            .exists()
        )

    mark("attended")
    assert activity_of(signup).status == ReviewStatus.PENDING and queued()
    mark("excused")
    assert activity_of(signup).status == ReviewStatus.CANCELLED and not queued()
    mark("attended")
    activity = activity_of(signup)
    assert activity.status == ReviewStatus.PENDING and queued()
    assert activity.reviewed_by is None and activity.recorded_by == staff

    response = api_as(colleague).post(
        f"/api/activities/{activity.pk}/review/",
        {"approve": False, "note": "当日不在"},
        format="json",
    )
    assert response.status_code == 200, response.content
    mark("no_show")
    mark("attended")
    assert activity_of(signup).status == ReviewStatus.REFUSED
    assert Activity.objects.filter(registration__person=host).count() == 1


# --- Everyone present --------------------------------------------------------------------


def test_everyone_present_marks_only_the_confirmed_people_not_marked_yet(clock):
    staff, colleague = with_profile(staff_of(CHIZU)), staff_of(CHIZU)
    task = make_task(staff, CHIZU, capacity=5, designated=True)
    task = services.task_publish(task=task, actor=staff)
    session = task.sessions.get()
    came, also_came, excused, absent, waiting, late = (resident() for _ in range(6))
    for person in (came, also_came, excused):
        register(person, CHIZU)
    own = services.signup_create(session=session, person=staff)
    signups = {
        person: services.signup_create(session=session, person=person)
        for person in (came, also_came, excused, absent, waiting, late)
    }
    assert signups[waiting].status == signups[late].status == "waitlisted"
    api_url = f"/api/sessions/{session.pk}/attendance/"

    # Not before the session.
    error_of(api_as(staff).post(api_url, {}, format="json"), 400, "session_not_started")
    clock.shift(8 * DAY)
    for person, value in ((excused, "excused"), (absent, "no_show")):
        services.attendance_mark(signup=signups[person], actor=staff, attendance=value)

    # The page's button, in English: the two unmarked confirmed people become attended;
    # the marks made stay, the waiting list is left alone, and so is the staff's own place.
    browser = client_for(staff, "en")
    html = page(browser, f"/tasks/{task.pk}/participants/", "en")
    assert f"/sessions/{session.pk}/attendance/" in html and "Mark everyone attended" in html
    response = browser.post(f"/sessions/{session.pk}/attendance/", follow=True)
    assert "Marked 2 people as attended." in messages_of(response.content.decode())
    marks = {person: Signup.objects.get(pk=s.pk).attendance for person, s in signups.items()}
    assert marks == {
        came: "attended",
        also_came: "attended",
        excused: "excused",
        absent: "no_show",
        waiting: "",
        late: "",
    }
    assert Signup.objects.get(pk=own.pk).attendance == ""
    assert {a.reference for a in Activity.objects.all()} == {
        f"signup:{signups[came].pk}",
        f"signup:{signups[also_came].pk}",
    }
    assert len(trail(signups[came])) == 1 and trail(signups[excused]) == [("", "excused")]
    # Nobody is left for this staff member: the button is gone, a second press marks nobody.
    html = page(browser, f"/tasks/{task.pk}/participants/", "en")
    assert f"/sessions/{session.pk}/attendance/" not in html
    response = api_as(staff).post(api_url, {}, format="json")
    assert response.status_code == 200 and response.json() == {"marked": 0, "participants": []}

    # A colleague marks all through the API: that is the staff member's own place, whose
    # designated activity then waits for review.
    register(staff, CHIZU)
    response = api_as(colleague, "ja").post(api_url, {"attendance": "attended"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["marked"] == 1
    assert [row["id"] for row in body["participants"]] == [own.pk]
    assert body["participants"][0]["attendance_label"] == "参加した"
    assert activity_of(own).status == ReviewStatus.PENDING

    # After the window, refused like a single change.
    clock.shift((settings.MATCHING_ATTENDANCE_CORRECTION_DAYS + 1) * DAY)
    response = api_as(colleague, "en").post(api_url, {}, format="json")
    message = error_of(response, 409, "attendance_closed")["message"]
    assert deadline_text(session, "en") in message


# --- Who may not, and what is not an attendance ------------------------------------------


def test_nobody_but_the_tasks_managers_marks_or_corrects(clock):
    staff, host = staff_of(CHIZU), host_of(CHIZU)
    task = hosts_published_task(host, staff)
    session = task.sessions.get()
    person = resident()
    register(person, CHIZU)
    signup = services.signup_create(session=session, person=person)
    clock.shift(8 * DAY)
    services.attendance_mark(signup=signup, actor=host, attendance="attended")
    other_host, stranger = host_of(AMA), resident()
    body = {"attendance": "no_show"}

    for user in (other_host, person, stranger, staff_of(AMA)):
        api = api_as(user)
        assert api.post(f"/api/signups/{signup.pk}/attendance/", body).status_code == 404
        assert api.post(f"/api/sessions/{session.pk}/attendance/", {}).status_code == 404
        browser = client_for(user)
        assert browser.post(f"/signups/{signup.pk}/attendance/", body).status_code == 404
        assert browser.post(f"/sessions/{session.pk}/attendance/").status_code == 404
    # Anonymous: the API asks for credentials, the pages for a login.
    error_of(
        api_as(None).post(f"/api/sessions/{session.pk}/attendance/", {}), 401, "not_authenticated"
    )
    error_of(
        api_as(None).post(f"/api/signups/{signup.pk}/attendance/", body), 401, "not_authenticated"
    )
    response = client_for(None).post(f"/sessions/{session.pk}/attendance/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    # Guessed ids are as unknown as another town's.
    missing = Session.objects.order_by("-pk").first().pk + 100
    error_of(api_as(host).post(f"/api/sessions/{missing}/attendance/", {}), 404, "not_found")
    assert client_for(host).post(f"/sessions/{missing}/attendance/").status_code == 404
    # A participant's GET of the page is refused too (it is the host's).
    assert client_for(person).get(f"/tasks/{task.pk}/participants/").status_code in (403, 404)

    signup.refresh_from_db()
    assert signup.attendance == "attended"
    assert activity_of(signup).status == ReviewStatus.APPROVED
    assert trail(signup) == [("", "attended")]


@pytest.mark.parametrize("language", ["ja", "en"])
def test_a_wrong_attendance_value_is_a_400_with_a_code(clock, language):
    staff = staff_of(CHIZU)
    task = services.task_publish(task=make_task(staff, CHIZU), actor=staff)
    session = task.sessions.get()
    signup = services.signup_create(session=session, person=resident())
    clock.shift(8 * DAY)
    api = api_as(staff, language)

    for body in ({"attendance": "maybe"}, {"attendance": "ATTENDED"}, {"attendance": "present"}):
        response = api.post(f"/api/signups/{signup.pk}/attendance/", body, format="json")
        error = error_of(response, 400, "attendance_invalid")
        assert set(error["fields"]) == {"attendance"}
        assert ("欠席（連絡あり）" if language == "ja" else "Absent (with notice)") in (
            error["message"]
        )
    # Taking every mark back at once is no "everyone present".
    for body in ({"attendance": "maybe"}, {"attendance": ""}):
        response = api.post(f"/api/sessions/{session.pk}/attendance/", body, format="json")
        error_of(response, 400, "attendance_invalid")
    error_of(api.post(f"/api/signups/{signup.pk}/attendance/", {}, format="json"), 400)
    response = api.post(
        f"/api/signups/{signup.pk}/attendance/", {"attendance": "x" * 100}, format="json"
    )
    error_of(response, 400)
    # The page says so and changes nothing.
    response = client_for(staff, language).post(
        f"/signups/{signup.pk}/attendance/", {"attendance": "maybe"}, follow=True
    )
    assert response.status_code == 200
    assert messages_of(response.content.decode())
    signup.refresh_from_db()
    assert signup.attendance == "" and not trail(signup)


# --- At the same time --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.xdist_group("matching-concurrency")
def test_everyone_present_and_single_corrections_at_once_keep_one_record_each(
    clock, municipalities
):
    """ "Everyone present" while a colleague corrects single marks: no deadlock, every
    confirmed person ends with exactly one mark, and the registry's activity matches it."""
    staff, colleague = staff_of(CHIZU), staff_of(CHIZU)
    for _round in range(3):
        task = services.task_publish(task=make_task(staff, CHIZU, capacity=6), actor=staff)
        session = task.sessions.get()
        people = [resident() for _ in range(6)]
        for person in people:
            register(person, CHIZU)
        signups = [services.signup_create(session=session, person=p) for p in people]
        clock.shift(8 * DAY)

        def work(index: int, session=session, signups=signups):
            if index == 0:
                return services.attendance_mark_all(session=session, actor=staff)
            return services.attendance_mark(
                signup=signups[index], actor=colleague, attendance="excused"
            )

        results = in_threads(4, work)
        assert unexpected(results) == []
        for signup in signups:
            signup.refresh_from_db()
            activity = activity_of(signup)
            changes = trail(signup)
            if signup.attendance == "attended":
                assert activity.status == ReviewStatus.APPROVED
            else:
                assert signup.attendance == "excused"
                assert activity is None or activity.status == ReviewStatus.CANCELLED
            assert changes[-1][1] == signup.attendance
            assert [to for _, to in changes].count("attended") <= 1
        assert {signup.attendance for signup in signups[4:]} == {"attended"}
