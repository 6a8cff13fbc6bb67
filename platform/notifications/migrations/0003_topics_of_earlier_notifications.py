"""Notifications written before topics existed get the topic their kind belongs to."""

from django.db import migrations

TOPICS = {
    "signups": [
        "signup_confirmed",
        "signup_waitlisted",
        "signup_pending",
        "signup_accepted",
        "signup_declined",
        "signup_expired",
    ],
    "promotions": ["signup_promoted"],
    "hosting": [
        "host_applied",
        "host_approved",
        "host_refused",
        "task_submitted",
        "task_published",
        "task_returned",
        "thanks_received",
    ],
    "changes": ["task_changed", "task_cancelled", "session_moved", "session_cancelled"],
}


def forwards(apps, schema_editor):
    Notification = apps.get_model("notifications", "Notification")
    for topic, kinds in TOPICS.items():
        Notification.objects.filter(kind__in=kinds).update(topic=topic)


class Migration(migrations.Migration):
    dependencies = [("notifications", "0002_outbox_preferences_topics")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
