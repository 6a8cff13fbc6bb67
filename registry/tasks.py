"""The registry's workers: periodic jobs (beat) and the fan-out of announcements (on the
``notifications`` queue). All idempotent."""

from celery import shared_task

from . import services


@shared_task(name="registry.premium_expire_and_renew")
def premium_expire_and_renew_task() -> dict:
    """Renew premium terms earned by activities; return the others to basic."""
    return services.premium_expire_and_renew()


@shared_task(name="registry.premium_remind")
def premium_remind_task() -> int:
    """Remind premium registrants before their term ends."""
    return services.premium_remind()


@shared_task(name="registry.announcement_fan_out")
def announcement_fan_out_task(announcement_id: int) -> int:
    """Deliver a municipality's announcement to its consenting registrants, in batches."""
    return services.announcement_fan_out(announcement_id=announcement_id)


@shared_task(name="registry.announcements_resume")
def announcements_resume_task() -> int:
    """Announcements whose fan-out stopped: queue them again."""
    return services.announcements_resume()
