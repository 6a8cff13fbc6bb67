"""What the matcher keeps: the tasks that suit a person and why, the people watching a
task for a free place, and the people waiting for their first recommendations."""

from __future__ import annotations

import enum

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .board import Task


class Reason(enum.IntFlag):
    """Why a task suits a person; a match stores the set as one integer."""

    REGISTERED = 1  # registered with the task's municipality (the strongest signal)
    PREFECTURE_REGISTERED = 2  # registered with another town of its prefecture
    SAME_PREFECTURE = 4  # lives in its prefecture
    NEIGHBOUR_PREFECTURE = 8  # lives in a neighbouring prefecture
    NEAR = 16  # lives within the matcher's radius of it
    INTEREST = 32  # its category is among the person's interests
    SKILL = 64  # the person has a skill it asks for
    DAYS = 128  # it falls on days the person is free (weekdays / weekends)
    MONTH = 256  # it falls in a month the person is free
    RETURNING = 512  # the person took part in this town before


class Match(models.Model):
    """A task that suits a person, with its score and reasons: written by the matcher,
    read as the person's recommendations, and the list the matcher tells people from."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="matches")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="matches"
    )
    score = models.FloatField(_("適合度"))
    reasons = models.PositiveIntegerField(_("理由"))
    distance_km = models.FloatField(_("自宅からの距離（km）"), null=True, blank=True)
    scored_at = models.DateTimeField(_("計算日時"))
    notified_at = models.DateTimeField(_("お知らせした日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("おすすめ")
        verbose_name_plural = pgettext_lazy("plural", "おすすめ")
        ordering = ["-score", "id"]
        constraints = [
            models.UniqueConstraint(fields=["task", "person"], name="matching_match_unique"),
        ]
        indexes = [
            models.Index(fields=["task", "-score"], name="matching_match_task_idx"),
            models.Index(fields=["person", "-score"], name="matching_match_person_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.task_id} → {self.person_id} ({self.score:.0f})"


class TaskWatch(models.Model):
    """A person watching a task, to hear when a place opens."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="watches")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="task_watches"
    )
    created_at = models.DateTimeField(_("登録日時"), default=timezone.now)

    class Meta:
        verbose_name = _("空き待ちの見守り")
        verbose_name_plural = pgettext_lazy("plural", "空き待ちの見守り")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["task", "person"], name="matching_watch_unique"),
        ]
        indexes = [models.Index(fields=["person", "-created_at"], name="matching_watch_person_idx")]

    def __str__(self) -> str:
        return f"{self.person_id} watches {self.task_id}"


class RecommendationRequest(models.Model):
    """A person's recommendations to score again (their profile or registrations changed),
    written in the transaction of that change: if no worker takes the queued job (the broker
    was down), beat's sweep (``matching.person_refresh_sweep``) finds the row. Done, the row
    goes, unless the person changed again meanwhile."""

    person = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
        verbose_name=_("利用者"),
    )
    requested_at = models.DateTimeField(_("依頼日時"), default=timezone.now)

    class Meta:
        verbose_name = _("おすすめの更新依頼")
        verbose_name_plural = pgettext_lazy("plural", "おすすめの更新依頼")
        ordering = ["requested_at"]
        indexes = [models.Index(fields=["requested_at"], name="matching_recrequest_due_idx")]

    def __str__(self) -> str:
        return f"{self.person_id} at {self.requested_at:%Y-%m-%d %H:%M:%S}"
