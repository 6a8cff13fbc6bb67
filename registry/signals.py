"""The registry's part in a person's rights (export and account deletion) and in the town
page (its perks; its staff's link to edit it)."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.signals import account_deleting, personal_data_requested
from places.town_page import TownSection, town_changed, town_page_sections

from .models import Perk
from .selectors import perks_of
from .services import may_edit_town_page, registry_anonymise, registry_data_of


@receiver(personal_data_requested)
def export_registry_data(sender, user, **kwargs):
    return "registry", registry_data_of(user=user)


@receiver(account_deleting)
def anonymise_registry_data(sender, user, **kwargs) -> None:
    registry_anonymise(user=user)


# The town page (places.town_page): the town's perks, and the link its staff edit it by.
def _perks(request, municipality) -> dict:
    return {"perks": list(perks_of(municipality=municipality))}


def _edit_link(request, municipality) -> dict | None:
    user = getattr(request, "user", None)
    if user is None or not may_edit_town_page(user=user, municipality=municipality):
        return None
    return {}


@receiver(town_page_sections)
def town_perks_section(sender, **kwargs) -> TownSection:
    return TownSection(order=20, template="registry/includes/town_perks.html", build=_perks)


@receiver(town_page_sections)
def town_edit_section(sender, **kwargs) -> TownSection:
    return TownSection(order=0, template="registry/includes/town_edit.html", build=_edit_link)


def _perk_changed(sender, instance, **kwargs) -> None:
    town_changed(instance.municipality_id)


post_save.connect(_perk_changed, sender=Perk, dispatch_uid="town_page_version:perk_save")
post_delete.connect(_perk_changed, sender=Perk, dispatch_uid="town_page_version:perk_delete")
