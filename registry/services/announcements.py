"""Announcements from a municipality to the registrants who agreed to hear from it."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.selectors import staff_scope
from accounts.services import audit_record
from core.errors import Code, Conflict, Denied
from core.queue import enqueue, send_now
from notifications.models import Topic
from notifications.services import notification_send
from places.models import Municipality
from places.names import place_ref

from .. import locks
from ..errors import RegistryCode
from ..models import Announcement, AnnouncementState
from ..selectors import announcement_audience


def announcement_create(
    *, municipality: Municipality, actor: User, title: str, body: str
) -> Announcement:
    """The municipality's staff write to the registrants who agreed to hear from it. The
    fan-out starts after the commit and goes on in batches (``announcement_fan_out``)."""
    if not staff_scope(user=actor).manages_municipality(municipality.code):
        raise Denied(_("この市区町村の職員だけがお知らせを送れます。"), code=Code.NOT_STAFF_HERE)
    announcement = Announcement(
        municipality=municipality, author=actor, title=title.strip(), body=body.strip()
    )
    errors: dict[str, ValidationError] = {}
    if not announcement.title:
        errors["title"] = ValidationError(
            _("件名を書いてください。"), code=RegistryCode.TITLE_REQUIRED
        )
    if not announcement.body:
        errors["body"] = ValidationError(
            _("本文を書いてください。"), code=RegistryCode.BODY_REQUIRED
        )
    if errors:
        raise ValidationError(errors)
    announcement.full_clean()
    with transaction.atomic():
        # One at a time per town, so that a form sent twice is caught below.
        locks.municipality_lock(municipality)
        if Announcement.objects.filter(
            municipality=municipality,
            title=announcement.title,
            body=announcement.body,
            created_at__gte=timezone.now() - datetime.timedelta(minutes=10),
        ).exists():
            raise Conflict(
                _(
                    "同じ件名と本文のお知らせを、10分以内にすでに送っています。二重に送られないよう止めました。"
                ),
                code=RegistryCode.ANNOUNCEMENT_DUPLICATE,
            )
        announcement.save()
        audit_record(
            actor=actor,
            action="announcement.create",
            target=announcement,
            municipality=municipality,
            detail={"title": announcement.title},
        )
        enqueue("registry.announcement_fan_out", announcement.pk)
    return announcement


def announcement_fan_out(*, announcement_id: int, batch_size: int | None = None) -> int:
    """Put the announcement in each consenting registrant's inbox (and outbox), a batch per
    transaction: the batch's notifications and the cursor past it commit together, so a
    worker killed mid-way loses nothing and, resumed, repeats nothing. Runs at once are
    serialised on the announcement's row. Returns how many people it reached now."""
    batch_size = batch_size or settings.REGISTRY_ANNOUNCEMENT_BATCH
    reached = 0
    while True:
        with transaction.atomic():
            # Another run has it: let that one go on (a sweep's extra job returns at once).
            announcement = locks.announcement_claim(announcement_id)
            if announcement is None or announcement.state == AnnouncementState.SENT:
                return reached
            people = list(
                announcement_audience(municipality=announcement.municipality)
                .filter(person_id__gt=announcement.cursor)
                .order_by("person_id")
                .values_list("person_id", flat=True)[:batch_size]
            )
            told = notification_send(
                recipients=people,
                kind="announcement",
                topic=Topic.ANNOUNCEMENTS,
                key=f"announcement:{announcement.pk}",
                context={
                    "municipality": place_ref(announcement.municipality),
                    "title": announcement.title,
                    "body": announcement.body,
                },
                url=reverse("places:municipality_detail", args=[announcement.municipality_id]),
            )
            announcement.recipients += len(told)
            reached += len(told)
            fields = ["recipients", "cursor"]
            if people:
                announcement.cursor = people[-1]
            if len(people) < batch_size:
                announcement.state = AnnouncementState.SENT
                announcement.sent_at = timezone.now()
                fields += ["state", "sent_at"]
            announcement.save(update_fields=fields)
            if announcement.state == AnnouncementState.SENT:
                return reached


def announcements_resume(*, max_rows: int = 100) -> int:
    """Announcements still fanning out whose worker stopped (or never got the job): queue
    them again. A run that is still going simply waits for the row and finds it done."""
    started_before = timezone.now() - datetime.timedelta(seconds=settings.SWEEP_SECONDS / 2)
    pending = list(
        Announcement.objects.filter(state=AnnouncementState.SENDING, created_at__lt=started_before)
        .order_by("created_at")
        .values_list("pk", flat=True)[:max_rows]
    )
    for pk in pending:
        send_now("registry.announcement_fan_out", pk)
    return len(pending)
