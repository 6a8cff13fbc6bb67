"""What only the people running a task, and those holding a place on it, may read: the
task's briefing for the day and each participant's details for the roster.

Kept in tables of their own, so that no public query, serializer or page can reach them by
joining the task; the roster's details are deleted a set time after the session
(``MATCHING_ROSTER_RETENTION_DAYS``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .board import Signup, Task


class TaskBriefing(models.Model):
    """The private part of a task: where exactly to meet, what happens on the day, and
    whom to call. Shown to people holding a place (page, confirmation e-mail, .ics)."""

    task = models.OneToOneField(
        Task, on_delete=models.CASCADE, primary_key=True, related_name="briefing"
    )
    meeting_point = models.CharField(_("集合場所"), max_length=200, blank=True)
    address = models.CharField(_("集合場所の住所"), max_length=200, blank=True)
    latitude = models.FloatField(_("集合場所の緯度"), null=True, blank=True)
    longitude = models.FloatField(_("集合場所の経度"), null=True, blank=True)
    instructions = models.TextField(_("当日の流れ・注意事項"), max_length=3000, blank=True)
    contact = models.CharField(_("当日の連絡先"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("更新日時"), default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("更新した人"),
    )

    class Meta:
        verbose_name = _("参加者向けの案内")
        verbose_name_plural = pgettext_lazy("plural", "参加者向けの案内")
        constraints = [
            models.CheckConstraint(
                name="matching_briefing_coordinate_in_japan",
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(latitude__range=(20, 46), longitude__range=(122, 154)),
            ),
        ]

    def __str__(self) -> str:
        return f"briefing {self.task_id}"

    @property
    def is_empty(self) -> bool:
        return not (self.meeting_point or self.address or self.instructions or self.contact)


class SignupDetails(models.Model):
    """What a participant agreed to give the host for one sign-up: the roster's row.

    Name and furigana always; a phone number, an emergency contact and a birth date when
    the task asks for them (``Task.asks_*``, with ``Task.asks_reason`` shown at sign-up)."""

    signup = models.OneToOneField(
        Signup, on_delete=models.CASCADE, primary_key=True, related_name="details"
    )
    full_name = models.CharField(_("氏名"), max_length=100)
    furigana = models.CharField(_("フリガナ"), max_length=100)
    phone = models.CharField(_("電話番号"), max_length=30, blank=True)
    emergency_name = models.CharField(_("緊急連絡先（氏名・続柄）"), max_length=100, blank=True)
    emergency_phone = models.CharField(_("緊急連絡先（電話番号）"), max_length=30, blank=True)
    birth_date = models.DateField(_("生年月日"), null=True, blank=True)
    created_at = models.DateTimeField(_("提供日時"), default=timezone.now)

    class Meta:
        verbose_name = _("参加者の連絡先")
        verbose_name_plural = pgettext_lazy("plural", "参加者の連絡先")

    def __str__(self) -> str:
        return f"details {self.signup_id}"
