from celery import shared_task
from django.contrib.sessions.models import Session
from django.utils import timezone

BATCH = 5000


@shared_task(name="accounts.clear_expired_sessions")
def clear_expired_sessions() -> int:
    """Delete expired login sessions in bounded batches; safe to run any number of times."""
    deleted = 0
    while True:
        keys = list(
            Session.objects.filter(expire_date__lt=timezone.now()).values_list(
                "session_key", flat=True
            )[:BATCH]
        )
        if not keys:
            return deleted
        deleted += Session.objects.filter(session_key__in=keys).delete()[0]
