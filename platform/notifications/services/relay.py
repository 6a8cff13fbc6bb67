"""The relay: the outbox's e-mails handed to SMTP, at most once where a duplicate hurts
more than a loss, at least once (bounded) where a loss hurts more."""

from __future__ import annotations

import contextlib
import datetime
import logging
import smtplib

from django.conf import settings
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import locks
from ..emails import message_for
from ..models import AT_LEAST_ONCE_TOPICS, Email, EmailState
from ..smtp import SMTP_BACKEND

logger = logging.getLogger(__name__)

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
