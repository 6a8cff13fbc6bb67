"""The statistics' workers, on the ``stats`` queue: idempotent, one run at a time (the
state row's lock; a rebuild also the rebuild's lock, ``locks``), safe to repeat."""

import logging

from celery import shared_task
from django.conf import settings

from . import services
from .locks import RebuildRunning

logger = logging.getLogger(__name__)


# An update may publish (once a day), which counts the published basis over the whole
# ledger: minutes at national scale, so it has the rebuild's limits, not the default's.
@shared_task(
    name="insights.counts_update",
    acks_late=True,
    soft_time_limit=settings.INSIGHTS_REBUILD_TIME_LIMIT - 300,
    time_limit=settings.INSIGHTS_REBUILD_TIME_LIMIT,
)
def counts_update_task() -> dict:
    """Bring the counts and the published figures up to date with the registry and board."""
    return services.counts_update()


@shared_task(
    name="insights.counts_rebuild",
    acks_late=True,
    soft_time_limit=settings.INSIGHTS_REBUILD_TIME_LIMIT - 300,
    time_limit=settings.INSIGHTS_REBUILD_TIME_LIMIT,
)
def counts_rebuild_task() -> dict:
    """Count everything again from the raw rows (nightly); nothing if a rebuild is running
    (``manage.py stats_rebuild``, say): it counts the same."""
    try:
        return services.counts_rebuild()
    except RebuildRunning:
        logger.warning("insights.counts_rebuild: another rebuild is running; skipped.")
        return {"skipped": "another rebuild is running"}
