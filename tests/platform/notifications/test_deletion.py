"""A deleted account's own words leave other people's inboxes: the thank-you a participant
wrote to a host, the organisation named in a host application to a town's staff. After the
deletion their inbox pages, the API and the e-mail still waiting show a neutral
「（削除されたアカウント）」 ("(deleted account)") instead."""

from __future__ import annotations

import pytest
from django.core import mail

from matching import services as board
from notifications.models import Email, EmailState, Notification
from notifications.services import email_relay, notification_send
from tests.factories import PASSWORD, client_for
from tests.matching.support import (
    CHIZU,
    HIDA,
    api_as,
    host_of,
    make_task,
    move_to_past,
    register,
    resident,
    staff_of,
)
from tests.support import SIGNUP_DETAILS

pytestmark = pytest.mark.django_db

THANKS = "草刈りのあと、縁側で食べたスイカが最高でした。ミツバチ農園の谷口より"
ORGANISATION = "ミツバチ農園の谷口"
WORDS = (THANKS, ORGANISATION, "谷口", "スイカ")


def _inbox_everywhere(user, language: str = "ja") -> str:
    """Everything the person's inbox shows: the page and the API's list."""
    page = client_for(user, language).get("/notifications/")
    assert page.status_code == 200
    api = api_as(user, language).get("/api/notifications/")
    assert api.status_code == 200
    return page.content.decode() + api.content.decode()


def _mailed_to(*people) -> list[str]:
    """The e-mails the relay sends now to these people: subject and both parts of each."""
    mail.outbox.clear()
    email_relay()
    addresses = {person.email for person in people}
    return [
        message.subject + message.body + "".join(body for body, _type in message.alternatives)
        for message in mail.outbox
        if set(message.to) & addresses
    ]


@pytest.fixture
def words_in_inboxes():
    """A participant thanks the host of a task they took part in and applies to host for
    飛騨市 (naming an organisation), through the API; nothing is mailed yet."""
    host = host_of(CHIZU)
    chizu_staff = staff_of(CHIZU)
    hida_staff = staff_of(HIDA)
    task = make_task(host, CHIZU)
    board.task_submit(task=task, actor=host)
    board.task_publish(task=task, actor=chizu_staff)
    session = task.sessions.get()
    person = resident(family_name="谷口", given_name="和子")
    register(person, CHIZU)
    api = api_as(person)
    signed_up = api.post(f"/api/sessions/{session.pk}/signups/", SIGNUP_DETAILS, format="json")
    assert signed_up.status_code == 201, signed_up.content
    move_to_past(session)
    thanked = api.post(
        f"/api/signups/{signed_up.json()['id']}/thanks/", {"message": THANKS}, format="json"
    )
    assert thanked.status_code == 200, thanked.content
    applied = api.post(
        "/api/host-applications/",
        {"municipality": HIDA, "organisation": ORGANISATION, "message": "養蜂の体験会を開きたい"},
        format="json",
    )
    assert applied.status_code == 201, applied.content
    return person, host, hida_staff


def test_a_deleted_account_leaves_no_words_in_other_inboxes_or_pending_email(
    words_in_inboxes,
):
    person, host, hida_staff = words_in_inboxes
    # Before: the host sees the thank-you and 飛騨市's staff the organisation, and both wait
    # in the outbox.
    assert THANKS in _inbox_everywhere(host)
    assert ORGANISATION in _inbox_everywhere(hida_staff)
    pending = Email.objects.filter(recipient__in=[host, hida_staff], state=EmailState.PENDING)
    keys = set(pending.values_list("key", flat=True))
    assert any(key.endswith(":thanks") for key in keys), keys
    assert any(key.endswith(":applied") for key in keys), keys

    deleted = api_as(person).post("/api/me/delete/", {"password": PASSWORD}, format="json")
    assert deleted.status_code == 204, deleted.content

    for reader in (host, hida_staff):
        shown = _inbox_everywhere(reader)
        for words in WORDS:
            assert words not in shown, (reader, words)
        assert "（削除されたアカウント）" in shown
        english = _inbox_everywhere(reader, "en")
        assert "(deleted account)" in english and THANKS not in english
    # Nothing of theirs is stored either: not in the context the notifications keep.
    kept = Notification.objects.filter(recipient__in=[host, hida_staff])
    assert kept.exists()
    for notification in kept:
        for words in WORDS:
            assert words not in str(notification.context), notification.kind
    # The e-mail still waiting goes out without their words.
    sent = _mailed_to(host, hida_staff)
    assert len(sent) == len(keys)
    for words in WORDS:
        assert not any(words in text for text in sent), words
    # The thank-you, the application, and the host's notice of the sign-up (issue 17: it
    # carries the person's name).
    assert sum("（削除されたアカウント）" in text for text in sent) == 3


def test_only_the_authors_words_are_scrubbed(words_in_inboxes):
    """Someone else's notifications and the other parts of the same notification stay."""
    person, host, _hida_staff = words_in_inboxes
    other = resident()
    notification_send(
        recipients=[host],
        kind="thanks_received",
        topic="hosting",
        key="other-thanks",
        context={"task_id": 1, "task_title": "棚田の草刈り", "message": "また行きます！"},
        author=other,
        author_keys=["message"],
    )
    api_as(person).post("/api/me/delete/", {"password": PASSWORD}, format="json")
    shown = _inbox_everywhere(host)
    assert "また行きます！" in shown  # another person's words
    assert "棚田の草刈り" in shown  # the task's title is the town's, not the author's
    assert THANKS not in shown


def test_author_keys_must_name_the_context():
    with pytest.raises(ValueError, match="author_keys"):
        notification_send(
            recipients=[resident()],
            kind="thanks_received",
            topic="hosting",
            key="k",
            context={"message": "…"},
            author=resident(),
            author_keys=["note"],
        )
