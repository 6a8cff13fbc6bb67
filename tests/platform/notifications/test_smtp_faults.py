"""E-mail by topic when the SMTP server misbehaves after it took a message (issue 15,
Done-when 5), against a real SMTP server on this machine: it drops the connection without
a reply, or answers after 40 s (the relay's SMTP timeout is 2 s here). The message may have
arrived, so it is *uncertain*: never sent again at once. A sign-up confirmation (at least
once) is sent again later with the same Message-ID, so it arrives at least once and at most
twice; a match suggestion (at most once) is never sent again.

Committed for real (transaction=True): the relay runs in this process after each commit,
as in the embedded mode; the clock is moved by moving the row's next attempt."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from notifications.models import Email, Topic
from notifications.services import email_relay, notification_send
from tests.factories import UserFactory
from tests.matching.support import CHIZU, SETAGAYA, api_as, published_task, register, resident
from tests.smtp import SmtpServer, smtp_server_running
from tests.support import SIGNUP_DETAILS

# Deadlines, terms and days are counted from a frozen clock (tests/conftest.py).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clock")]

FAULTS = ["drop", "late"]


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with (
        smtp_server_running() as server,
        override_settings(**server.settings(), NOTIFICATIONS_SMTP_TIMEOUT=2),
    ):
        yield server


def sign_up(person, task) -> Email:
    session = task.sessions.get()
    response = api_as(person).post(
        f"/api/sessions/{session.pk}/signups/", SIGNUP_DETAILS, format="json"
    )
    assert response.status_code == 201, response.content
    return Email.objects.get(recipient=person, key__endswith=":signup_confirmed:confirmed")


def due_now(row: Email) -> None:
    """The relay's wait has passed (as the clock would move it)."""
    Email.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())


@pytest.mark.parametrize("fault", FAULTS)
def test_a_sign_up_confirmation_taken_without_an_answer_arrives_again_once_later(
    municipalities, smtp, fault
):
    task = published_task(CHIZU)
    person = resident()
    smtp.misbehave(person.email, fault, times=1)

    row = sign_up(person, task)  # the relay runs after the commit
    first = smtp.to(person.email)
    assert len(first) == 1  # it arrived, though the relay could not know
    row.refresh_from_db()
    assert (row.state, row.resends) == ("pending", 1)
    assert row.next_attempt_at > timezone.now()
    assert "uncertain" in row.last_error
    # Never at once: another run of the relay leaves it until its time.
    email_relay()
    assert len(smtp.to(person.email)) == 1

    due_now(row)
    assert email_relay()["sent"] == 1
    row.refresh_from_db()
    assert row.state == "sent"
    copies = smtp.to(person.email)
    assert len(copies) == 2
    assert {m.message_id for m in copies} == {row.message_id}
    due_now(row)
    email_relay()
    assert len(smtp.to(person.email)) == 2


@pytest.mark.parametrize("fault", FAULTS)
def test_a_sign_up_confirmation_never_arrives_more_than_twice(municipalities, smtp, fault):
    task = published_task(CHIZU)
    person = resident()
    smtp.misbehave(person.email, fault, times=10)  # every time

    row = sign_up(person, task)
    for _again in range(3):
        due_now(row)
        email_relay()
    row.refresh_from_db()
    assert (row.state, row.resends) == ("uncertain", 1)
    copies = smtp.to(person.email)
    assert len(copies) == 2
    assert {m.message_id for m in copies} == {row.message_id}


@pytest.mark.parametrize("fault", FAULTS)
def test_a_match_suggestion_taken_without_an_answer_is_never_sent_again(
    municipalities, smtp, fault
):
    person = resident(home=SETAGAYA)
    register(person, CHIZU)
    smtp.misbehave(person.email, fault, times=10)

    task = published_task(CHIZU)  # the matcher tells the person after the commit
    row = Email.objects.get(recipient=person, key=f"task:{task.pk}:matched")
    row.refresh_from_db()
    assert (row.state, row.resends) == ("uncertain", 0)
    for _again in range(2):
        due_now(row)
        email_relay()
    assert Email.objects.get(pk=row.pk).state == "uncertain"
    [message] = smtp.to(person.email)
    assert message.message_id == row.message_id


@pytest.mark.parametrize("fault", FAULTS)
def test_the_next_email_of_the_batch_goes_on_a_fresh_connection(smtp, fault):
    """After a message without an answer the connection is dropped (a late reply must not
    be read as the next message's): the others of the batch arrive once each."""
    unlucky, *others = people = [UserFactory() for _ in range(4)]
    smtp.misbehave(unlucky.email, fault, times=1)
    start = timezone.now() + datetime.timedelta(days=7)
    with transaction.atomic():  # one commit, so one relay run takes the four at once
        for person in people:
            notification_send(
                recipients=[person],
                kind="signup_confirmed",
                topic=Topic.SIGNUPS,
                key=f"signup:{person.pk}:confirmed",
                context={
                    "task_title": "棚田の草刈り",
                    "municipality": "智頭町",
                    "starts_at": start.isoformat(),
                    "ends_at": (start + datetime.timedelta(hours=3)).isoformat(),
                },
            )
    rows = {e.recipient_id: e for e in Email.objects.filter(recipient__in=people)}
    for person in others:
        [message] = smtp.to(person.email)
        assert message.message_id == rows[person.pk].message_id
        assert rows[person.pk].state == "sent"
    assert (rows[unlucky.pk].state, rows[unlucky.pk].resends) == ("pending", 1)
    assert len(smtp.to(unlucky.email)) == 1
    assert len(smtp.received) == 4
