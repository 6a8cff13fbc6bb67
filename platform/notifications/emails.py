"""An outbox row as the e-mail the person receives: in their language, plain text and
HTML, with the one-click unsubscribe headers of RFC 8058 and the row's fixed Message-ID."""

from __future__ import annotations

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


def _items(email: Email) -> list[dict[str, str]]:
    if email.digest:
        notifications = Notification.objects.filter(
            recipient_id=email.recipient_id, digest_key=email.key
        ).order_by("created_at", "id")
    else:
        notifications = Notification.objects.filter(recipient_id=email.recipient_id, key=email.key)[
            :1
        ]
    items = []
    for notification in notifications:
        subject, body = notification.rendered()
        items.append(
            {
                "topic": notification.topic,
                "subject": subject,
                "body": body,
                "url": _absolute(notification.url),
            }
        )
    return items


def message_for(email: Email) -> EmailMultiAlternatives | None:
    """The message of ``email``; None when what it carried is gone."""
    person = email.recipient
    with translation.override(person.language or settings.LANGUAGE_CODE):
        items = _items(email)
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
    message = EmailMultiAlternatives(
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
