"""The inbox and the e-mail outbox through the services, with tasks run eagerly and the
in-memory mail backend: what each person's preferences write, idempotent keys, the relay
after the commit (headers, parts, language), at-most-once after a worker died mid-send, and
the one-click unsubscribe page (a GET asks, a POST stops)."""

from __future__ import annotations

import datetime
import re
from email import message_from_bytes
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import User
from notifications.errors import NotificationsCode
from notifications.models import Email, EmailState, Notification, Preference, Topic
from notifications.services import (
    email_relay,
    emails_recover,
    notification_send,
    preferences_of,
    preferences_set,
)
from notifications.tokens import unsubscribe_read, unsubscribe_token
from tests.support import api_as, resident

# Deadlines, terms and days are counted from a frozen clock (tests/conftest.py).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

HIRAGANA = re.compile("[\u3041-\u309f]")


@pytest.fixture
def person() -> User:
    mail.outbox.clear()
    return resident()


def tell(person: User, key: str = "signup:1:confirmed", topic: str = Topic.SIGNUPS) -> list[int]:
    """A sign-up confirmation, as the board sends one."""
    start = timezone.now() + datetime.timedelta(days=7)
    return notification_send(
        recipients=[person],
        kind="signup_confirmed",
        topic=topic,
        key=key,
        context={
            "task_title": "Rice planting",
            "municipality": "智頭町",
            "starts_at": start.isoformat(),
            "ends_at": (start + datetime.timedelta(hours=3)).isoformat(),
        },
        url="/tasks/1/",
    )


def choose(person: User, topic: str, inbox: str | None = None, email: str | None = None) -> None:
    changes = [(topic, "inbox", inbox)] if inbox else []
    changes += [(topic, "email", email)] if email else []
    preferences_set(user=person, changes=changes)


def unfolded(header: str) -> str:
    """A header as written, without the line folding of its transport (RFC 5322 2.2.3)."""
    return re.sub(r"\r?\n(?=[ \t])", "", header).strip()


def inbox_of(person: User) -> tuple[list[int], int]:
    api = api_as(person)
    listed = [row["id"] for row in api.get("/api/notifications/").json()["results"]]
    return listed, api.get("/api/notifications/unread-count/").json()["unread"]


# --- What the preferences write ---------------------------------------------------------------


def test_by_default_the_inbox_and_an_email_now(person):
    assert tell(person) == [person.pk]
    notification = Notification.objects.get(recipient=person)
    assert (notification.topic, notification.in_inbox, notification.digest) == ("signups", True, "")
    email = Email.objects.get(recipient=person)
    assert (email.key, email.topic, email.state) == (notification.key, "signups", "pending")
    assert inbox_of(person) == ([notification.pk], 1)


def test_email_never_writes_no_email(person):
    choose(person, "signups", email="never")
    assert tell(person) == [person.pk]
    assert Notification.objects.filter(recipient=person, in_inbox=True).count() == 1
    assert not Email.objects.exists()
    # Another topic still e-mails.
    tell(person, key="other", topic=Topic.CHANGES)
    assert Email.objects.get().topic == "changes"


def test_inbox_never_but_email_now_is_a_hidden_notification_with_its_email(
    person, django_capture_on_commit_callbacks
):
    choose(person, "signups", inbox="never", email="immediately")
    with django_capture_on_commit_callbacks(execute=True):
        assert tell(person) == [person.pk]
    notification = Notification.objects.get(recipient=person)
    assert notification.in_inbox is False
    assert inbox_of(person) == ([], 0)
    assert Email.objects.get(recipient=person).state == EmailState.SENT
    assert len(mail.outbox) == 1 and "Rice planting" in mail.outbox[0].subject


def test_both_never_writes_nothing_and_a_digest_waits(person):
    choose(person, "signups", inbox="never", email="never")
    assert tell(person) == []
    assert not Notification.objects.exists() and not Email.objects.exists()

    choose(person, "signups", inbox="immediately", email="daily")
    tell(person, key="daily one")
    assert Notification.objects.get(recipient=person).digest == "daily"
    assert not Email.objects.exists()


def test_a_key_is_sent_once_per_person(person):
    other = resident()
    for _twice in range(2):
        notification_send(
            recipients=[person, other.pk, None],
            kind="signup_confirmed",
            topic=Topic.SIGNUPS,
            key="signup:7:confirmed",
            context={"task_title": "x", "municipality": "y"},
        )
    assert Notification.objects.filter(key="signup:7:confirmed").count() == 2
    assert Email.objects.filter(key="signup:7:confirmed").count() == 2
    tell(person, key="signup:8:confirmed")
    assert Notification.objects.filter(recipient=person).count() == 2


# --- The relay -----------------------------------------------------------------------------


def test_the_relay_sends_after_the_commit_with_its_headers_and_both_parts(
    person, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        tell(person)
        assert mail.outbox == []  # nothing leaves before the change commits
        assert Email.objects.get().state == EmailState.PENDING
    email = Email.objects.get()
    assert email.state == EmailState.SENT and email.sent_at is not None and email.attempts == 1
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == [person.email]

    parsed = message_from_bytes(sent.message().as_bytes())
    assert parsed["Message-ID"] == email.message_id
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = unfolded(parsed["List-Unsubscribe"])
    assert link.startswith(f"<{settings.SITE_URL}/notifications/unsubscribe/") and link.endswith(
        ">"
    )
    assert parsed.get_content_type() == "multipart/alternative"
    parts = {part.get_content_type(): part for part in parsed.get_payload()}
    assert set(parts) == {"text/plain", "text/html"}
    plain = parts["text/plain"].get_payload(decode=True).decode()
    html = parts["text/html"].get_payload(decode=True).decode()
    for text in (plain, html):
        assert "Rice planting" in text and "智頭町" in text
        assert "/tasks/1/" in text
    assert link[1:-1] in plain
    assert '<html lang="ja">' in html
    assert HIRAGANA.search(sent.subject)  # Japanese by default

    # Nothing is sent twice.
    assert email_relay()["sent"] == 0
    assert len(mail.outbox) == 1


def test_an_english_reader_gets_english_email(person, django_capture_on_commit_callbacks):
    User.objects.filter(pk=person.pk).update(language="en")
    with django_capture_on_commit_callbacks(execute=True):
        tell(person)
    sent = mail.outbox[0]
    html = sent.alternatives[0][0]
    for text in (sent.subject, sent.body, html):
        assert "Rice planting" in text
        assert not HIRAGANA.search(text), text
    assert '<html lang="en">' in html


def test_an_email_left_sending_by_a_dead_worker_is_uncertain_and_never_sent(person):
    """At most once: a match suggestion whose fate is unknown is not sent again."""
    tell(person, key="stale", topic=Topic.MATCHES)
    tell(person, key="recent", topic=Topic.MATCHES)
    now = timezone.now()
    stale = now - datetime.timedelta(seconds=settings.NOTIFICATIONS_SENDING_STALE_SECONDS + 60)
    Email.objects.filter(key="stale").update(state=EmailState.SENDING, sending_since=stale)
    Email.objects.filter(key="recent").update(state=EmailState.SENDING, sending_since=now)

    assert emails_recover(now=now) == 1
    assert Email.objects.get(key="stale").state == EmailState.UNCERTAIN
    assert Email.objects.get(key="recent").state == EmailState.SENDING
    assert email_relay()["sent"] == 0
    assert mail.outbox == []
    assert emails_recover(now=now) == 0
    assert Email.objects.get(key="stale").state == EmailState.UNCERTAIN


def test_a_critical_email_left_sending_is_sent_again_later_once_with_its_message_id(person):
    """At least once: a sign-up confirmation whose fate is unknown goes back to the queue,
    after a wait, and is sent with the same Message-ID; uncertain again, it stays so."""
    tell(person, key="signup:9:confirmed")
    row = Email.objects.get(key="signup:9:confirmed")
    now = timezone.now()
    stale = now - datetime.timedelta(seconds=settings.NOTIFICATIONS_SENDING_STALE_SECONDS + 60)
    Email.objects.filter(pk=row.pk).update(state=EmailState.SENDING, sending_since=stale)

    assert emails_recover(now=now) == 1
    row.refresh_from_db()
    assert (row.state, row.resends) == (EmailState.PENDING, 1)
    wait = datetime.timedelta(seconds=settings.NOTIFICATIONS_UNCERTAIN_RETRY_SECONDS)
    assert row.next_attempt_at == now + wait
    # Not before the wait (the first copy may still be on its way) …
    assert email_relay()["sent"] == 0
    assert mail.outbox == []
    # … and after it (as the clock would move it), once, with the row's Message-ID.
    Email.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert email_relay()["sent"] == 1
    [message] = mail.outbox
    assert message.extra_headers["Message-ID"] == row.message_id

    # Killed mid-send a second time: the resends are used up, never a third copy.
    Email.objects.filter(pk=row.pk).update(state=EmailState.SENDING, sending_since=stale)
    assert emails_recover(now=now) == 1
    row.refresh_from_db()
    assert (row.state, row.resends) == (EmailState.UNCERTAIN, 1)
    assert email_relay()["sent"] == 0
    assert len(mail.outbox) == 1


# --- One-click unsubscribe ----------------------------------------------------------------------


def test_the_link_in_the_email_asks_on_get_and_stops_only_its_topic_on_post(
    person, client, django_capture_on_commit_callbacks
):
    choose(person, "signups", inbox="immediately")
    with django_capture_on_commit_callbacks(execute=True):
        tell(person)
    link = mail.outbox[0].extra_headers["List-Unsubscribe"].strip("<>")
    path = urlsplit(link).path
    before = preferences_of(user=person)
    rows = Preference.objects.count()

    page = client.get(path)
    assert page.status_code == 200
    text = page.content.decode()
    assert "申込の受付・確定" in text and "<form" in text
    assert preferences_of(user=person) == before and Preference.objects.count() == rows

    done = client.post(path, {"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    assert "メールを停止しました" in done.content.decode()
    after = preferences_of(user=person)
    assert after["signups"] == {"inbox": "immediately", "email": "never"}
    assert {t: c for t, c in after.items() if t != "signups"} == {
        t: c for t, c in before.items() if t != "signups"
    }

    # That topic no longer e-mails; the others do.
    tell(person, key="after")
    assert not Email.objects.filter(key="after").exists()
    tell(person, key="changed", topic=Topic.CHANGES)
    assert Email.objects.filter(key="changed").exists()


@pytest.mark.parametrize("forged", ["nonsense", "forged-token"])
def test_a_forged_unsubscribe_link_is_a_clear_400_and_changes_nothing(person, client, forged):
    genuine = unsubscribe_token(person_id=person.pk, topics=["matches"])
    token = genuine[:-3] + "abc" if forged == "forged-token" else forged
    for method in ("get", "post"):
        response = getattr(client, method)(f"/notifications/unsubscribe/{token}/")
        assert response.status_code == 400
        assert "この配信停止のリンクは正しくありません" in response.content.decode()
    with pytest.raises(ValidationError) as refusal:
        unsubscribe_read(token)
    assert refusal.value.code == NotificationsCode.UNSUBSCRIBE_LINK_INVALID
    assert not Preference.objects.exists()


def test_what_waits_for_a_digest_follows_a_new_choice(person):
    """Unsubscribing stops e-mail already waiting for a digest, not only what comes next."""
    choose(person, Topic.SIGNUPS, email="daily")
    tell(person, key="signup:1:confirmed")
    tell(person, key="signup:2:confirmed")
    choose(person, Topic.SIGNUPS, email="weekly")
    assert set(Notification.objects.filter(recipient=person).values_list("digest", flat=True)) == {
        "weekly"
    }
    choose(person, Topic.SIGNUPS, email="never")
    assert set(Notification.objects.filter(recipient=person).values_list("digest", flat=True)) == {
        ""
    }
    tomorrow = timezone.now() + datetime.timedelta(days=8)
    from notifications.services import digests_send

    assert digests_send(now=tomorrow) == 0
    assert not Email.objects.filter(recipient=person).exists()


def test_an_unsubscribe_withdraws_the_topics_pending_email(
    person, django_capture_on_commit_callbacks
):
    tell(person, key="signup:3:confirmed")  # pending in the outbox: no commit yet
    choose(person, Topic.SIGNUPS, email="never")
    with django_capture_on_commit_callbacks(execute=True):
        email_relay()
    assert Email.objects.get(recipient=person).state == EmailState.FAILED
    assert mail.outbox == []


def test_a_key_sent_again_after_a_change_of_mind_is_not_mailed_twice(person):
    choose(person, Topic.SIGNUPS, email="daily")
    tell(person, key="session:9:opened:2026-11-23")
    choose(person, Topic.SIGNUPS, email="immediately")
    assert tell(person, key="session:9:opened:2026-11-23") == []
    assert not Email.objects.filter(recipient=person).exists()
    assert Notification.objects.filter(recipient=person).count() == 1


def test_a_title_with_a_line_break_is_mailed_on_one_subject_line(person):
    notification_send(
        recipients=[person],
        kind="signup_confirmed",
        topic=Topic.SIGNUPS,
        key="signup:4:confirmed",
        context={
            "task_title": "田植え\r\nBcc: someone@example.jp",
            "municipality": "智頭町",
            "starts_at": timezone.now().isoformat(),
            "ends_at": timezone.now().isoformat(),
        },
    )
    assert email_relay()["sent"] == 1
    assert "\n" not in mail.outbox[0].subject
    assert mail.outbox[0].bcc == [] and mail.outbox[0].to == [person.email]
