"""Place names in romaji: the columns, and the names of the rows already loaded.

New loads get theirs from ``places.services.reference_data``; this gives the rows of a
database loaded before it the same names and search keys (the same functions of
``places.romaji``), so nobody needs to run ``load_municipalities`` again.
"""

from django.db import migrations, models

from places.kana import search_key
from places.romaji import PREFECTURE_ENGLISH, municipality_romaji, place_key


def romanise(apps, schema_editor):
    Prefecture = apps.get_model("places", "Prefecture")
    Municipality = apps.get_model("places", "Municipality")
    prefectures = {}
    for prefecture in Prefecture.objects.all():
        prefecture.romaji = PREFECTURE_ENGLISH.get(prefecture.code, "")
        prefecture.save(update_fields=["romaji"])
        prefectures[prefecture.code] = prefecture
    rows = list(Municipality.objects.order_by("code"))
    cities = {(m.prefecture_id, m.name): m.kana for m in rows if m.name.endswith("市")}
    for m in rows:
        city = None
        if m.name.endswith("区"):
            city = next(
                (
                    (name, kana)
                    for (pref, name), kana in cities.items()
                    if pref == m.prefecture_id and m.name.startswith(name) and m.name != name
                ),
                None,
            )
        m.romaji = municipality_romaji(m.name, m.kana, city=city)
        prefecture = prefectures[m.prefecture_id]
        m.search_text = " ".join(
            (
                search_key(m.code),
                search_key(f"{prefecture.name}{m.name}"),
                search_key(f"{prefecture.kana}{m.kana}"),
                place_key(f"{prefecture.romaji}{m.romaji}"),
            )
        )
    Municipality.objects.bulk_update(rows, ["romaji", "search_text"], batch_size=500)


def unromanise(apps, schema_editor):
    """Back to the search text without romaji (the columns go with the schema step)."""
    Municipality = apps.get_model("places", "Municipality")
    rows = list(Municipality.objects.all())
    for m in rows:
        m.search_text = " ".join(m.search_text.split(" ")[:3])
    Municipality.objects.bulk_update(rows, ["search_text"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("places", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="prefecture",
            name="romaji",
            field=models.CharField(blank=True, max_length=16, verbose_name="ローマ字"),
        ),
        migrations.AddField(
            model_name="municipality",
            name="romaji",
            field=models.CharField(blank=True, max_length=64, verbose_name="ローマ字"),
        ),
        migrations.AlterField(
            model_name="municipality",
            name="search_text",
            field=models.CharField(editable=False, max_length=240),
        ),
        migrations.RunPython(romanise, unromanise, elidable=False),
    ]
