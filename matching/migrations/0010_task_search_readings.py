"""Every task's search key rebuilt with readings, and its days with public holidays.

The key (``Task.search_text``, whose 1- and 2-grams PostgreSQL keeps in ``search_grams``,
migration 0009) now holds the hiragana reading of the task's kanji and its municipality's
name and official reading (``matching.selectors.search.task_search_key``), so that くさかり
finds 草刈り and ひだ a 飛騨市 task; and a session on a public holiday is on a day off
(``core.holidays``), as the matcher's "土日祝" means. No column changes: only the values.

Rows are rewritten in batches of ``BATCH`` tasks by id, each in a transaction of its own,
so that no lock is held on ``matching_task`` for more than one batch's UPDATE and the site
may go on writing tasks while it runs. A task written meanwhile has its key from the new
code already, and is left as it is (so is any row whose key and days are right already).
Reversing writes the keys and days as 0009's code did (``places.kana.search_key`` of the
texts: katakana, no readings; Saturdays and Sundays only), the same way.
"""

from django.db import migrations, transaction
from django.utils import timezone

BATCH = 500
WEEKDAYS, DAYS_OFF = 1, 2  # registry.AvailableDays bits: weekdays, 土日祝
FIELDS = ("title", "description", "host_message", "host_name", "address")


def _rebuild(apps, key_of, day_off) -> None:
    """Every task's ``search_text`` as ``key_of(texts, name, kana)`` and ``session_days``
    with ``day_off(date)``, ``BATCH`` tasks a transaction."""
    task_model = apps.get_model("matching", "Task")
    session_model = apps.get_model("matching", "Session")
    last = 0
    while True:
        with transaction.atomic():
            rows = list(
                task_model.objects.filter(pk__gt=last)
                .order_by("pk")
                .values_list(
                    "pk",
                    *FIELDS,
                    "municipality__name",
                    "municipality__kana",
                    "search_text",
                    "session_days",
                )[:BATCH]
            )
            if not rows:
                return
            ids = [row[0] for row in rows]
            days: dict[int, int] = {}
            for task_id, starts_at in session_model.objects.filter(
                task_id__in=ids, status="scheduled"
            ).values_list("task_id", "starts_at"):
                off = day_off(timezone.localtime(starts_at).date())
                days[task_id] = days.get(task_id, 0) | (DAYS_OFF if off else WEEKDAYS)
            changed = []
            for pk, *texts, name, kana, key, session_days in rows:
                task = task_model(
                    pk=pk,
                    search_text=key_of([text or "" for text in texts], name or "", kana or ""),
                    # A task with no session left keeps the days it had.
                    session_days=days.get(pk, session_days),
                )
                # Rows the new code wrote already are left alone: no write, no index churn.
                if (task.search_text, task.session_days) != (key, session_days):
                    changed.append(task)
            if changed:
                task_model.objects.bulk_update(changed, ["search_text", "session_days"])
            last = ids[-1]


def rebuild(apps, schema_editor):
    # The code's own functions, as they are when this runs: the key must be the one the
    # services write, or searches would miss the tasks not saved since.
    from core.holidays import is_day_off
    from matching.selectors.search import task_search_key

    def key_of(texts, name, kana):
        return task_search_key(
            **dict(zip(FIELDS, texts, strict=True)),
            municipality_name=name,
            municipality_kana=kana,
        )

    _rebuild(apps, key_of, is_day_off)


def rebuild_as_before(apps, schema_editor):
    from places.kana import search_key

    def key_of(texts, name, kana):
        return search_key(" ".join(text for text in texts if text))

    _rebuild(apps, key_of, lambda day: day.weekday() >= 5)


class Migration(migrations.Migration):
    atomic = False  # one transaction a batch, not one for the whole table

    dependencies = [("matching", "0009_task_search_grams")]

    operations = [migrations.RunPython(rebuild, rebuild_as_before, elidable=True)]
