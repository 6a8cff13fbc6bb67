"""The relay in batches (issue 18): relays running at once share the outbox without sending
anything twice, one commit per message, and what a relay held when the database server
restarted is uncertain (its last asynchronous commits may be lost), not sent again."""

from __future__ import annotations

import datetime
import threading
from collections import Counter

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications.models import Email, EmailState, Topic
from notifications.services import email_relay, notification_send
from tests.factories import UserFactory


def tell(people, key: str, topic: str = Topic.ANNOUNCEMENTS) -> None:
    notification_send(
        recipients=people,
        kind="announcement",
        topic=topic,
        key=key,
        context={"municipality": "智頭町", "title": "冬", "body": "雪かき"},
        url="/places/313289/",
    )


@pytest.mark.django_db(transaction=True)
def test_two_relays_at_once_send_each_email_once():
    people = UserFactory.create_batch(60)
    tell(people, "announcement:1")  # committed: the relay ran (eagerly, in tests) ...
    Email.objects.update(  # ... and the e-mails wait again, for the two relays below
        state=EmailState.PENDING, attempts=0, sent_at=None, claimed_until=None
    )
    mail.outbox.clear()
    barrier = threading.Barrier(2)
    results, errors = [], []

    def relay() -> None:
        try:
            barrier.wait(10)
            results.append(email_relay(batch=7))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=relay) for _two in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert sum(result["sent"] for result in results) == 60
    per_address = Counter(message.to[0] for message in mail.outbox)
    assert set(per_address) == {person.email for person in people}
    assert set(per_address.values()) == {1}
    assert set(Email.objects.values_list("state", flat=True)) == {EmailState.SENT}
    assert set(Email.objects.values_list("attempts", flat=True)) == {1}


@pytest.mark.django_db
def test_one_statement_per_message_after_the_batch_is_read():
    people = UserFactory.create_batch(10)
    tell(people, "announcement:1")
    mail.outbox.clear()
    with CaptureQueriesContext(connection) as queries:
        assert email_relay()["sent"] == 10
    updates = [q["sql"] for q in queries if q["sql"].lstrip().startswith("UPDATE")]
    # The claim, one per message (its start with the one before's end), the last one's end.
    assert len(updates) == 1 + 10 + 1, updates
    assert len(mail.outbox) == 10


@pytest.mark.django_db
def test_what_a_relay_held_when_the_database_restarted_is_uncertain():
    match, signup, fresh = UserFactory.create_batch(3)
    tell([match], "task:1:matched", Topic.MATCHES)
    tell([signup], "signup:1:confirmed", Topic.SIGNUPS)
    tell([fresh], "task:2:matched", Topic.MATCHES)
    mail.outbox.clear()
    expired = timezone.now() - datetime.timedelta(seconds=1)
    # Claimed before the server started (a relay held them through a restart) ...
    Email.objects.exclude(recipient=fresh).update(
        claimed_until=expired, claimed_at=datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
    )
    # ... and a claim since, whose relay stopped: nothing of it was started.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE notifications_email SET claimed_until = %s, claimed_at = now() "
            "WHERE recipient_id = %s",
            [expired, fresh.pk],
        )
    assert email_relay() == {"sent": 1, "retry": 0, "failed": 0, "skipped": 0}
    assert [message.to for message in mail.outbox] == [[fresh.email]]
    rows = {email.recipient_id: email for email in Email.objects.all()}
    assert (rows[match.pk].state, rows[match.pk].resends) == (EmailState.UNCERTAIN, 0)
    # At least once: sent again later, with its Message-ID.
    again = rows[signup.pk]
    assert (again.state, again.resends, again.claimed_until) == (EmailState.PENDING, 1, None)
    assert again.next_attempt_at > timezone.now()
    assert "database restarted" in again.last_error
