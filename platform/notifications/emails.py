"""An outbox row as the e-mail the person receives: in their language, plain text and
HTML, with the one-click unsubscribe headers of RFC 8058 and the row's fixed Message-ID."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable
from email.utils import formatdate

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import sanitize_address
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import Email, Frequency, Notification
from .tokens import unsubscribe_token


def _absolute(url: str) -> str:
    if not url or url.startswith(("http://", "https://")):
        return url
    return settings.SITE_URL.rstrip("/") + url


class RelayMessage(EmailMultiAlternatives):
    """Built once: the relay checks the headers before anything goes out, and the backend
    sends that very message (the MIME tree of a Japanese text is costly to make)."""

    _built = None

    def message(self):
        if self._built is None:
            self._built = super().message()
        return self._built


class Renders:
    """(subject, body) of notifications already rendered in this language: the relay's
    batch of an announcement renders its text once, not once per person."""

    def __init__(self):
        self._done: dict[tuple, tuple[str, str]] = {}

    def of(self, notification: Notification) -> tuple[str, str]:
        key = (
            translation.get_language(),
            notification.kind,
            notification.author_deleted,
            tuple(notification.author_keys),
            json.dumps(notification.context, sort_keys=True),
        )
        if key not in self._done:
            self._done[key] = notification.rendered()
        return self._done[key]


def _items(
    email: Email, notifications: Iterable[Notification] | None, renders: Renders | None
) -> list[dict[str, str]]:
    if notifications is not None:
        pass  # read with the relay's batch
    elif email.digest:
        notifications = Notification.objects.filter(
            recipient_id=email.recipient_id, digest_key=email.key
        ).order_by("created_at", "id")
    else:
        notifications = Notification.objects.filter(recipient_id=email.recipient_id, key=email.key)[
            :1
        ]
    items = []
    for notification in notifications:
        subject, body = renders.of(notification) if renders else notification.rendered()
        items.append(
            {
                "topic": notification.topic,
                "subject": subject,
                "body": body,
                "url": _absolute(notification.url),
            }
        )
    return items


def _unsubscribe_url(person, items: list[dict[str, str]]) -> str:
    topics = sorted({item["topic"] for item in items})
    return _absolute(
        reverse(
            "notifications:unsubscribe",
            args=[unsubscribe_token(person_id=person.pk, topics=topics)],
        )
    )


def message_for(
    email: Email,
    notifications: Iterable[Notification] | None = None,
    renders: Renders | None = None,
) -> EmailMultiAlternatives | None:
    """The message of ``email``; None when what it carried is gone. ``notifications``: what
    it carries, when the caller read it already; ``renders``: texts rendered before."""
    person = email.recipient
    with translation.override(person.language or settings.LANGUAGE_CODE):
        items = _items(email, notifications, renders)
        if not items:
            return None
        own = {"name": person.public_name, "unsubscribe_url": _unsubscribe_url(person, items)}
        return _message(
            email.digest, items, to=person.email, message_id=email.message_id, text=own, html=own
        )


def _message(
    digest: str,
    items: list[dict[str, str]],
    *,
    to: str,
    message_id: str,
    text: dict[str, str],
    html: dict[str, str],
) -> RelayMessage:
    """The message of ``items`` in the current language. ``text`` and ``html``: the person's
    own parts (name, unsubscribe link) as each part's template is given them."""
    if digest:
        if digest == Frequency.DAILY:
            subject = ngettext(
                "1日分のお知らせ（%(count)d件）", "1日分のお知らせ（%(count)d件）", len(items)
            ) % {"count": len(items)}
        else:
            subject = ngettext(
                "1週間分のお知らせ（%(count)d件）",
                "1週間分のお知らせ（%(count)d件）",
                len(items),
            ) % {"count": len(items)}
    else:
        subject = items[0]["subject"]
    context = {
        "subject": subject,
        "items": items,
        "digest": digest,
        "settings_url": _absolute(reverse("notifications:settings")),
        "site_url": settings.SITE_URL,
    }
    body = render_to_string("notifications/email/message.txt", context | text)
    page = render_to_string("notifications/email/message.html", context | html)
    prefix = _("[Furusato] ")
    message = RelayMessage(
        subject=" ".join(f"{prefix}{subject}".split()),  # one line, whatever a title held
        body=body,
        to=[to],
        headers={
            "Message-ID": message_id,
            "List-Unsubscribe": f"<{text['unsubscribe_url']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(page, "text/html")
    return message


# Printable ASCII without spaces, commas or semicolons: such a value is written into a
# header line as it is (no encoding, no folding), and into a body part as its bytes.
_PLAIN = re.compile(r"[!-+\--:<-~]{1,900}")
# The longest line a message may have (RFC 5322), less what its own markers take.
_MAX_LINE = 998


class Outgoing:
    """A message as bytes, ready for the relay's SMTP connection (``send_raw``)."""

    def __init__(self, sender: str, recipient: str, data: bytes):
        self.sender = sender
        self.recipient = recipient
        self.data = data
        self.connection = None

    def send(self) -> None:
        self.connection.send_raw(self.sender, [self.recipient], self.data)


class Prepared:
    """The relay's messages for many people of one batch. Those who get the same text in
    the same language share one message, built once by ``_message`` with markers where
    each person's own parts go (name, unsubscribe link) and flattened to bytes; each
    person's message is those bytes with their parts put in, and their own header lines
    (To, Message-ID, Date, List-Unsubscribe) before them. Building and flattening a MIME
    tree of a Japanese text took most of the relay's time.

    What the shared bytes cannot carry safely falls back to ``message_for``: a body part
    that is not 8-bit (quoted-printable for long lines), an address, Message-ID or link
    that is not plain ASCII, or a line that would grow too long."""

    def __init__(self, renders: Renders):
        self.renders = renders
        self._shared: dict[tuple, tuple[bytes, int] | None] = {}
        token = secrets.token_hex(8)
        self._marks = {
            part: f"Zq{part}{token}qZ" for part in ("nametext", "namehtml", "urltext", "urlhtml")
        }
        self._sender = sanitize_address(settings.DEFAULT_FROM_EMAIL, settings.DEFAULT_CHARSET)

    def message_for(
        self, email: Email, notifications: Iterable[Notification] | None
    ) -> Outgoing | EmailMultiAlternatives | None:
        person = email.recipient
        if not (_PLAIN.fullmatch(person.email) and _PLAIN.fullmatch(email.message_id)):
            return message_for(email, notifications, self.renders)
        with translation.override(person.language or settings.LANGUAGE_CODE):
            items = _items(email, notifications, self.renders)
            if not items:
                return None
            name = person.public_name
            key = (
                translation.get_language(),
                email.digest,
                bool(name),
                tuple(tuple(sorted(item.items())) for item in items),
            )
            if key not in self._shared:
                self._shared[key] = self._share(email.digest, items, bool(name))
            shared = self._shared[key]
            url = _unsubscribe_url(person, items)
        if shared is None or not _PLAIN.fullmatch(url) or "\r" in name or "\n" in name:
            return message_for(email, notifications, self.renders)
        data, longest = shared
        parts = {
            "nametext": name.encode(),
            "namehtml": escape(name).encode(),
            "urltext": url.encode(),
            "urlhtml": escape(url).encode(),
        }
        if longest + max(map(len, parts.values())) > _MAX_LINE:
            return message_for(email, notifications, self.renders)
        for part, value in parts.items():
            data = data.replace(self._marks[part].encode(), value)
        head = (
            f"To: {person.email}\r\n"
            f"Date: {formatdate(localtime=settings.EMAIL_USE_LOCALTIME)}\r\n"
            f"Message-ID: {email.message_id}\r\n"
            f"List-Unsubscribe: <{url}>\r\n"
        ).encode()
        return Outgoing(self._sender, person.email, head + data)

    def _share(self, digest: str, items: list[dict[str, str]], named: bool):
        """The shared bytes (without the person's own header lines) and their longest line,
        or None when this text cannot be shared (see the class)."""
        marks = self._marks
        message = _message(
            digest,
            items,
            to="to@marker.invalid",
            message_id="<marker@marker.invalid>",
            text={"name": marks["nametext"] if named else "", "unsubscribe_url": marks["urltext"]},
            html={"name": marks["namehtml"] if named else "", "unsubscribe_url": marks["urlhtml"]},
        ).message()
        for header in ("To", "Date", "Message-ID", "List-Unsubscribe"):
            del message[header]
        if any(
            part.get("Content-Transfer-Encoding", "8bit") not in {"7bit", "8bit"}
            for part in message.walk()
            if not part.is_multipart()
        ):
            return None
        data = message.as_bytes(linesep="\r\n")
        return data, max(map(len, data.split(b"\r\n")))
