"""The statistics' workers, on the ``stats`` queue: idempotent, one run at a time (the
state row's lock), safe to repeat."""

from celery import shared_task

from . import services


@shared_task(name="insights.counts_update", acks_late=True)
def counts_update_task() -> dict:
    """Bring the counts and the published figures up to date with the registry and board."""
    return services.counts_update()


@shared_task(
    name="insights.counts_rebuild",
    acks_late=True,
    soft_time_limit=3 * 60 * 60,
    time_limit=3 * 60 * 60 + 300,
)
def counts_rebuild_task() -> dict:
    """Count everything again from the raw rows (nightly)."""
    return services.counts_rebuild()
