from django.contrib import admin

from .kana import normalize, to_katakana
from .models import Municipality, Prefecture
from .romaji import place_key


@admin.register(Prefecture)
class PrefectureAdmin(admin.ModelAdmin):
    audit_reads = False  # reference data about no one: reads are not audited (config.apps)
    list_display = ["code", "name", "kana", "romaji", "region"]
    list_filter = ["region"]
    search_fields = ["name", "kana", "romaji", "code"]

    def has_add_permission(self, request) -> bool:
        return False  # loaded by `manage.py load_municipalities`

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_search_results(self, request, queryset, search_term):
        """Django's search, and the reading in any kana (ぎふ, ｷﾞﾌ find 岐阜県)."""
        found, duplicates = super().get_search_results(request, queryset, search_term)
        reading = to_katakana(normalize(search_term)).replace(" ", "")
        if reading:
            found = found | queryset.filter(kana__contains=reading)
        return found, duplicates


@admin.register(Municipality)
class MunicipalityAdmin(PrefectureAdmin):
    list_display = [
        "code",
        "name",
        "kana",
        "romaji",
        "prefecture",
        "kind",
        "latitude",
        "longitude",
    ]
    list_filter = ["prefecture__region", "kind", "prefecture"]
    search_fields = ["name", "kana", "romaji", "code"]

    def get_search_results(self, request, queryset, search_term):
        """Django's search, and the site's own key (``Municipality.search_text``): kanji,
        any kana (ひだし, ヒダシ, ﾋﾀﾞｼ) and romaji (hida, Hida-shi) find 飛騨市."""
        found, duplicates = admin.ModelAdmin.get_search_results(
            self, request, queryset, search_term
        )
        key = place_key(search_term)
        if key:
            found = found | queryset.filter(search_text__contains=key)
        return found, duplicates
