"""Every write of the inbox, the outbox and the preferences.

Call ``notification_send`` inside the transaction of the change that causes the
notification: the inbox row and the outbox e-mail are then written exactly when the change
is, and the relay (``email_relay``) delivers the e-mail after the commit: at least once for
the topics where a lost e-mail hurts, at most once for the others.

One module per topic (``sending``, ``inbox``, ``digests``, ``relay``); the public names are
all here, so callers say ``from notifications.services import notification_send``.
"""

from __future__ import annotations

from .digests import digests_send
from .inbox import (
    inbox_data_of,
    inbox_delete,
    notifications_mark_read,
    notifications_scrub_author,
    preferences_of,
    preferences_set,
    unsubscribe,
)
from .relay import RETRY_DELAYS, email_relay, emails_recover
from .sending import (
    Send,
    frequencies_of,
    notification_send,
    notification_send_many,
)

__all__ = [
    "RETRY_DELAYS",
    "Send",
    "digests_send",
    "email_relay",
    "emails_recover",
    "frequencies_of",
    "inbox_data_of",
    "inbox_delete",
    "notification_send",
    "notification_send_many",
    "notifications_mark_read",
    "notifications_scrub_author",
    "preferences_of",
    "preferences_set",
    "unsubscribe",
]
