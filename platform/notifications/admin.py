from django.contrib import admin

from accounts.admin import ReadOnlyAdmin

from .models import Email, Notification, Preference


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "recipient", "kind", "read_at"]
    list_filter = ["topic", "kind"]
    raw_id_fields = ["recipient"]
    show_full_result_count = False


@admin.register(Email)
class EmailAdmin(ReadOnlyAdmin):
    """The outbox: what was sent, what waits, what failed or is uncertain."""

    list_display = ["created_at", "recipient", "key", "state", "attempts", "resends", "sent_at"]
    list_filter = ["state", "digest", "topic"]
    raw_id_fields = ["recipient"]
    show_full_result_count = False


@admin.register(Preference)
class PreferenceAdmin(ReadOnlyAdmin):
    list_display = ["person", "topic", "channel", "frequency", "updated_at"]
    list_filter = ["topic", "channel", "frequency"]
    raw_id_fields = ["person"]
    show_full_result_count = False
