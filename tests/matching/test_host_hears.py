"""Whoever runs a task hears of its people (issue 17, "the host hears"): every sign-up,
request, cancellation with its reason, promotion, lapsed offer and thank-you reaches the
task's host — or, for a task the town's staff posted, the town's staff — in the inbox and
by e-mail to a real SMTP server, under the topic ``participants`` with its preferences.
Through the pages and the API, in Japanese and English."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest
from django.test import override_settings
from django.utils import translation

from accounts.models import User
from matching import services
from matching.models import Signup, Task
from notifications.models import Notification
from notifications.services import digests_send, email_relay, notifications_scrub_author
from tests.factories import client_for
from tests.matching.support import (
    CHIZU,
    HIDA,
    api_as,
    error_of,
    host_of,
    make_task,
    move_to_past,
    published_task,
    resident,
    staff_of,
)
from tests.smtp import SmtpServer, smtp_server_running
from tests.support import SIGNUP_DETAILS, SIGNUP_FORM, page

pytestmark = pytest.mark.django_db


WORDS = {
    "ja": {
        "signup": "参加の申込がありました",
        "request": "承認を待っている申込があります",
        "cancelled": "申込がキャンセルされました",
        "waited": "3日前から待っています",
        "topic": "参加者の申込・キャンセル・質問（ヌシ・職員向け）",
    },
    "en": {
        "signup": "New sign-up",
        "request": "A request awaits your approval",
        "cancelled": "A sign-up was cancelled",
        "waited": "Waiting for 3 days",
        "topic": "sign-ups, cancellations and questions (for hosts and staff)",
    },
}


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server_running() as server, override_settings(**server.settings()):
        yield server


def person_in(language: str, maker=resident, *args) -> User:
    person = maker(*args)
    person.language = language
    person.save(update_fields=["language"])
    return person


def host_task(host: User, **kwargs) -> Task:
    """A host's task, submitted by the host and published by the town's staff."""
    task = make_task(host, **kwargs)
    services.task_submit(task=task, actor=host)
    return services.task_publish(task=task, actor=staff_of(task.municipality_id))


def heard(person: User, kind: str | None = None):
    notices = Notification.objects.filter(recipient=person, topic="participants")
    return notices.filter(kind=kind) if kind else notices


# --- Done when 1: a sign-up, a request and a cancellation reach the host -----------------


@pytest.mark.parametrize("language", ["ja", "en"])
def test_a_sign_up_reaches_the_host_once_in_the_inbox_and_by_e_mail(smtp, language):
    words = WORDS[language]
    host = person_in(language, host_of, CHIZU)
    task = host_task(host, capacity=1, title="棚田の草刈り")
    session = task.sessions.get()
    elsewhere = host_of(HIDA)  # another town's host
    email_relay()  # what publishing the task sent
    smtp.clear()
    # The page: a resident takes the place.
    first = resident()
    response = client_for(first, language).post(
        f"/sessions/{session.pk}/signup/", {**SIGNUP_FORM, "message": "よろしくお願いします"}
    )
    assert response.status_code == 302
    (notice,) = heard(host)
    assert (notice.kind, notice.context["status"]) == ("host_signup", "confirmed")
    assert notice.url == f"/tasks/{task.pk}/participants/#session-{session.pk}"
    inbox = page(client_for(host, language), "/notifications/", language)
    assert words["signup"] in inbox and "よろしくお願いします" in inbox
    # One e-mail, in the host's language, to the real SMTP server.
    assert email_relay()["sent"] == 2  # the host's, and the person's own
    (mail,) = smtp.to(host.email)
    assert words["signup"] in mail.message["Subject"] and "棚田の草刈り" in mail.message["Subject"]
    # The person by the name they gave for the roster, as the roster shows them.
    assert SIGNUP_FORM["full_name"] in mail.text
    assert f"/tasks/{task.pk}/participants/" in mail.text

    # The API: a second resident joins the waiting list; one more notice, one more e-mail.
    response = api_as(resident(), language).post(
        f"/api/sessions/{session.pk}/signups/", SIGNUP_DETAILS, format="json"
    )
    assert response.status_code == 201 and response.json()["status"] == "waitlisted"
    assert heard(host).count() == 2
    assert heard(host).first().context["status"] == "waitlisted"
    assert email_relay()["sent"] == 2  # the host's, and the person's own
    assert len(smtp.to(host.email)) == 2
    # Nobody else heard: not the other town's host, nor the people themselves on this topic.
    assert not Notification.objects.filter(recipient=elsewhere).exists()
    assert Notification.objects.filter(topic="participants").exclude(recipient=host).count() == 0
    assert smtp.per_recipient()[host.email] == 2 and elsewhere.email not in smtp.per_recipient()


@pytest.mark.parametrize("language", ["ja", "en"])
def test_a_request_reaches_the_host_who_accepts_it_on_the_page_and_through_the_api(smtp, language):
    words = WORDS[language]
    host = person_in(language, host_of, CHIZU)
    task = host_task(host, capacity=5, signup_mode="approval")
    session = task.sessions.get()
    asker, other = resident(), resident()
    email_relay()
    smtp.clear()
    assert (
        client_for(asker, language)
        .post(f"/sessions/{session.pk}/signup/", {**SIGNUP_FORM, "message": "草刈りは得意です"})
        .status_code
        == 302
    )
    request = Signup.objects.get(person=asker)
    assert request.status == "pending"
    assert heard(host, "host_request").count() == 1
    assert email_relay()["sent"] == 2  # the host's, and the person's own
    (mail,) = smtp.to(host.email)
    assert words["request"] in mail.message["Subject"]
    assert "草刈りは得意です" in mail.text
    # The host's list shows the request and how long it has waited.
    html = page(client_for(host, language), f"/tasks/{task.pk}/participants/", language)
    assert asker.public_name in html and f'action="/signups/{request.pk}/decide/"' in html
    # The host accepts it on the page; the person hears, as before.
    response = client_for(host, language).post(
        f"/signups/{request.pk}/decide/", {"decision": "accept"}
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == "confirmed"
    assert Notification.objects.filter(recipient=asker, kind="signup_accepted").count() == 1

    # Through the API: the request is listed with the time it began to wait, and accepted.
    api_as(other, language).post(
        f"/api/sessions/{session.pk}/signups/", SIGNUP_DETAILS, format="json"
    )
    theirs = Signup.objects.get(person=other)
    assert heard(host, "host_request").count() == 2
    rows = api_as(host, language).get(f"/api/sessions/{session.pk}/signups/").json()["results"]
    row = next(r for r in rows if r["id"] == theirs.pk)
    assert row["status"] == "pending" and row["waiting_since"] is not None
    response = api_as(host, language).post(
        f"/api/signups/{theirs.pk}/decide/", {"accept": True}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "confirmed"
    assert response.json()["waiting_since"] is None


@pytest.mark.parametrize("language", ["ja", "en"])
def test_a_request_says_how_long_it_has_waited(clock, language):
    host = person_in(language, host_of, CHIZU)
    task = host_task(host, signup_mode="approval")
    asker = resident()
    services.signup_create(session=task.sessions.get(), person=asker)
    clock.shift(datetime.timedelta(days=3, hours=2))
    html = page(client_for(host, language), f"/tasks/{task.pk}/participants/", language)
    assert WORDS[language]["waited"] in html
    # The notice says it too, when it is read (a digest renders it when it is sent).
    (notice,) = heard(host, "host_request")
    with translation.override(language):
        body = notice.body.replace("\xa0", " ")
    assert ("3日" in body) if language == "ja" else ("3 days" in body)


@pytest.mark.parametrize("language", ["ja", "en"])
def test_a_cancellation_reaches_the_host_with_the_reason(smtp, language):
    words = WORDS[language]
    host = person_in(language, host_of, CHIZU)
    task = host_task(host, capacity=5)
    session = task.sessions.get()
    leaving, also = resident(), resident()
    mine = services.signup_create(session=session, person=leaving)
    theirs = services.signup_create(session=session, person=also)
    email_relay()
    smtp.clear()
    # The page asks first, then cancels with the reason.
    me = client_for(leaving, language)
    html = page(me, f"/me/signups/{mine.pk}/cancel/", language)
    assert 'name="reason"' in html and 'name="confirm"' in html
    response = me.post(
        f"/me/signups/{mine.pk}/cancel/", {"confirm": "yes", "reason": "急な仕事が入りました"}
    )
    assert response.status_code == 302
    mine.refresh_from_db()
    assert (mine.status, mine.cancel_reason) == ("cancelled", "急な仕事が入りました")
    (notice,) = heard(host, "host_cancelled")
    assert notice.context["reason"] == "急な仕事が入りました"
    assert email_relay()["sent"] == 1
    (mail,) = smtp.to(host.email)
    assert words["cancelled"] in mail.message["Subject"] and "急な仕事が入りました" in mail.text
    # The host's list shows who cancelled and why.
    html = page(client_for(host, language), f"/tasks/{task.pk}/participants/", language)
    assert "急な仕事が入りました" in html

    # The API takes the reason as well.
    response = api_as(also, language).post(
        f"/api/signups/{theirs.pk}/cancel/", {"reason": "体調不良のため"}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert heard(host, "host_cancelled").count() == 2
    assert heard(host, "host_cancelled").first().context["reason"] == "体調不良のため"
    rows = api_as(host).get(f"/api/sessions/{session.pk}/signups/").json()["results"]
    assert {r["cancel_reason"] for r in rows} == {"急な仕事が入りました", "体調不良のため"}


# --- Promotion, a lapsed offer, a thank-you ----------------------------------------------


def test_promotion_and_a_lapsed_offer_reach_the_host(clock):
    host = host_of(CHIZU)
    task = host_task(host, capacity=1, confirm_window_hours=24)
    session = task.sessions.get()
    holder, waiting = resident(), resident()
    held = services.signup_create(session=session, person=holder)
    services.signup_create(session=session, person=waiting)
    services.signup_cancel(signup=held, actor=holder)
    promoted = heard(host, "host_promoted").get()
    assert promoted.context["status"] == "offered" and promoted.context["offer_expires_at"]
    assert Signup.objects.get(person=waiting).status == "offered"

    clock.shift(datetime.timedelta(hours=25))
    assert services.offers_expire() == 1
    lapsed = heard(host, "host_offer_lapsed").get()
    assert waiting.public_name == lapsed.context["person_name"]
    # Each event once: sign-ups, the cancellation, the promotion, the lapse.
    assert sorted(heard(host).values_list("kind", flat=True)) == [
        "host_cancelled",
        "host_offer_lapsed",
        "host_promoted",
        "host_signup",
        "host_signup",
    ]
    assert services.offers_expire() == 0 and heard(host).count() == 5


@pytest.mark.parametrize("language", ["ja", "en"])
def test_a_thank_you_reaches_the_host_under_the_participants_topic(language):
    host = person_in(language, host_of, CHIZU)
    task = host_task(host)
    session = task.sessions.get()
    came = resident()
    signup = services.signup_create(session=session, person=came)
    move_to_past(session)
    response = client_for(came, language).post(
        f"/me/signups/{signup.pk}/thanks/", {"message": "楽しかったです"}
    )
    assert response.status_code == 302
    (notice,) = heard(host, "thanks_received")
    assert notice.context["message"] == "楽しかったです"
    assert notice.context["person_name"] == came.public_name
    inbox = page(client_for(host, language), "/notifications/", language)
    assert "楽しかったです" in inbox


# --- Who hears: the staff of a staff-posted task; nobody who said never; no other town ----


def test_a_staff_posted_tasks_events_reach_the_towns_staff_and_nobody_else(smtp):
    staff, colleague = staff_of(CHIZU), staff_of(CHIZU)
    elsewhere_staff, elsewhere_host = staff_of(HIDA), host_of(HIDA)
    chizu_host = host_of(CHIZU)  # hosts other tasks here: not this one
    task = published_task(CHIZU, staff=staff, capacity=1, signup_mode="first_come")
    assert task.host_id is None
    session = task.sessions.get()
    person, waiting = resident(), resident()
    held = services.signup_create(session=session, person=person)
    services.signup_create(session=session, person=waiting)
    response = api_as(person).post(
        f"/api/signups/{held.pk}/cancel/", {"reason": "家族の用事"}, format="json"
    )
    assert response.status_code == 200
    for who in (staff, colleague):
        assert sorted(heard(who).values_list("kind", flat=True)) == [
            "host_cancelled",
            "host_promoted",
            "host_signup",
            "host_signup",
        ]
    for nobody in (elsewhere_staff, elsewhere_host, chizu_host):
        assert not heard(nobody).exists()
    email_relay()
    assert len(smtp.to(staff.email)) == 4 and len(smtp.to(colleague.email)) == 4
    assert not smtp.to(elsewhere_staff.email) and not smtp.to(chizu_host.email)


def test_a_host_who_chose_never_gets_nothing_and_the_topic_is_on_the_settings(smtp):
    host = host_of(CHIZU)
    for language in ("ja", "en"):
        html = page(client_for(host, language), "/notifications/settings/", language)
        assert WORDS[language]["topic"] in html and 'name="participants__email"' in html
    response = api_as(host).patch(
        "/api/notification-preferences/",
        {"preferences": [{"topic": "participants", "inbox": "never", "email": "never"}]},
        format="json",
    )
    assert response.status_code == 200
    task = host_task(host, capacity=1)
    email_relay()
    smtp.clear()
    signup = services.signup_create(session=task.sessions.get(), person=resident())
    services.signup_cancel(signup=signup, actor=signup.person, reason="都合により")
    assert not heard(host).exists()
    email_relay()
    assert not smtp.to(host.email)


def test_a_host_on_a_daily_digest_gets_one_e_mail_the_next_day(clock, smtp):
    host = host_of(CHIZU)
    api_as(host).patch(
        "/api/notification-preferences/",
        {"preferences": [{"topic": "participants", "email": "daily"}]},
        format="json",
    )
    task = host_task(host, capacity=5, signup_mode="approval")
    email_relay()
    smtp.clear()
    for _n in range(2):
        services.signup_create(session=task.sessions.get(), person=resident())
    assert heard(host).count() == 2  # in the inbox at once
    email_relay()
    assert not smtp.to(host.email)
    clock.shift(datetime.timedelta(days=1))
    assert digests_send() >= 1
    email_relay()
    (mail,) = smtp.to(host.email)
    assert mail.text.count("承認を待っている申込があります") == 2
    assert "前から待っています" in mail.text


def test_the_notices_carry_nothing_of_a_person_after_they_delete_their_account():
    host = host_of(CHIZU)
    task = host_task(host)
    person = resident()
    signup = services.signup_create(session=task.sessions.get(), person=person, message="ひみつ")
    services.signup_cancel(signup=signup, actor=person, reason="ないしょ")
    notifications_scrub_author(user=person)
    for notice in heard(host):
        assert "ひみつ" not in notice.body and "ないしょ" not in notice.body
        assert person.public_name not in notice.body


# --- Attackers ----------------------------------------------------------------------------


def test_nobody_else_sees_or_decides_a_tasks_requests():
    host = host_of(CHIZU)
    task = host_task(host, signup_mode="approval")
    signup = services.signup_create(session=task.sessions.get(), person=resident())
    for outsider in (host_of(HIDA), staff_of(HIDA), resident()):
        response = client_for(outsider).post(
            f"/signups/{signup.pk}/decide/", {"decision": "accept"}
        )
        assert response.status_code == 404
        error_of(
            api_as(outsider).post(f"/api/signups/{signup.pk}/decide/", {"accept": True}),
            404,
            "not_found",
        )
        assert client_for(outsider).get(f"/tasks/{task.pk}/participants/").status_code == 403
    assert client_for(None).get(f"/tasks/{task.pk}/participants/").status_code == 302
    signup.refresh_from_db()
    assert signup.status == "pending"


# --- A request that waits is recalled to the host once ------------------------------------


@pytest.mark.parametrize("language", ["ja", "en"])
def test_a_request_still_waiting_after_two_days_is_recalled_once(clock, language):
    host = person_in(language, host_of, CHIZU)
    task = host_task(host, capacity=5, signup_mode="approval")
    session = task.sessions.get()
    waiting, decided = resident(), resident()
    services.signup_create(session=session, person=waiting)
    answered = services.signup_create(session=session, person=decided)
    assert services.requests_remind() == 0  # too young
    clock.shift(datetime.timedelta(hours=47))
    assert services.requests_remind() == 0
    services.signup_decide(signup=answered, actor=host, accept=True)
    clock.shift(datetime.timedelta(hours=2))
    assert services.requests_remind() == 1  # the undecided one only
    assert services.requests_remind() == 0  # once
    (notice,) = heard(host, "host_request_waiting")
    assert notice.context["person_name"] == waiting.public_name
    with translation.override(language):
        body = notice.body.replace("\xa0", " ")
    assert ("2日" in body) if language == "ja" else ("waiting for 2 days" in body)
    inbox = page(client_for(host, language), "/notifications/", language)
    assert WORDS[language]["request"] in inbox
    # A session that has begun is past reminding.
    later = resident()
    services.signup_create(session=session, person=later)
    move_to_past(session)
    clock.shift(datetime.timedelta(days=3))
    assert services.requests_remind() == 0


def test_the_host_is_told_the_name_the_person_gave_for_the_roster():
    host = host_of(CHIZU)
    task = host_task(host, capacity=5)
    person = resident()
    services.signup_create(
        session=task.sessions.get(),
        person=person,
        details={"full_name": "髙﨑 美咲", "furigana": "タカサキ ミサキ", "agree": True},
    )
    (notice,) = heard(host, "host_signup")
    assert notice.context["person_name"] == "髙﨑 美咲"
