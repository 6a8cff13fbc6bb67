"""Periodic jobs of the board (beat runs them; both are idempotent and bounded)."""

from celery import shared_task

from .services import offers_expire, tasks_advance


@shared_task(name="matching.offers_expire")
def offers_expire_task() -> int:
    """Offers to the waiting list not confirmed in time pass to the next person."""
    return offers_expire()


@shared_task(name="matching.tasks_advance")
def tasks_advance_task() -> dict:
    """Close tasks past their last sign-up deadline; complete tasks that have ended."""
    return tasks_advance()
