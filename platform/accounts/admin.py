from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from .models import AuditEvent, Membership, User
from .services import audit_record, membership_grant, membership_revoke

# The admin logs in through allauth's login, with its second factor, never beside it.
admin.site.login = secure_admin_login(admin.site.login)


class AuditedReadsMixin:
    """Every read of personal data in the admin is audited, as the staff pages' reads are.

    A list (``admin.changelist.read``: the model, the page's filters and search) and one
    object (``admin.change.read``: the object itself) shown to an operator each write an
    audit row; writes are audited by the services they go through. Our admins of models with
    personal data take this mixin first (``ReadOnlyAdmin`` has it); every other registered
    admin (allauth's e-mail addresses, DRF's tokens …) is given it when the site starts
    (``config.apps``), unless it says ``audit_reads = False`` (data about no one)."""

    audit_reads = True

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        if self.audit_reads and request.method == "GET" and response.status_code == 200:
            self._audit_read(request, "admin.changelist.read")
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if self.audit_reads and request.method == "GET" and response.status_code == 200:
            target = self.get_object(request, unquote(object_id))
            self._audit_read(request, "admin.change.read", target=target)
        return response

    def _audit_read(self, request, action: str, target=None) -> None:
        with transaction.atomic():
            audit_record(
                actor=request.user,
                action=action,
                target=target,
                detail={"model": self.opts.label_lower, "query": request.GET.urlencode()},
            )


class MembershipInline(admin.TabularInline):
    """Shown on the person; granted and revoked under Roles, where it is audited."""

    model = Membership
    fk_name = "user"
    extra = 0
    can_delete = False
    fields = readonly_fields = ["role", "municipality", "prefecture", "granted_by", "created_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Membership)
class MembershipAdmin(AuditedReadsMixin, admin.ModelAdmin):
    """Roles are granted and revoked through the services: checked and audited."""

    list_display = ["user", "role", "municipality", "prefecture", "granted_by", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "municipality__name", "prefecture__name"]
    autocomplete_fields = ["user", "municipality", "prefecture"]
    fields = ["user", "role", "municipality", "prefecture"]

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None  # a role is revoked and granted anew, never edited

    def save_model(self, request, obj, form, change) -> None:
        granted = membership_grant(
            user=obj.user,
            role=obj.role,
            municipality=obj.municipality,
            prefecture=obj.prefecture,
            granted_by=request.user,
        )
        obj.pk = granted.pk

    def delete_model(self, request, obj) -> None:
        membership_revoke(membership=obj, revoked_by=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for membership in queryset:
            membership_revoke(membership=membership, revoked_by=request.user)


@admin.register(User)
class UserAdmin(AuditedReadsMixin, DjangoUserAdmin):
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
        (_("権限"), {"fields": ["is_active", "is_staff", "is_superuser", "groups"]}),
        (_("日時"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


@admin.register(AuditEvent)
class AuditEventAdmin(AuditedReadsMixin, admin.ModelAdmin):
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


class ReadOnlyAdmin(AuditedReadsMixin, admin.ModelAdmin):
    """Personal data: operators with full rights only (staff read it through audited pages)."""

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
