"""The relay's SMTP connection: Django's SMTP backend that also knows whether the message
was handed over (the DATA command sent). A failure after that point — the connection
dropped after the server took the message, or a reply slower than the timeout — leaves the
message's fate unknown: it may have arrived, so it must not be sent again at once."""

from __future__ import annotations

import contextlib
import smtplib

from django.core.mail.backends.smtp import EmailBackend

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


class _HandOverTracking:
    data_sent = False

    def data(self, msg):
        self.data_sent = True
        return super().data(msg)


class _SMTP(_HandOverTracking, smtplib.SMTP):
    pass


class _SMTPSSL(_HandOverTracking, smtplib.SMTP_SSL):
    pass


class RelayBackend(EmailBackend):
    @property
    def connection_class(self):
        return _SMTPSSL if self.use_ssl else _SMTP

    def begin(self) -> None:
        """Before each message: nothing handed over yet."""
        if self.connection is not None:
            self.connection.data_sent = False

    def send_raw(self, sender: str, recipients: list[str], data: bytes) -> None:
        """Send a message already made into bytes (``notifications.emails.Outgoing``)."""
        if self.connection is None:
            raise smtplib.SMTPServerDisconnected("not connected")
        self.connection.sendmail(sender, recipients, data)

    @property
    def handed_over(self) -> bool:
        """Whether the last message's DATA went to the server."""
        return bool(getattr(self.connection, "data_sent", False))

    def drop(self) -> None:
        """Close the connection without a word (a late reply may still be on its way: the
        next message needs a fresh connection)."""
        for conn in (self.connection, self._partial_connection):
            if conn is not None:
                with contextlib.suppress(OSError):
                    conn.close()
        self.connection = self._partial_connection = None
