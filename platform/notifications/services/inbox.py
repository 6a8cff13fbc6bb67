"""The person's side: reading the inbox, their export and deletion, and their choices of
what to receive (preferences, the language of e-mail, one-click unsubscribe)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Language, User

from ..errors import NotificationsCode
from ..models import (
    CHANNEL_FREQUENCIES,
    DELETED_ACCOUNT_STORED,
    DIGEST_FREQUENCIES,
    Channel,
    Email,
    EmailState,
    Frequency,
    Notification,
    Preference,
    Topic,
    default_frequency,
)
from ..tokens import unsubscribe_read

# --- Reading and the person's rights ------------------------------------------------------


def notifications_mark_read(*, user, ids: Iterable[int] | None = None) -> int:
    """Mark the person's own notifications read: these ``ids``, or all of them."""
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.update(read_at=timezone.now())


def inbox_data_of(*, user) -> dict[str, Any]:
    """The person's notifications, e-mails and preferences, JSON-ready (their export)."""
    rows = []
    for notification in Notification.objects.filter(recipient=user).order_by("created_at", "id"):
        subject, body = notification.rendered()
        rows.append(
            {
                "kind": notification.kind,
                "topic": notification.topic,
                "subject": subject,
                "body": body,
                "created_at": notification.created_at.isoformat(),
                "read_at": notification.read_at.isoformat() if notification.read_at else None,
                "in_inbox": notification.in_inbox,
            }
        )
    return {
        "language": user.language,
        "notifications": rows,
        "emails": [
            {
                "key": key,
                "state": state,
                "created_at": created.isoformat(),
                "sent_at": sent.isoformat() if sent else None,
            }
            for key, state, created, sent in Email.objects.filter(recipient=user)
            .order_by("created_at", "id")
            .values_list("key", "state", "created_at", "sent_at")
        ],
        "preferences": [
            {"topic": topic, "channel": channel, "frequency": frequency}
            for topic, channel, frequency in Preference.objects.filter(person=user).values_list(
                "topic", "channel", "frequency"
            )
        ],
    }


def inbox_delete(*, user) -> int:
    """On account deletion: the inbox, the unsent e-mail and the preferences go."""
    deleted = Notification.objects.filter(recipient=user).delete()[0]
    deleted += Email.objects.filter(recipient=user).delete()[0]
    deleted += Preference.objects.filter(person=user).delete()[0]
    return deleted


def notifications_scrub_author(*, user, batch_size: int = 1000) -> int:
    """On account deletion: in other people's notifications, the words and name this person
    wrote (the context keys the sender named as theirs) become ``DELETED_ACCOUNT``, in the
    inbox, the API and the e-mail still waiting to be sent or bundled (rendered when sent).
    Returns how many notifications were scrubbed."""
    scrubbed = 0
    with transaction.atomic():
        while True:
            batch = list(
                Notification.objects.filter(author=user)
                .order_by("pk")
                .only("pk", "context", "author_keys")[:batch_size]
            )
            if not batch:
                return scrubbed
            for notification in batch:
                notification.context = {
                    **notification.context,
                    **dict.fromkeys(notification.author_keys, DELETED_ACCOUNT_STORED),
                }
                notification.author = None
                notification.author_deleted = True
            Notification.objects.bulk_update(
                batch, ["context", "author", "author_deleted"], batch_size=batch_size
            )
            scrubbed += len(batch)


# --- Preferences -------------------------------------------------------------------------


def preferences_of(*, user) -> dict[str, dict[str, str]]:
    """{topic: {channel: frequency}} for every topic, defaults filled in."""
    chosen = {
        (topic, channel): frequency
        for topic, channel, frequency in Preference.objects.filter(person=user).values_list(
            "topic", "channel", "frequency"
        )
    }
    return {
        topic: {
            channel: chosen.get((topic, channel), default_frequency(topic, channel))
            for channel in Channel.values
        }
        for topic in Topic.values
    }


def preferences_set(
    *, user, changes: Iterable[tuple[str, str, str]], language: str | None = None
) -> dict[str, dict[str, str]]:
    """Set (topic, channel, frequency) choices and the language of e-mail. All or nothing:
    an unknown value is a ValidationError naming it and nothing changes."""
    changes = list(changes)
    errors: dict[str, list[ValidationError]] = {}
    for topic, channel, frequency in changes:
        field = f"{topic}.{channel}"
        if topic not in Topic.values:
            errors.setdefault("topic", []).append(
                ValidationError(
                    _("「%(topic)s」というお知らせの種類はありません。") % {"topic": topic},
                    code=NotificationsCode.UNKNOWN_TOPIC,
                )
            )
        elif channel not in Channel.values:
            errors.setdefault(field, []).append(
                ValidationError(
                    _("受け取り方は「inbox」か「email」です。"),
                    code=NotificationsCode.UNKNOWN_CHANNEL,
                )
            )
        elif frequency not in CHANNEL_FREQUENCIES[channel]:
            errors.setdefault(field, []).append(
                ValidationError(
                    _("サイト内のお知らせは「すぐに」か「受け取らない」から選んでください。")
                    if channel == Channel.INBOX and frequency in Frequency.values
                    else _(
                        "頻度は「すぐに」「1日1回まとめて」「週1回まとめて」「受け取らない」から選んでください。"
                    ),
                    code=NotificationsCode.FREQUENCY_NOT_OFFERED,
                )
            )
    if language is not None and language not in Language.values:
        errors["language"] = [
            ValidationError(
                _("言語は日本語（ja）か英語（en）から選んでください。"),
                code=NotificationsCode.UNKNOWN_LANGUAGE,
            )
        ]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        for topic, channel, frequency in changes:
            Preference.objects.update_or_create(
                person=user, topic=topic, channel=channel, defaults={"frequency": frequency}
            )
            if channel == Channel.EMAIL:
                _queued_email_follow(user, topic, frequency)
        if language is not None and language != user.language:
            user.language = language
            user.save(update_fields=["language"])
    return preferences_of(user=user)


def _queued_email_follow(user, topic: str, frequency: str) -> None:
    """What waits to be mailed follows a new choice at once: it moves to the digest now
    chosen, or, when the person wants this topic's e-mail no longer (or one by one from now
    on), it is not mailed at all."""
    waiting = Notification.objects.filter(
        recipient=user, topic=topic, digest_key="", digest__in=DIGEST_FREQUENCIES
    )
    waiting.update(digest=frequency if frequency in DIGEST_FREQUENCIES else "")
    if frequency == Frequency.NEVER:
        Email.objects.filter(
            recipient=user, topic=topic, state=EmailState.PENDING, digest=""
        ).update(state=EmailState.FAILED, last_error="unsubscribed", claimed_until=None)


def unsubscribe(*, token: str) -> tuple[User, list[str]]:
    """One click: no more e-mail of the token's topics (the inbox stays as it is)."""
    person, topics = unsubscribe_read(token)
    preferences_set(user=person, changes=[(t, Channel.EMAIL, Frequency.NEVER) for t in topics])
    return person, topics
