"""Operators' view of the registry. Changes go through the pages and services, which check
power and record history; here registrations are read-only."""

from django.contrib import admin

from accounts.admin import ReadOnlyAdmin

from .models import (
    Activity,
    Perk,
    PrefectureRegistration,
    PremiumApplication,
    Profile,
    Registration,
)


@admin.register(Registration)
class RegistrationAdmin(ReadOnlyAdmin):
    list_display = ["id", "person", "municipality", "status", "tier", "registered_at"]
    list_filter = ["status", "tier"]
    raw_id_fields = ["person", "municipality", "home_municipality"]
    show_full_result_count = False  # no COUNT(*) over 100 million rows


@admin.register(PrefectureRegistration)
class PrefectureRegistrationAdmin(ReadOnlyAdmin):
    list_display = ["id", "person", "prefecture", "status", "registered_at"]
    raw_id_fields = ["person"]
    show_full_result_count = False


@admin.register(Profile)
class ProfileAdmin(ReadOnlyAdmin):
    list_display = ["user", "home_municipality", "birth_year"]
    raw_id_fields = ["user", "home_municipality"]
    show_full_result_count = False


@admin.register(PremiumApplication)
class PremiumApplicationAdmin(ReadOnlyAdmin):
    list_display = ["id", "registration", "status", "applied_at", "decided_at"]
    list_filter = ["status"]
    raw_id_fields = ["registration", "decided_by"]


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdmin):
    list_display = ["id", "registration", "title", "occurred_on", "source", "status"]
    list_filter = ["status", "source", "designated"]
    raw_id_fields = ["registration", "reviewed_by"]


@admin.register(Perk)
class PerkAdmin(ReadOnlyAdmin):
    list_display = ["title", "municipality", "tier", "kind", "is_active"]
    list_filter = ["tier", "kind", "is_active"]
