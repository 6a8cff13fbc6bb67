from django.contrib import admin

from .models import Municipality, Prefecture


@admin.register(Prefecture)
class PrefectureAdmin(admin.ModelAdmin):
    audit_reads = False  # reference data about no one: reads are not audited (config.apps)
    list_display = ["code", "name", "kana", "region"]
    list_filter = ["region"]
    search_fields = ["name", "kana", "code"]

    def has_add_permission(self, request) -> bool:
        return False  # loaded by `manage.py load_municipalities`

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Municipality)
class MunicipalityAdmin(PrefectureAdmin):
    list_display = ["code", "name", "kana", "prefecture", "kind", "latitude", "longitude"]
    list_filter = ["prefecture__region", "kind", "prefecture"]
    search_fields = ["name", "kana", "code", "search_text"]
