"""The relay's messages built once for many people (``notifications.emails.Prepared``): each
person's message says exactly what ``message_for`` would have made for them, headers and
both parts, whatever their name, language or address; what cannot be shared safely is
built the ordinary way."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.core import signing
from django.test import override_settings

from notifications.emails import message_for
from notifications.models import Email, EmailState, Topic
from notifications.services import email_relay, notification_send
from notifications.tokens import UNSUBSCRIBE_SALT
from tests.factories import UserFactory
from tests.smtp import SmtpServer, smtp_server_running

pytestmark = pytest.mark.django_db(transaction=True)

# The person's own headers are written by the relay; the rest come from the shared bytes.
HEADERS = (
    "From",
    "To",
    "Subject",
    "Message-ID",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "Auto-Submitted",
    "MIME-Version",
)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server_running() as server, override_settings(**server.settings()):
        yield server


def tell(people, key: str, body: str = "雪かきのお手伝いを募集しています。") -> None:
    notification_send(
        recipients=people,
        kind="announcement",
        topic=Topic.ANNOUNCEMENTS,
        key=key,
        context={"municipality": "智頭町", "title": "冬のお知らせ", "body": body},
        url="/places/313289/",
    )


def _untimed(text: str) -> str:
    """``text`` with each unsubscribe token as what it says (a token carries its time)."""
    return re.sub(
        r"/unsubscribe/([^/]+)/",
        lambda found: f"/unsubscribe/{signing.loads(found[1], salt=UNSUBSCRIBE_SALT)}/",
        text,
    )


def _parts(message) -> dict[str, str]:
    return {
        kind: _untimed(message.get_body(preferencelist=(kind,)).get_content())
        for kind in ("plain", "html")
    }


def _as_sent_ordinarily(row: Email):
    import email
    import email.policy

    built = message_for(row).message()
    return email.message_from_bytes(built.as_bytes(linesep="\r\n"), policy=email.policy.default)


def _relay_again() -> None:
    Email.objects.update(state=EmailState.PENDING, attempts=0, sent_at=None, claimed_until=None)
    email_relay()


def test_each_person_gets_what_message_for_makes_for_them(smtp):
    people = [
        UserFactory(family_name="山田", given_name="花子"),
        UserFactory(family_name="<b>O'Neil</b>", given_name="& Co"),  # escaped in HTML only
        UserFactory(family_name="", given_name=""),  # no name: no greeting
        UserFactory(family_name="Smith", given_name="Ann", language="en"),
        UserFactory(email="jiro@例え.jp"),  # not plain ASCII: built the ordinary way
        *UserFactory.create_batch(5),
    ]
    tell(people, "announcement:prepared")
    smtp.clear()
    _relay_again()
    received = {m.rcpt_tos[0].lower(): m for m in smtp.wait_for(len(people))}
    assert len(received) == len(people)
    for row in Email.objects.select_related("recipient"):
        got = next(
            m for address, m in received.items() if m.message_id == row.message_id.strip()
        ).message
        expected = _as_sent_ordinarily(row)
        for header in HEADERS:
            # (the ordinary way folds a long header line: the same value once unfolded)
            assert _untimed(str(got[header]).strip()) == _untimed(str(expected[header]).strip())
        assert got["Date"]
        assert _parts(got) == _parts(expected), row.recipient.email
    html = _parts(next(m for m in received.values() if "O'Neil" in m.text).message)["html"]
    assert "&lt;b&gt;O&#x27;Neil&lt;/b&gt; &amp; Co" in html
    assert "Smith Ann" in received[people[3].email.lower()].text
    assert "jiro@xn--r8jz45g.jp" in received  # the ordinary way: its domain in ASCII


def test_a_text_with_a_very_long_line_is_built_the_ordinary_way(smtp):
    people = UserFactory.create_batch(3)
    tell(people, "announcement:long", body="長い" * 700)  # beyond 998 bytes: quoted-printable
    smtp.clear()
    _relay_again()
    for message in smtp.wait_for(3):
        row = Email.objects.get(message_id=message.message_id)
        assert _parts(message.message) == _parts(_as_sent_ordinarily(row))
        plain = message.message.get_body(preferencelist=("plain",))
        assert plain["Content-Transfer-Encoding"] == "quoted-printable"
