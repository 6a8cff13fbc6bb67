"""The notification workers, on the ``notifications`` queue. All idempotent and bounded."""

from celery import shared_task

from . import services


@shared_task(name="notifications.relay")
def email_relay_task() -> dict:
    """Deliver due e-mail from the outbox (kicked after each commit that writes some, and
    swept by beat). Goes on in a new task while more is due."""
    counts = services.email_relay()
    if sum(counts.values()) >= 2000:
        email_relay_task.delay()
        return counts
    return counts


@shared_task(name="notifications.digests_send")
def digests_send_task() -> int:
    """The daily and weekly digests of the period that has ended."""
    return services.digests_send()


@shared_task(name="notifications.emails_recover")
def emails_recover_task() -> int:
    """E-mails a dead worker left in sending: uncertain, never resent."""
    return services.emails_recover()
