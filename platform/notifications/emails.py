"""An outbox row as the e-mail the person receives: in their language, plain text and
HTML, with the one-click unsubscribe headers of RFC 8058 and the row's fixed Message-ID."""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
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
        topics = sorted({item["topic"] for item in items})
        unsubscribe_url = _absolute(
            reverse(
                "notifications:unsubscribe",
                args=[unsubscribe_token(person_id=person.pk, topics=topics)],
            )
        )
        if email.digest:
            if email.digest == Frequency.DAILY:
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
            "digest": email.digest,
            "name": person.public_name,
            "settings_url": _absolute(reverse("notifications:settings")),
            "unsubscribe_url": unsubscribe_url,
            "site_url": settings.SITE_URL,
        }
        text = render_to_string("notifications/email/message.txt", context)
        html = render_to_string("notifications/email/message.html", context)
        prefix = _("[Furusato] ")
    message = RelayMessage(
        subject=" ".join(f"{prefix}{subject}".split()),  # one line, whatever a title held
        body=text,
        to=[person.email],
        headers={
            "Message-ID": email.message_id,
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(html, "text/html")
    return message
