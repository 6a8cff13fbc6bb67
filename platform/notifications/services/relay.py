"""The relay: the outbox's e-mails handed to SMTP, at most once where a duplicate hurts
more than a loss, at least once (bounded) where a loss hurts more."""

from __future__ import annotations

import contextlib
import datetime
import logging
import smtplib

from django.conf import settings
from django.core.mail import get_connection
from django.db import DatabaseError, transaction
from django.db import connection as db_connection
from django.db.models import BooleanField, F, Q, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import locks
from ..emails import Prepared, Renders, message_for
from ..models import AT_LEAST_ONCE_TOPICS, Email, EmailState, Notification
from ..smtp import SMTP_BACKEND

logger = logging.getLogger(__name__)

# Seconds to wait after the n-th failed attempt; after the last, the e-mail has failed.
RETRY_DELAYS = (60, 300, 1800, 7200, 21600)


class _Permanent(Exception):
    """The server refused the message for good (5xx): retrying would not help."""


def _claim(batch: int, now: datetime.datetime) -> tuple[list[int], datetime.datetime]:
    """Take up to ``batch`` due e-mails for this relay for a while (SKIP LOCKED: relays
    running at once take different rows). The claim itself commits synchronously.

    A claim that ran out was a relay's that stopped: what it had not started is taken
    again. Unless the database server started after the claim: the relay's per-message
    commits are asynchronous (below), and a server that stopped may have lost the last
    ones, so any of those rows may have been handed over. They are uncertain."""
    lease = now + datetime.timedelta(seconds=settings.NOTIFICATIONS_RELAY_LEASE_SECONDS)
    with transaction.atomic():
        rows = list(
            locks.claim(Email.objects.filter(state=EmailState.PENDING, next_attempt_at__lte=now))
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .annotate(held=_held_before_restart())
            .order_by("next_attempt_at", "id")
            .values_list("id", "held")[:batch]
        )
        held = [pk for pk, before_restart in rows if before_restart]
        if held:
            _uncertain(
                # Still held: those sent again leave this set (their claim is dropped).
                Email.objects.filter(pk__in=held, claimed_until__isnull=False),
                now,
                "uncertain: the database restarted while a relay held it",
            )
        ids = [pk for pk, before_restart in rows if not before_restart]
        Email.objects.filter(pk__in=ids).update(claimed_until=lease, claimed_at=Now())
    if held and not ids:
        return _claim(batch, now)
    return ids, lease


def _held_before_restart():
    """Whether a row was claimed before the database server last started (see ``_claim``).
    The embedded SQLite database commits every message synchronously: nothing to lose."""
    if db_connection.vendor != "postgresql":
        return Value(False, output_field=BooleanField())
    return RawSQL(
        "claimed_until IS NOT NULL AND claimed_at IS NOT NULL "
        "AND claimed_at < pg_postmaster_start_time()",
        [],
        output_field=BooleanField(),
    )


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

    Each e-mail is marked sending (committed) just before it goes, and sent just after: in
    one statement with the next one's start, so a relay commits once per message and holds
    one row at most in sending. An attempt whose fate is unknown — a worker or database
    killed in between (the row stays in sending, ``emails_recover``), or a connection
    dropped or timed out after the message was handed over (DATA) — is *uncertain*: never
    sent again at once; sent again later only for an at-least-once topic
    (``AT_LEAST_ONCE_TOPICS``, same Message-ID, bounded). Transient failures before the
    hand-over (4xx, connection trouble) wait and retry with backoff; a permanent refusal
    (5xx) fails at once. Relays running at once claim different rows (SKIP LOCKED)."""
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
            _Batch(connection).deliver(ids, counts)
        finally:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                connection.close()
    if not counts["uncertain"]:
        del counts["uncertain"]  # the usual answer stays as it was
    return counts


# The e-mail ``start`` goes to sending, and the one sent before it (``sent``, if any) is
# recorded as sent, in one statement: one commit per message. The commit is asynchronous
# (set_config(..., true): for this transaction only): it does not wait for the disk, and
# it is lost only if the database server itself stops within the next fraction of a
# second — never when the relay or its connection dies, which is what the sending mark is
# for. A server that stopped is caught by ``_claim``: what relays held then is uncertain.
# (The embedded SQLite database has no such setting: its commits stay synchronous.)
_START_SQL = """
UPDATE notifications_email SET
    state = CASE WHEN id = %(start)s THEN 'sending' ELSE 'sent' END,
    sending_since = CASE WHEN id = %(start)s THEN %(now)s ELSE sending_since END,
    sent_at = CASE WHEN id = %(start)s THEN sent_at ELSE %(now)s END,
    attempts = attempts + CASE WHEN id = %(start)s THEN 0 ELSE 1 END
{asynchronous}
WHERE (id = %(start)s AND state = 'pending') OR (id = %(sent)s AND state = 'sending')
RETURNING id
"""
_ASYNCHRONOUS = "FROM (SELECT set_config('synchronous_commit', 'off', true)) AS asynchronous"

# E-mails read at a time: their rows, people and notifications in two queries.
_READ_AHEAD = 50


class _Batch:
    """One claimed batch on one SMTP connection."""

    def __init__(self, connection):
        self.connection = connection
        self.renders = Renders()
        # The relay's own SMTP connection takes messages as bytes, built for many at once.
        self.prepared = Prepared(self.renders) if hasattr(connection, "send_raw") else None
        self.sent: int | None = None  # handed over and answered, not yet recorded

    def deliver(self, ids: list[int], counts: dict[str, int]) -> None:
        try:
            for start in range(0, len(ids), _READ_AHEAD):
                chunk = ids[start : start + _READ_AHEAD]
                emails = Email.objects.select_related("recipient").in_bulk(chunk)
                carried = _carried(emails.values())
                for pk in chunk:
                    email = emails.get(pk)
                    if email is None:
                        counts["skipped"] += 1  # gone with its person
                        continue
                    counts[self._deliver(email, carried.get((email.recipient_id, email.key)))] += 1
        except BaseException:
            if self.sent is not None:
                with contextlib.suppress(DatabaseError):
                    self._record_sent()
            raise
        if self.sent is not None:
            self._record_sent()

    def _start(self, pk: int | None) -> bool:
        with db_connection.cursor() as cursor:
            asynchronous = _ASYNCHRONOUS if db_connection.vendor == "postgresql" else ""
            cursor.execute(
                _START_SQL.format(asynchronous=asynchronous),
                {"start": pk, "sent": self.sent, "now": timezone.now()},
            )
            done = {row[0] for row in cursor.fetchall()}
        self.sent = None
        return pk in done

    def _record_sent(self) -> None:
        self._start(None)

    def _deliver(self, email: Email, notification: Notification | None) -> str:
        pk = email.pk
        if not self._start(pk):
            return "skipped"  # another relay took it after our lease ran out
        recipient = email.recipient
        if not recipient.is_active or not recipient.email:
            _finish(pk, EmailState.FAILED, _("宛先のアカウントが無効です。"))
            return "failed"
        try:
            carried = None if email.digest else [notification] if notification else []
            if self.prepared is not None:
                message = self.prepared.message_for(email, carried)
            else:
                message = message_for(email, carried, self.renders)
            if hasattr(message, "message"):
                message.message()  # headers checked before anything goes out
        except Exception as exc:  # a message that cannot be built never will be: not transient
            logger.exception("E-mail %s cannot be built", pk)
            _finish(pk, EmailState.FAILED, f"cannot be built: {exc!r}")
            return "failed"
        if message is None:
            _finish(pk, EmailState.FAILED, "nothing to send")
            return "failed"
        outcome = _send(pk, message, self.connection)
        if outcome == "sent":
            self.sent = pk  # recorded with the next start, or at the end of the batch
        return outcome


def _carried(emails) -> dict[tuple[int, str], Notification]:
    """The notification each e-mail of one notification carries (digests read their own)."""
    single = [email for email in emails if not email.digest]
    if not single:
        return {}
    rows = Notification.objects.filter(
        recipient_id__in={email.recipient_id for email in single},
        key__in={email.key for email in single},
    )
    return {(row.recipient_id, row.key): row for row in rows}


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


def _send(pk: int, message, connection) -> str:
    """Hand ``message`` (e-mail ``pk``, in sending) to the server; what came of it."""
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
