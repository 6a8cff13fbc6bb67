"""``notification_send`` and ``notification_send_many`` on PostgreSQL: one statement writes what
each person's preferences ask for (defaults where they chose nothing), passes over whoever
has the key already or is over the weekly cap, merges what is personal, keeps the author's
keys, and leaves no savepoint in the caller's transaction."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications.models import Email, Notification, Topic
from notifications.services import Send, notification_send, notification_send_many, preferences_set
from tests.support import resident

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def send(people, key="announcement:1", topic=Topic.ANNOUNCEMENTS, **kwargs) -> list[int]:
    return notification_send(
        recipients=people,
        kind="announcement",
        topic=topic,
        key=key,
        context={"municipality": "智頭町", "title": "冬", "body": "雪かき"},
        url="/places/313289/",
        **kwargs,
    )


def rows(key: str) -> dict[int, tuple]:
    return {
        n.recipient_id: (n.in_inbox, n.digest, n.context, n.created_at)
        for n in Notification.objects.filter(key=key)
    }


def test_each_person_gets_what_they_chose_in_one_statement():
    plain, hidden, daily, silent, mute = (resident() for _i in range(5))
    preferences_set(user=hidden, changes=[("announcements", "inbox", "never")])
    preferences_set(user=daily, changes=[("announcements", "email", "daily")])
    preferences_set(user=mute, changes=[("announcements", "email", "never")])
    preferences_set(
        user=silent,
        changes=[("announcements", "inbox", "never"), ("announcements", "email", "never")],
    )
    people = [plain, hidden, daily, silent, mute]
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        told = send([*people, plain.pk, None])
    assert len(queries) == 1, [q["sql"][:80] for q in queries]
    assert "SAVEPOINT" not in queries[0]["sql"]
    assert told == sorted(p.pk for p in (plain, hidden, daily, mute))
    written = rows("announcement:1")
    context = {"municipality": "智頭町", "title": "冬", "body": "雪かき"}
    now = timezone.now()
    assert written == {
        plain.pk: (True, "", context, now),
        hidden.pk: (False, "", context, now),
        daily.pk: (True, "daily", context, now),
        mute.pk: (True, "", context, now),
    }
    emails = Email.objects.filter(key="announcement:1")
    assert sorted(e.recipient_id for e in emails) == sorted([plain.pk, hidden.pk])
    for email in emails:
        assert (email.state, email.topic, email.digest, email.attempts) == (
            "pending",
            "announcements",
            "",
            0,
        )
        assert email.created_at == now and email.next_attempt_at == now
        assert email.message_id.startswith("<") and email.message_id.endswith(">")
    assert len({e.message_id for e in emails}) == 2


def test_a_second_call_with_the_key_tells_nobody_again():
    first, second = resident(), resident()
    assert send([first]) == [first.pk]
    assert send([first, second]) == [second.pk]
    assert send([first, second]) == []
    assert Notification.objects.filter(key="announcement:1").count() == 2
    assert Email.objects.filter(key="announcement:1").count() == 2


def test_the_weekly_cap_counts_the_last_seven_days_of_the_topic(clock):
    busy, quiet = resident(), resident()
    for number in range(3):
        send([busy], key=f"task:{number}:matched", topic=Topic.MATCHES)
    send([quiet], key="other-topic", topic=Topic.ANNOUNCEMENTS)
    told = send([busy, quiet], key="task:9:matched", topic=Topic.MATCHES, weekly_cap=3)
    assert told == [quiet.pk]
    clock.shift(datetime.timedelta(days=7, seconds=1))
    assert send([busy], key="task:10:matched", topic=Topic.MATCHES, weekly_cap=3) == [busy.pk]


def test_personal_context_and_the_author_keys():
    writer, reader, other = resident(), resident(), resident()
    told = notification_send(
        recipients=[reader, other],
        kind="announcement",
        topic=Topic.MATCHES,
        key="task:1:matched",
        context={"title": "冬", "body": "雪かき", "reasons": []},
        personal={reader.pk: {"reasons": ["near"]}, 12345678: {"reasons": ["nobody"]}},
        author=writer,
        author_keys=["body", "body"],
    )
    assert told == sorted([reader.pk, other.pk])
    mine = Notification.objects.get(recipient=reader)
    theirs = Notification.objects.get(recipient=other)
    assert mine.context == {"title": "冬", "body": "雪かき", "reasons": ["near"]}
    assert theirs.context == {"title": "冬", "body": "雪かき", "reasons": []}
    for notification in (mine, theirs):
        assert notification.author_id == writer.pk and notification.author_keys == ["body"]
    with pytest.raises(ValueError, match="author_keys"):
        send([reader], key="x", author=writer, author_keys=["missing"])


def test_several_notifications_in_one_statement():
    person, host = resident(), resident()
    preferences_set(user=host, changes=[("participants", "email", "weekly")])
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        told = notification_send_many(
            [
                Send(
                    recipients=[person],
                    kind="signup_confirmed",
                    topic=Topic.SIGNUPS,
                    key="signup:1:confirmed",
                    context={"task_title": "田植え", "municipality": "智頭町"},
                    url="/tasks/1/",
                ),
                {  # notification_send's keyword arguments do as well
                    "recipients": [host],
                    "kind": "signup_confirmed",
                    "topic": Topic.PARTICIPANTS,
                    "key": "signup:1:host",
                    "context": {"task_title": "田植え", "name": "山田"},
                    "author": person,
                    "author_keys": ["name"],
                },
                Send(recipients=[], kind="x", topic=Topic.SIGNUPS, key="none", context={}),
            ]
        )
    assert len(queries) == 1
    assert told == [[person.pk], [host.pk], []]
    assert Notification.objects.get(key="signup:1:host").digest == "weekly"
    assert Notification.objects.get(key="signup:1:host").author_id == person.pk
    assert list(Email.objects.values_list("recipient_id", "key", "topic")) == [
        (person.pk, "signup:1:confirmed", "signups")
    ]
    with CaptureQueriesContext(connection) as queries:
        assert notification_send_many([]) == []
        assert notification_send_many(
            [Send(recipients=[None], kind="x", topic="x", key="x", context={})]
        ) == [[]]
    assert len(queries) == 0
