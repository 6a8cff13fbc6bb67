"""Reads of the inbox; a person sees only their own."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Notification


def inbox_of(*, user) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user, in_inbox=True).order_by("-created_at", "-id")


def unread_count(*, user) -> int:
    if user is None or not user.is_authenticated:
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True, in_inbox=True).count()
