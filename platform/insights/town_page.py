"""The town page's number of furusato residents (places.town_page): the published figure,
as the statistics pages show it — suppressed (秘匿) below ``INSIGHTS_MIN_CELL`` people, with
the time it is counted as of. A page answered from the public cache keeps it at most a
minute past a publication (core.public_cache)."""

from __future__ import annotations

from django.conf import settings
from django.dispatch import receiver

from places.town_page import TownSection, town_page_sections

from .cells import REGISTRATIONS, municipality_area
from .models import Published, State


def _residents(request, municipality) -> dict | None:
    state = State.objects.filter(id=1).values("published_at", "published_as_of").first()
    if not state or state["published_at"] is None:
        return None  # nothing published yet
    # A town's registrations are its people (one registration per person and town).
    row = (
        Published.objects.filter(
            area=municipality_area(municipality.code), measure=REGISTRATIONS, key=""
        )
        .values("value")
        .first()
    )
    return {
        # No cell: no one counted there. A null value: suppressed.
        "people": 0 if row is None else row["value"],
        "as_of": state["published_as_of"] or state["published_at"],
        "threshold": settings.INSIGHTS_MIN_CELL,
        "area_code": municipality.code,
    }


@receiver(town_page_sections)
def town_residents_section(sender, **kwargs) -> TownSection:
    return TownSection(order=5, template="insights/includes/town_residents.html", build=_residents)
