from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import AuditEvent, Membership, User


class MembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "user"
    extra = 0
    autocomplete_fields = ["municipality", "prefecture"]
    readonly_fields = ["granted_by", "created_at"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "family_name", "given_name", "is_active", "is_staff", "date_joined"]
    search_fields = ["email", "family_name", "given_name", "family_name_kana", "given_name_kana"]
    inlines = [MembershipInline]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (
            _("氏名"),
            {"fields": ["family_name", "given_name", "family_name_kana", "given_name_kana"]},
        ),
        (_("設定"), {"fields": ["language"]}),
        (_("権限"), {"fields": ["is_active", "is_staff", "is_superuser", "groups"]}),
        (_("日時"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor", "action", "target_type", "target_id", "municipality"]
    list_filter = ["action"]
    search_fields = ["actor__email", "target_id"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
