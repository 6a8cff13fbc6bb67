"""The living town page: what the municipality's staff wrote (``TownPage``) and what the
rooms above places add to it — the town's current tasks (matching), its perks and the
staff's link to edit the page (registry), the published number of its furusato residents
(insights).

places imports none of them (the arrows point down): the page sends ``town_page_sections``
and each room answers from its own ``signals.py`` with a ``TownSection``. A section names
the versions (``core.versions``) its part hangs on, so that the anonymous page's cached
answer moves with them (the board's for the tasks, the town's own for its page and perks).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal

from core.versions import version_bump

from .models import Municipality, TownPage
from .versions import PLACES, town_version

# Sent with ``sender=Municipality``; a receiver returns a ``TownSection`` (or None).
town_page_sections = Signal()


@dataclass(frozen=True)
class TownSection:
    """A part of the page: ``build(request, municipality)`` gives the context of
    ``template`` (or None to leave the part out); ``order`` places it; ``names`` are the
    versions it shows."""

    order: int
    template: str
    build: Callable[..., dict | None]
    names: tuple[str, ...] = ()


def town_sections() -> list[TownSection]:
    answers = town_page_sections.send(sender=Municipality)
    return sorted(
        (section for _receiver, section in answers if section is not None),
        key=lambda section: section.order,
    )


def town_page_names(code: str, sections: list[TownSection]) -> tuple[str, ...]:
    """The versions the page of the town ``code`` hangs on, in a stable order."""
    names = {name for section in sections for name in section.names}
    return (PLACES, town_version(code), *sorted(names))


def town_changed(code: str) -> None:
    """The town's page changes once the current transaction commits."""
    version_bump(town_version(code))


def _page_saved(sender, instance, **kwargs) -> None:
    town_changed(instance.municipality_id)


post_save.connect(_page_saved, sender=TownPage, dispatch_uid="town_page_version:save")
post_delete.connect(_page_saved, sender=TownPage, dispatch_uid="town_page_version:delete")
