"""Every write of the inbox, the outbox and the preferences.

Call ``notification_send`` inside the transaction of the change that causes the
notification: the inbox row and the outbox e-mail are then written exactly when the change
is, and the relay (``email_relay``) delivers the e-mail after the commit: at least once for
the topics where a lost e-mail hurts, at most once for the others.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import smtplib
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Language, User
from core.queue import enqueue

from . import locks
from .emails import message_for
from .errors import NotificationsCode
from .models import (
    AT_LEAST_ONCE_TOPICS,
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
from .smtp import SMTP_BACKEND
from .tokens import unsubscribe_read

logger = logging.getLogger(__name__)


# --- Sending -----------------------------------------------------------------------------


def _chunks(ids: list[int], size: int = 5000):
    """``ids`` in slices small enough for one ``IN`` list."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def frequencies_of(*, person_ids: Iterable[int], topic: str) -> dict[int, tuple[str, str]]:
    """{person: (inbox frequency, e-mail frequency)} for ``topic``, defaults filled in."""
    ids = list(person_ids)
    chosen: dict[tuple[int, str], str] = {}
    for chunk in _chunks(ids):
        for person, channel, frequency in Preference.objects.filter(
            person_id__in=chunk, topic=topic
        ).values_list("person_id", "channel", "frequency"):
            chosen[(person, channel)] = frequency
    return {
        pk: (
            chosen.get((pk, Channel.INBOX), default_frequency(topic, Channel.INBOX)),
            chosen.get((pk, Channel.EMAIL), default_frequency(topic, Channel.EMAIL)),
        )
        for pk in ids
    }


def _over_weekly_cap(ids: list[int], topic: str, cap: int, now: datetime.datetime) -> set[int]:
    since = now - datetime.timedelta(days=7)
    over: set[int] = set()
    for chunk in _chunks(ids):
        rows = (
            Notification.objects.filter(recipient_id__in=chunk, topic=topic, created_at__gte=since)
            .values("recipient_id")
            .annotate(n=Count("id"))
            .filter(n__gte=cap)
            .values_list("recipient_id", flat=True)
        )
        over.update(rows)
    return over


def notification_send(
    *,
    recipients: Iterable[Any],
    kind: str,
    topic: str,
    key: str,
    context: dict[str, Any],
    url: str = "",
    weekly_cap: int | None = None,
    personal: Mapping[int, dict[str, Any]] | None = None,
    author: Any = None,
    author_keys: Iterable[str] = (),
) -> list[int]:
    """Tell each recipient (users or user ids) of ``kind``, as each chose for ``topic``:
    an inbox row, and an outbox e-mail now or a place in their next digest.

    Idempotent: a recipient who already has ``key`` gets nothing new. With ``weekly_cap``,
    people who already had that many notifications of the topic in the last seven days are
    passed over. ``personal`` adds to the context per recipient id (the matcher's reasons).
    ``author`` (a user or id) is the person whose own words or name the context carries
    under ``author_keys``: they are scrubbed when that person deletes their account.
    Returns the ids of the people told. ``context`` must be JSON."""
    ids = sorted({getattr(r, "pk", r) for r in recipients if r is not None})
    if not ids:
        return []
    author_id = getattr(author, "pk", author)
    keys = sorted(set(author_keys)) if author_id is not None else []
    if not set(keys) <= set(context):
        raise ValueError(f"author_keys not in the context: {sorted(set(keys) - set(context))}")
    with transaction.atomic():
        return _send(ids, kind, topic, key, context, url, weekly_cap, personal, author_id, keys)


def _send(
    ids, kind, topic, key, context, url, weekly_cap, personal, author_id, author_keys
) -> list[int]:
    now = timezone.now()
    if weekly_cap is not None:
        # The recipients' rows, in id order, so that two matchers cannot both see room
        # under the cap for the same person.
        locks.lock_people(ids)
        over = _over_weekly_cap(ids, topic, weekly_cap, now)
        ids = [pk for pk in ids if pk not in over]
    # Who has this key already gets nothing again: no second inbox row, and no e-mail for a
    # notification that was (or will be) mailed already.
    known: set[int] = set()
    for chunk in _chunks(ids):
        known.update(
            Notification.objects.filter(recipient_id__in=chunk, key=key).values_list(
                "recipient_id", flat=True
            )
        )
    ids = [pk for pk in ids if pk not in known]
    notifications: list[Notification] = []
    emails: list[Email] = []
    told: list[int] = []
    for pk, (inbox, email) in frequencies_of(person_ids=ids, topic=topic).items():
        if inbox == Frequency.NEVER and email == Frequency.NEVER:
            continue
        told.append(pk)
        notifications.append(
            Notification(
                recipient_id=pk,
                kind=kind,
                topic=topic,
                key=key,
                context={**context, **personal[pk]} if personal and pk in personal else context,
                url=url,
                created_at=now,
                in_inbox=inbox != Frequency.NEVER,
                digest=email if email in DIGEST_FREQUENCIES else "",
                author_id=author_id,
                author_keys=list(author_keys),
            )
        )
        if email == Frequency.IMMEDIATELY:
            emails.append(Email(recipient_id=pk, key=key, topic=topic, created_at=now))
    Notification.objects.bulk_create(notifications, batch_size=1000, ignore_conflicts=True)
    if emails:
        Email.objects.bulk_create(emails, batch_size=1000, ignore_conflicts=True)
        _relay_soon()
    return told


def _relay_soon() -> None:
    enqueue("notifications.relay")


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


# --- Digests -----------------------------------------------------------------------------


def _digest_cutoff(period: str, now: datetime.datetime) -> tuple[datetime.datetime, str]:
    """The start of the current day (daily) or ISO week (weekly), local time, and the
    label of the period that ended there."""
    today = timezone.localdate(now)
    if period == Frequency.DAILY:
        start = today
        label = (today - datetime.timedelta(days=1)).isoformat()
    else:
        start = today - datetime.timedelta(days=today.weekday())
        year, week, _day = (start - datetime.timedelta(days=1)).isocalendar()
        label = f"{year}-W{week:02d}"
    return timezone.make_aware(datetime.datetime.combine(start, datetime.time.min)), label


def digests_send(*, now: datetime.datetime | None = None, max_people: int = 5000) -> int:
    """Bundle what waited for a daily or weekly digest, for the day or week that has ended,
    into one e-mail per person. Idempotent (a notification is bundled once, under lock);
    beat runs it hourly, so a missed hour only delays. Returns the digests written."""
    now = now or timezone.now()
    written = 0
    for period in DIGEST_FREQUENCIES:
        cutoff, label = _digest_cutoff(period, now)
        due = Notification.objects.filter(digest=period, digest_key="", created_at__lt=cutoff)
        people = list(
            due.order_by("recipient_id")
            .values_list("recipient_id", flat=True)
            .distinct()[:max_people]
        )
        for person_id in people:
            with transaction.atomic():
                items = list(
                    locks.claim(due.filter(recipient_id=person_id))
                    .order_by("id")
                    .values_list("id", "topic")
                )
                if not items:
                    continue
                key = f"digest:{period}:{label}:{items[0][0]}"
                Notification.objects.filter(pk__in=[pk for pk, _t in items]).update(digest_key=key)
                Email.objects.create(recipient_id=person_id, key=key, digest=period, created_at=now)
                written += 1
        if written:
            _relay_soon()
    return written


# --- The relay ---------------------------------------------------------------------------

# Seconds to wait after the n-th failed attempt; after the last, the e-mail has failed.
RETRY_DELAYS = (60, 300, 1800, 7200, 21600)


class _Permanent(Exception):
    """The server refused the message for good (5xx): retrying would not help."""


def _claim(batch: int, now: datetime.datetime) -> tuple[list[int], datetime.datetime]:
    """Take up to ``batch`` due e-mails for this relay for a while (SKIP LOCKED: relays
    running at once take different rows)."""
    lease = now + datetime.timedelta(seconds=settings.NOTIFICATIONS_RELAY_LEASE_SECONDS)
    with transaction.atomic():
        ids = list(
            locks.claim(Email.objects.filter(state=EmailState.PENDING, next_attempt_at__lte=now))
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .order_by("next_attempt_at", "id")
            .values_list("id", flat=True)[:batch]
        )
        Email.objects.filter(pk__in=ids).update(claimed_until=lease)
    return ids, lease


def _relay_connection():
    """One SMTP connection for a batch: ours (it knows whether a message was handed over)
    when e-mail goes out by SMTP; the configured backend otherwise (files, memory)."""
    if settings.EMAIL_BACKEND == SMTP_BACKEND:
        return get_connection(
            "notifications.smtp.RelayBackend", timeout=settings.NOTIFICATIONS_SMTP_TIMEOUT
        )
    return get_connection(timeout=settings.NOTIFICATIONS_SMTP_TIMEOUT)


def email_relay(*, batch: int = 200, max_messages: int = 2000) -> dict[str, int]:
    """Deliver due e-mails from the outbox over one SMTP connection per batch.

    Each e-mail is marked sending (committed) just before it goes, and sent just after. An
    attempt whose fate is unknown — a worker or database killed in between (the row stays
    in sending, ``emails_recover``), or a connection dropped or timed out after the message
    was handed over (DATA) — is *uncertain*: never sent again at once; sent again later
    only for an at-least-once topic (``AT_LEAST_ONCE_TOPICS``, same Message-ID, bounded).
    Transient failures before the hand-over (4xx, connection trouble) wait and retry with
    backoff; a permanent refusal (5xx) fails at once."""
    counts = {"sent": 0, "retry": 0, "failed": 0, "skipped": 0, "uncertain": 0}
    while sum(counts.values()) < max_messages:
        ids, lease = _claim(batch, timezone.now())
        if not ids:
            break
        connection = _relay_connection()
        try:
            connection.open()
        except (OSError, smtplib.SMTPException) as exc:
            # The server is unreachable: nothing was tried, so no attempt is counted (an
            # outage of any length fails nobody); the rows wait a minute, if still ours.
            Email.objects.filter(pk__in=ids, state=EmailState.PENDING, claimed_until=lease).update(
                claimed_until=None,
                next_attempt_at=timezone.now() + datetime.timedelta(seconds=RETRY_DELAYS[0]),
                last_error=repr(exc)[:500],
            )
            logger.warning("SMTP server unreachable, %s e-mails wait: %r", len(ids), exc)
            counts["retry"] += len(ids)
            break
        try:
            for pk in ids:
                counts[_deliver(pk, connection)] += 1
        finally:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                connection.close()
    if not counts["uncertain"]:
        del counts["uncertain"]  # the usual answer stays as it was
    return counts


def _handed_over(connection) -> bool:
    return bool(getattr(connection, "handed_over", False))


def _send_on(connection, message) -> None:
    """Send ``message``; an idle connection the server had closed is opened again once,
    but only if nothing was handed over on it (else the failure is the caller's)."""
    begin = getattr(connection, "begin", None)
    if begin is not None:
        begin()
    try:
        message.send()
    except smtplib.SMTPServerDisconnected:
        if _handed_over(connection):
            raise
        with contextlib.suppress(OSError, smtplib.SMTPException):
            connection.close()
        connection.open()
        if begin is not None:
            begin()
        message.send()


def _deliver(pk: int, connection) -> str:

    started = Email.objects.filter(pk=pk, state=EmailState.PENDING).update(
        state=EmailState.SENDING, sending_since=timezone.now()
    )
    if not started:
        return "skipped"  # another relay took it after our lease ran out
    email = Email.objects.select_related("recipient").get(pk=pk)
    recipient = email.recipient
    if not recipient.is_active or not recipient.email:
        _finish(pk, EmailState.FAILED, _("宛先のアカウントが無効です。"))
        return "failed"
    try:
        message = message_for(email)
        if message is not None:
            message.message()  # headers checked before anything goes out
    except Exception as exc:  # a message that cannot be built never will be: not transient
        logger.exception("E-mail %s cannot be built", pk)
        _finish(pk, EmailState.FAILED, f"cannot be built: {exc!r}")
        return "failed"
    if message is None:
        _finish(pk, EmailState.FAILED, "nothing to send")
        return "failed"
    try:
        message.connection = connection
        try:
            _send_on(connection, message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _msg in exc.recipients.values()]
            if codes and all(500 <= code < 600 for code in codes):
                raise _Permanent(str(exc)) from exc
            raise
        except smtplib.SMTPResponseException as exc:
            if 500 <= exc.smtp_code < 600:
                raise _Permanent(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
            raise
    except _Permanent as exc:
        _finish(pk, EmailState.FAILED, str(exc))
        return "failed"
    except smtplib.SMTPResponseException as exc:  # a clear "not now" (4xx): not taken
        return _attempt_failed(pk, exc)
    except (OSError, smtplib.SMTPException) as exc:
        # The connection is of no use now (a late reply may still come down it).
        handed_over = _handed_over(connection)
        drop = getattr(connection, "drop", None)
        if drop is not None:
            drop()
        if not handed_over:
            return _attempt_failed(pk, exc)
        # The server had the message and no answer came: it may have arrived.
        _uncertain(Email.objects.filter(pk=pk, state=EmailState.SENDING), timezone.now(), exc)
        return "uncertain"
    Email.objects.filter(pk=pk).update(
        state=EmailState.SENT, sent_at=timezone.now(), attempts=email.attempts + 1
    )
    return "sent"


def _uncertain(rows, now: datetime.datetime, reason: BaseException | str) -> int:
    """Rows (in sending) whose last attempt may or may not have arrived: those of an
    at-least-once topic with resends left go back to pending, later (backoff: the
    configured wait, doubled each time); the others are uncertain for good."""
    error = (reason if isinstance(reason, str) else f"uncertain: {reason!r}")[:500]
    limit = settings.NOTIFICATIONS_UNCERTAIN_RESENDS
    again = rows.filter(digest="", topic__in=AT_LEAST_ONCE_TOPICS, resends__lt=limit)
    resent = 0
    for resends in range(limit):
        wait = settings.NOTIFICATIONS_UNCERTAIN_RETRY_SECONDS * 2**resends
        resent += again.filter(resends=resends).update(
            state=EmailState.PENDING,
            resends=resends + 1,
            attempts=F("attempts") + 1,
            claimed_until=None,
            sending_since=None,
            next_attempt_at=now + datetime.timedelta(seconds=wait),
            last_error=error,
        )
    given_up = rows.update(
        state=EmailState.UNCERTAIN, attempts=F("attempts") + 1, claimed_until=None, last_error=error
    )
    if resent:
        logger.warning("%s e-mails of uncertain fate will be sent again", resent)
    if given_up:
        logger.error("%s e-mails of uncertain fate are not sent again", given_up)
    return resent + given_up


def _finish(pk: int, state: str, error: str) -> None:
    Email.objects.filter(pk=pk, state=EmailState.SENDING).update(
        state=state, last_error=error[:500], claimed_until=None
    )


def _attempt_failed(pk: int, exc: BaseException) -> str:
    email = Email.objects.get(pk=pk)
    attempts = email.attempts + 1
    if attempts > len(RETRY_DELAYS):
        Email.objects.filter(pk=pk, state=EmailState.SENDING).update(
            state=EmailState.FAILED, attempts=attempts, last_error=repr(exc)[:500]
        )
        logger.error("E-mail %s failed for good after %s attempts: %r", pk, attempts, exc)
        return "failed"
    Email.objects.filter(pk=pk, state=EmailState.SENDING).update(
        state=EmailState.PENDING,
        attempts=attempts,
        claimed_until=None,
        sending_since=None,
        next_attempt_at=timezone.now() + datetime.timedelta(seconds=RETRY_DELAYS[attempts - 1]),
        last_error=repr(exc)[:500],
    )
    logger.warning("E-mail %s: attempt %s failed, retried later: %r", pk, attempts, exc)
    return "retry"


def emails_recover(*, now: datetime.datetime | None = None) -> int:
    """E-mails left in sending by a worker (or a database connection) that died: the SMTP
    server may have taken them. Of an at-least-once topic they are sent again later, a
    bounded number of times, with the same Message-ID; the others are marked uncertain and
    never sent again (at most once)."""
    now = now or timezone.now()
    stale = now - datetime.timedelta(seconds=settings.NOTIFICATIONS_SENDING_STALE_SECONDS)
    count = _uncertain(
        Email.objects.filter(state=EmailState.SENDING, sending_since__lt=stale),
        now,
        "uncertain: the worker stopped while sending",
    )
    if count:
        logger.error("%s e-mails were being sent when a worker stopped", count)
    return count
