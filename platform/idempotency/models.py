"""The first answer to a write, kept under the key its caller sent, for a safe retry."""

from __future__ import annotations

from django.db import models


class IdempotencyKey(models.Model):
    """One caller's key: the request it stood for (a hash) and the answer it was given.

    Written in the same transaction as the change the request made, so a change whose
    answer was lost on the way is answered from here on retry, and a change rolled back
    leaves no row. ``status`` 0 is a claim still in the writing transaction (never seen
    committed)."""

    caller = models.CharField(max_length=100)  # "user:42"; a page's form: "form:user:42"
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)  # sha256 of method, path and body
    status = models.PositiveSmallIntegerField(default=0)
    headers = models.JSONField(default=dict)
    body = models.BinaryField(default=b"")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["caller", "key"], name="idempotency_one_per_caller")
        ]
        indexes = [models.Index(fields=["expires_at"], name="idempotency_expires_idx")]

    def __str__(self) -> str:
        return f"{self.caller} {self.key}"
