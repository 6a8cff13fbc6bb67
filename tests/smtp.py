"""A real SMTP server on this machine for the tests about e-mail (aiosmtpd, in a thread of
the test process). A worker process reaches it with ``EMAIL_URL=smtp://127.0.0.1:<port>``;
the test process itself with ``SmtpServer.settings()`` in ``override_settings``.

It keeps every message it accepted, and can be told to refuse some first, as a real server
does when it is busy (4xx, try again later) or when a mailbox does not exist (5xx), or to
misbehave after it took a message: drop the connection without a reply, or reply late."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import functools
import logging
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from tests.workers import free_port, wait_for


class Received:
    """One message as the server accepted (or refused) it; parsed when first read, so the
    server answers at once."""

    def __init__(self, mail_from: str, rcpt_tos: tuple[str, ...], content: bytes):
        self.mail_from = mail_from
        self.rcpt_tos = rcpt_tos
        self.content = content

    @functools.cached_property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.content, policy=email.policy.default)

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"]).strip()

    @property
    def text(self) -> str:
        """The plain-text part, decoded."""
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""

    def __repr__(self) -> str:
        return f"<Received for {', '.join(self.rcpt_tos)}>"


@dataclass
class _Refusal:
    stage: str  # "RCPT" or "DATA"
    reply: str
    times: int


@dataclass
class _Misbehaviour:
    what: str  # "drop" (close without a reply) or "late" (reply after ``delay`` seconds)
    times: int
    delay: float = 0


@dataclass
class _Handler:
    received: list[Received] = field(default_factory=list)
    refused: list[Received] = field(default_factory=list)
    refusals: dict[str, _Refusal] = field(default_factory=dict)
    misbehaviours: dict[str, _Misbehaviour] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _misbehaviour(self, addresses) -> _Misbehaviour | None:
        with self.lock:
            for address in addresses:
                what = self.misbehaviours.get(address.lower())
                if what is not None and what.times > 0:
                    what.times -= 1
                    return what
        return None

    def _refusal(self, address: str, stage: str) -> str | None:
        with self.lock:
            refusal = self.refusals.get(address.lower())
            if refusal is None or refusal.stage != stage or refusal.times <= 0:
                return None
            refusal.times -= 1
            return refusal.reply

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self._refusal(address, "RCPT")
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        got = Received(envelope.mail_from, tuple(envelope.rcpt_tos), envelope.original_content)
        replies = [self._refusal(address, "DATA") for address in envelope.rcpt_tos]
        reply = next((r for r in replies if r), None)
        with self.lock:
            (self.refused if reply else self.received).append(got)
        if not reply:
            # Taken (it will be delivered), and then the client hears nothing, or late.
            what = self._misbehaviour(envelope.rcpt_tos)
            if what is not None and what.what == "drop":
                server.transport.abort()
                return "250 Message accepted for delivery"  # to a closed connection
            if what is not None:
                await asyncio.sleep(what.delay)
        return reply or "250 Message accepted for delivery"


class SmtpServer:
    """The running server: ``port``, what it ``received``, and refusals to script."""

    def __init__(self, controller: Controller, handler: _Handler):
        self._controller = controller
        self._handler = handler
        self.host = controller.hostname
        self.port = controller.port

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def settings(self) -> dict:
        """Django settings sending to this server from the test process."""
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": self.host,
            "EMAIL_PORT": self.port,
            "EMAIL_USE_TLS": False,
            "EMAIL_USE_SSL": False,
            "EMAIL_HOST_USER": "",
            "EMAIL_HOST_PASSWORD": "",
            "EMAIL_TIMEOUT": 10,
        }

    @property
    def received(self) -> list[Received]:
        with self._handler.lock:
            return list(self._handler.received)

    @property
    def refused(self) -> list[Received]:
        """Messages transmitted in full and then refused at DATA."""
        with self._handler.lock:
            return list(self._handler.refused)

    def to(self, address: str) -> list[Received]:
        address = address.lower()
        return [m for m in self.received if address in (a.lower() for a in m.rcpt_tos)]

    def per_recipient(self) -> Counter:
        """How many accepted messages each address got."""
        return Counter(a.lower() for m in self.received for a in m.rcpt_tos)

    def refuse(self, address: str, reply: str, *, at: str = "DATA", times: int = 1) -> None:
        """Answer ``reply`` (e.g. "451 4.3.0 Try again later") to the next ``times``
        messages for ``address``, at the RCPT or the DATA stage."""
        with self._handler.lock:
            self._handler.refusals[address.lower()] = _Refusal(at, reply, times)

    def misbehave(self, address: str, what: str, *, times: int = 1, delay: float = 40) -> None:
        """After taking the next ``times`` messages for ``address`` (they count as
        received: a real server would deliver them), "drop" the connection without a reply,
        or answer "late", after ``delay`` seconds."""
        assert what in ("drop", "late"), what
        with self._handler.lock:
            self._handler.misbehaviours[address.lower()] = _Misbehaviour(what, times, delay)

    def wait_for(self, count: int, timeout: float = 60) -> list[Received]:
        wait_for(
            lambda: len(self.received) >= count, timeout, f"{count} messages at the SMTP server"
        )
        return self.received

    def clear(self) -> None:
        with self._handler.lock:
            self._handler.received.clear()
            self._handler.refused.clear()
            self._handler.refusals.clear()
            self._handler.misbehaviours.clear()


@contextlib.contextmanager
def smtp_server_running() -> Iterator[SmtpServer]:
    """An SMTP server on a free port of 127.0.0.1 for the length of the block."""
    # aiosmtpd logs each command at INFO: thousands of records in a fan-out.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    handler = _Handler()
    for attempt in range(5):
        controller = Controller(
            handler, hostname="127.0.0.1", port=free_port(), data_size_limit=10_000_000
        )
        try:
            controller.start()
            break
        except (OSError, RuntimeError):  # the port was taken meanwhile
            if attempt == 4:
                raise
    try:
        yield SmtpServer(controller, handler)
    finally:
        controller.stop()
