"""Operators' view of the board: read-only; changes go through the pages and services,
which check power, keep capacity and tell participants."""

from django.contrib import admin

from accounts.admin import ReadOnlyAdmin

from .models import HostApplication, Session, Signup, Task, TaskRevision


@admin.register(Task)
class TaskAdmin(ReadOnlyAdmin):
    list_display = ["id", "title", "municipality", "status", "starts_at", "published_at"]
    list_filter = ["status", "category"]
    search_fields = ["title"]
    raw_id_fields = ["municipality", "host", "created_by"]


@admin.register(Session)
class SessionAdmin(ReadOnlyAdmin):
    list_display = ["id", "task", "starts_at", "capacity", "taken", "status"]
    raw_id_fields = ["task"]


@admin.register(Signup)
class SignupAdmin(ReadOnlyAdmin):
    list_display = ["id", "session", "person", "status", "attendance", "created_at"]
    list_filter = ["status", "attendance"]
    raw_id_fields = ["session", "person"]
    show_full_result_count = False


@admin.register(HostApplication)
class HostApplicationAdmin(ReadOnlyAdmin):
    list_display = ["id", "person", "municipality", "status", "applied_at"]
    list_filter = ["status"]
    raw_id_fields = ["person", "municipality"]


@admin.register(TaskRevision)
class TaskRevisionAdmin(ReadOnlyAdmin):
    list_display = ["id", "task", "author", "status", "created_at", "decided_at"]
    list_filter = ["status"]
    raw_id_fields = ["task", "author", "decided_by"]
