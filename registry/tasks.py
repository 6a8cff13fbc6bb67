"""Periodic jobs of the registry (beat runs them; both are idempotent)."""

from celery import shared_task

from .services import premium_expire_and_renew, premium_remind


@shared_task(name="registry.premium_expire_and_renew")
def premium_expire_and_renew_task() -> dict:
    """Renew premium terms earned by activities; return the others to basic."""
    return premium_expire_and_renew()


@shared_task(name="registry.premium_remind")
def premium_remind_task() -> int:
    """Remind premium registrants before their term ends."""
    return premium_remind()
