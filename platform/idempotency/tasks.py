from celery import shared_task

from . import services


@shared_task(name="idempotency.keys_sweep")
def keys_sweep() -> int:
    """Forget the keys whose time is over (a key found expired is also dropped on use)."""
    return services.keys_sweep()
