"""Hosts' tasks show the organisation the town approved (or the host's own name), never a
name the host typed: the names hosts wrote before this rule are replaced. Data only."""

from django.db import migrations


def approved_names(apps, schema_editor):
    Task = apps.get_model("matching", "Task")
    HostApplication = apps.get_model("matching", "HostApplication")
    for task in Task.objects.filter(host__isnull=False).select_related("host").iterator():
        organisation = (
            HostApplication.objects.filter(
                person_id=task.host_id, municipality_id=task.municipality_id, status="approved"
            )
            .exclude(organisation="")
            .order_by("-decided_at", "-id")
            .values_list("organisation", flat=True)
            .first()
        )
        name = organisation or f"{task.host.family_name} {task.host.given_name}".strip()
        if task.host_name != name:
            Task.objects.filter(pk=task.pk).update(host_name=name)


class Migration(migrations.Migration):
    dependencies = [("matching", "0005_task_revision")]

    # Backwards there is nothing to restore: the typed names are not kept.
    operations = [migrations.RunPython(approved_names, migrations.RunPython.noop)]
