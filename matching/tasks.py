"""The board's workers: periodic jobs (beat) and the matcher (``matching`` queue). All are
idempotent and bounded; what they do is due by rows in the database, so a run that is lost
or repeated changes nothing."""

from celery import shared_task

from . import services


@shared_task(name="matching.offers_expire")
def offers_expire_task() -> int:
    """Offers to the waiting list not confirmed in time pass to the next person."""
    return services.offers_expire()


@shared_task(name="matching.tasks_advance")
def tasks_advance_task() -> dict:
    """Close tasks past their last sign-up deadline; complete tasks that have ended."""
    return services.tasks_advance()


@shared_task(name="matching.task_match")
def task_match_task(task_id: int) -> dict:
    """Rank the people a published or changed task suits, store them, tell the best."""
    return services.task_match(task_id=task_id)


@shared_task(name="matching.matches_sweep")
def matches_sweep_task() -> int:
    """Queue matcher requests that no worker took (the broker was down)."""
    return services.matches_sweep()


@shared_task(name="matching.person_refresh")
def person_refresh_task(person_id: int) -> int:
    """A person's recommendations, after their profile or registrations changed."""
    return services.person_recommendations_refresh(person_id=person_id)


@shared_task(name="matching.person_refresh_sweep")
def person_refresh_sweep_task() -> int:
    """Queue recommendation refreshes that no worker took (the broker was down)."""
    return services.person_refresh_sweep()


@shared_task(name="matching.reminders_send")
def reminders_send_task() -> int:
    """Reminders before the sessions people are confirmed for."""
    return services.reminders_send()


@shared_task(name="matching.sessions_understaffed")
def sessions_understaffed_task() -> int:
    """Tell hosts and staff of sessions not filled days before; widen the matcher's net."""
    return services.sessions_understaffed()


@shared_task(name="matching.roster_details_purge")
def roster_details_purge_task() -> int:
    """Delete the roster details of sessions that ended more than the retention period ago."""
    return services.roster_details_purge()


@shared_task(name="matching.requests_remind")
def requests_remind_task() -> int:
    """Remind hosts of requests that have waited too long for their decision."""
    return services.requests_remind()
