"""The briefing of a task: where exactly to meet, what happens on the day, whom to call.

It is not part of the task's public content (no page, feed or API of the board shows it
to everyone), so a host's change needs no review and takes effect at once. It is read by
the task's managers and by the people holding a place (``HOLDING_STATUSES``): on the
task's page, in the confirmation e-mail (rendered when it is sent, from these rows) and in
the calendar (``matching.ical``)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import audit_record
from core.errors import Conflict
from notifications.models import Topic
from notifications.services import notification_send

from ..errors import MatchingCode
from ..locks import lock_task
from ..models import HOLDING_STATUSES, Signup, Task, TaskBriefing, TaskStatus
from ..selectors import check_manage
from ._common import _task_context, _task_url

BRIEFING_TEXT_LIMITS = {"meeting_point": 200, "address": 200, "instructions": 3000, "contact": 200}
BRIEFING_FIELDS = (*BRIEFING_TEXT_LIMITS, "latitude", "longitude")
# Where a coordinate in Japan may be (the database checks the same range).
LATITUDE_RANGE = (20.0, 46.0)
LONGITUDE_RANGE = (122.0, 154.0)


def _briefing_errors(values: dict) -> dict[str, list[ValidationError]]:
    errors: dict[str, list[ValidationError]] = {}
    for name, limit in BRIEFING_TEXT_LIMITS.items():
        if len(values[name]) > limit:
            errors[name] = [
                ValidationError(
                    _("%(limit)d文字以内にしてください（いま%(length)d文字）。")
                    % {"limit": limit, "length": len(values[name])},
                    code=MatchingCode.BRIEFING_TOO_LONG,
                )
            ]
    latitude, longitude = values["latitude"], values["longitude"]
    if (latitude is None) != (longitude is None):
        missing = "longitude" if longitude is None else "latitude"
        errors[missing] = [
            ValidationError(
                _("緯度と経度は両方を入力するか、両方を空欄にしてください。"),
                code=MatchingCode.BRIEFING_COORDINATE_PAIR,
            )
        ]
    elif latitude is not None:
        if not LATITUDE_RANGE[0] <= latitude <= LATITUDE_RANGE[1]:
            errors["latitude"] = [
                ValidationError(
                    _("緯度は日本の範囲（北緯20〜46度）で入力してください。"),
                    code=MatchingCode.BRIEFING_OUTSIDE_JAPAN,
                )
            ]
        if not LONGITUDE_RANGE[0] <= longitude <= LONGITUDE_RANGE[1]:
            errors["longitude"] = [
                ValidationError(
                    _("経度は日本の範囲（東経122〜154度）で入力してください。"),
                    code=MatchingCode.BRIEFING_OUTSIDE_JAPAN,
                )
            ]
    return errors


def briefing_set(*, task: Task, actor: User, **fields) -> TaskBriefing:
    """Write the briefing of ``task`` (the host or the town's staff). Fields not given keep
    their value; text is trimmed; a coordinate is both halves or neither, in Japan."""
    unknown = set(fields) - set(BRIEFING_FIELDS)
    if unknown:
        raise TypeError(f"briefing_set() got unknown fields: {sorted(unknown)}")
    check_manage(actor, task)
    with transaction.atomic():
        task = lock_task(task.pk)  # serialises two managers writing the first briefing
        if task.status in (TaskStatus.COMPLETED, TaskStatus.CANCELLED):
            raise Conflict(
                _("終了・中止したお手伝いの案内は変えられません。"), code=MatchingCode.TASK_OVER
            )
        briefing = TaskBriefing.objects.filter(task=task).first() or TaskBriefing(task=task)
        values = {name: getattr(briefing, name) for name in BRIEFING_FIELDS}
        for name, value in fields.items():
            if name in BRIEFING_TEXT_LIMITS:
                value = (value or "").strip()
            values[name] = value
        errors = _briefing_errors(values)
        if errors:
            raise ValidationError(errors)
        changed = sorted(
            name for name in BRIEFING_FIELDS if getattr(briefing, name) != values[name]
        )
        if not changed and not briefing._state.adding:
            return briefing
        for name, value in values.items():
            setattr(briefing, name, value)
        briefing.updated_at = timezone.now()
        briefing.updated_by = actor
        briefing.save()
        audit_record(
            actor=actor,
            action="task.briefing_set",
            target=task,
            municipality=task.municipality,
            detail={"fields": changed},
        )
        # The people already holding a place hear of it: the briefing may come after them.
        notification_send(
            recipients=Signup.objects.filter(
                session__task=task,
                session__starts_at__gt=briefing.updated_at,
                status__in=HOLDING_STATUSES,
            ).values_list("person_id", flat=True),
            kind="briefing_changed",
            topic=Topic.CHANGES,
            key=f"briefing:{task.pk}:{briefing.updated_at.isoformat()}",
            context=_task_context(task),
            url=_task_url(task),
        )
    return briefing
