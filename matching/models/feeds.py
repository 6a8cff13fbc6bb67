"""A person's calendar feed: a secret, revocable URL that calendar apps subscribe to."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


def new_feed_token() -> str:
    return secrets.token_urlsafe(32)


class CalendarFeed(models.Model):
    """Revoking deletes the row; a new one has a new token, so the old URL stops working."""

    person = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="calendar_feed",
        verbose_name=_("本人"),
    )
    token = models.CharField(max_length=64, unique=True, default=new_feed_token, editable=False)
    created_at = models.DateTimeField(_("作成日時"), default=timezone.now)

    class Meta:
        verbose_name = _("カレンダー配信")
        verbose_name_plural = pgettext_lazy("plural", "カレンダー配信")

    def __str__(self) -> str:
        return f"feed of {self.person_id}"
