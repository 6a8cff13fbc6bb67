"""A town's own public page (``places.TownPage``), written by the town's staff: its
description, cover photo and official site. Prefecture staff of its prefecture and national
administrators may write it too (the higher scopes); no one else."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.selectors import staff_scope
from accounts.services import audit_record
from core.errors import Code, Denied
from core.photos import photo_clean
from places.models import Municipality, TownPage

from ..locks import lock_town_page


def may_edit_town_page(*, user, municipality: Municipality) -> bool:
    return staff_scope(user=user).covers_municipality(municipality.code)


def town_page_update(
    *,
    municipality: Municipality,
    actor: User,
    description: str,
    website: str,
    cover_alt: str,
    cover=None,
    remove_cover: bool = False,
) -> TownPage:
    """Write the page; a new ``cover`` (an upload) is checked and re-encoded as task photos
    are (``core.photos``), which drops its metadata."""
    if not may_edit_town_page(user=actor, municipality=municipality):
        raise Denied(_("このまちのページを編集する権限がありません。"), code=Code.NOT_STAFF_HERE)
    cleaned = photo_clean(cover) if cover is not None else None
    with transaction.atomic():
        page = lock_town_page(municipality)
        page.description = description
        page.website = website
        page.cover_alt = cover_alt
        if cleaned is not None:
            page.cover.save(cleaned.name, cleaned, save=False)
        elif remove_cover:
            page.cover = ""
            page.cover_alt = ""
        page.full_clean()
        page.save()
        audit_record(
            actor=actor,
            action="town_page.change",
            target=page,
            municipality=municipality,
            detail={"cover": "new" if cleaned else ("removed" if remove_cover else "kept")},
        )
    return page
