"""The in-app inbox.

A notification is written in the same transaction as the change that causes it, so it is
never lost nor sent for a change that was rolled back. It stores its *kind* and a small JSON
context, not rendered text: it is rendered when read, in the reader's language, from the
template ``notifications/<kind>.txt`` (first line the subject, the rest the body) that the
app causing it provides. ``key`` makes sending idempotent per recipient.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.template import Context, engines
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("受け取る人"),
    )
    kind = models.CharField(_("種類"), max_length=48)
    key = models.CharField(_("重複防止キー"), max_length=160)
    context = models.JSONField(_("内容"), default=dict, blank=True)
    url = models.CharField(_("リンク"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("作成日時"), default=timezone.now)
    read_at = models.DateTimeField(_("既読日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("お知らせ")
        verbose_name_plural = pgettext_lazy("plural", "お知らせ")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "key"], name="notifications_unique_recipient_key"
            ),
        ]
        indexes = [
            models.Index(
                fields=["recipient", "-created_at", "-id"], name="notifications_inbox_idx"
            ),
            models.Index(
                fields=["recipient"],
                condition=Q(read_at__isnull=True),
                name="notifications_unread_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id} {self.kind} {self.key}"

    def rendered(self) -> tuple[str, str]:
        """(subject, body) in the active language."""
        template = engines["django"].engine.get_template(f"notifications/{self.kind}.txt")
        # Plain text: nothing is HTML-escaped here; pages escape it where they show it.
        text = template.render(Context(self.context, autoescape=False)).strip()
        subject, _sep, body = text.partition("\n")
        return subject.strip(), body.strip()

    @property
    def subject(self) -> str:
        return self.rendered()[0]

    @property
    def body(self) -> str:
        return self.rendered()[1]
