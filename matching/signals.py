"""The board's part in a person's rights (export, account deletion), and recommendations that
follow a person's profile and registrations."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.signals import account_deleting, personal_data_requested
from places.town_page import TownSection, town_page_sections
from registry.models import Profile, Registration

from .board_version import BOARD
from .selectors import TaskQuery, task_card_facts, task_search
from .services import board_anonymise, board_data_of, person_refresh_request


@receiver(personal_data_requested)
def export_board_data(sender, user, **kwargs):
    return "board", board_data_of(user=user)


@receiver(account_deleting)
def anonymise_board_data(sender, user, **kwargs) -> None:
    board_anonymise(user=user)


@receiver(post_save, sender=Profile)
@receiver(post_save, sender=Registration)
def recommendations_refresh(sender, instance, **kwargs) -> None:
    """A person's profile or registrations changed: their recommendations follow (a request
    row in the same transaction, swept by beat if the queued job is lost)."""
    person_id = instance.user_id if sender is Profile else instance.person_id
    if person_id is not None:
        person_refresh_request(person_id=person_id)


# The town page (places.town_page): the town's current tasks, as the board's cards.
TOWN_TASKS = 6


def _town_tasks(request, municipality) -> dict:
    tasks = task_search(TaskQuery(municipality=municipality.code))
    shown = list(tasks[:TOWN_TASKS])
    facts = task_card_facts(shown)
    return {
        "cards": [{"task": task, **facts.get(task.pk, {"sessions": 0})} for task in shown],
        "total": tasks.count() if len(shown) == TOWN_TASKS else len(shown),
    }


@receiver(town_page_sections)
def town_tasks_section(sender, **kwargs) -> TownSection:
    return TownSection(
        order=10, template="matching/includes/town_tasks.html", build=_town_tasks, names=(BOARD,)
    )
