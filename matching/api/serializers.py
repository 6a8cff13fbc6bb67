"""What the board's API reads and writes: tasks and sessions, sign-ups and participants,
host applications and revisions."""

from __future__ import annotations

import json

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.utils import html

from core.api import NormalisedCharField
from core.dates import SaneDateTimeField
from places.api import MunicipalityBriefSerializer, MunicipalityCodeField
from registry.api import FlagsField
from registry.models import Category, Skill

from .. import selectors, services
from ..models import (
    HostApplication,
    Session,
    SignupMode,
    SignupStatus,
    Task,
)
from ..services.hosting import calendar_offered, session_offered, signup_closed_reason


class SessionSerializer(serializers.ModelSerializer):
    task = serializers.IntegerField(source="task_id", read_only=True)
    places_left = serializers.IntegerField(read_only=True)
    waiting = serializers.SerializerMethodField(help_text=gettext_lazy("キャンセル待ちの人数"))
    signup_closes_at = serializers.SerializerMethodField()
    cancel_closes_at = serializers.SerializerMethodField()
    confirmed = serializers.SerializerMethodField(
        help_text=gettext_lazy("参加が確定した人数（taken から繰り上げの確認待ちを除いた数）")
    )
    offered = serializers.SerializerMethodField(
        help_text=gettext_lazy("繰り上げで席を押さえ、本人の確定を待っている人数")
    )
    signup_open = serializers.SerializerMethodField(
        help_text=gettext_lazy(
            "いま申し込めるか（キャンセル待ちを含む）。"
            "終わった・中止の回や、終了・中止のお手伝いは false"
        )
    )

    class Meta:
        model = Session
        fields = [
            "id",
            "task",
            "starts_at",
            "ends_at",
            "capacity",
            "taken",
            "confirmed",
            "offered",
            "places_left",
            "waiting",
            "status",
            "signup_closes_at",
            "cancel_closes_at",
            "signup_open",
        ]
        extra_kwargs = {
            "taken": {
                "help_text": gettext_lazy("押さえられた席の数（確定と繰り上げの確認待ちの合計）")
            }
        }

    def get_waiting(self, session) -> int:
        """Annotated by ``sessions_of``; a list of sign-ups passes the counts of its page's
        sessions in the context (``waiting``); otherwise counted here."""
        if hasattr(session, "waiting"):
            return session.waiting
        counts = self.context.get("waiting")
        if counts is not None and session.pk in counts:
            return counts[session.pk]
        return selectors.waiting_counts([session.pk]).get(session.pk, 0)

    def get_offered(self, session) -> int:
        return session_offered(session, self.context.get("offered"))

    def get_confirmed(self, session) -> int:
        return session.taken - session_offered(session, self.context.get("offered"))

    def get_signup_open(self, session) -> bool:
        return not signup_closed_reason(session, timezone.now())

    def get_signup_closes_at(self, session) -> str:
        return serializers.DateTimeField().to_representation(session.signup_closes_at())

    def get_cancel_closes_at(self, session) -> str:
        return serializers.DateTimeField().to_representation(session.cancel_closes_at())


class TaskBriefSerializer(serializers.ModelSerializer):
    municipality = MunicipalityBriefSerializer(read_only=True)
    category_label = serializers.CharField(source="get_category_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    photo = serializers.SerializerMethodField()
    distance_km = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Task
        fields = [
            "id",
            "title",
            "municipality",
            "host_name",
            "category",
            "category_label",
            "is_online",
            "status",
            "status_label",
            "starts_at",
            "ends_at",
            "signup_closes_at",
            "reward",
            "designated",
            "signup_mode",
            "published_at",
            "photo",
            "distance_km",
            "url",
        ]

    def get_photo(self, task) -> str | None:
        return task.photo.url if task.photo else None

    def get_distance_km(self, task) -> float | None:
        distance = getattr(task, "distance_km", None)
        return None if distance is None or task.is_online else round(distance, 1)

    def get_url(self, task) -> str:
        return reverse("matching:task_detail", args=[task.pk])


class TaskSerializer(TaskBriefSerializer):
    skills = FlagsField(flag_choices=Skill, read_only=True)
    sessions = serializers.SerializerMethodField()
    report_photo = serializers.SerializerMethodField()
    may_manage = serializers.SerializerMethodField()

    class Meta(TaskBriefSerializer.Meta):
        fields = [
            *TaskBriefSerializer.Meta.fields,
            "description",
            "host_message",
            "schedule",
            "skills",
            "address",
            "latitude",
            "longitude",
            "minimum_age",
            "what_to_bring",
            "conditions",
            "participant_costs",
            "weather_policy",
            "signup_close_hours",
            "cancel_close_hours",
            "confirm_window_hours",
            "asks_phone",
            "asks_emergency_contact",
            "asks_birth_date",
            "asks_reason",
            "photo_alt",
            "review_note",
            "cancel_reason",
            "report",
            "report_photo",
            "report_published_at",
            "sessions",
            "may_manage",
        ]

    @extend_schema_field(SessionSerializer(many=True))
    def get_sessions(self, task):
        return SessionSerializer(selectors.sessions_of(task), many=True).data

    def get_report_photo(self, task) -> str | None:
        return task.report_photo.url if task.report_photo else None

    def get_may_manage(self, task) -> bool:
        request = self.context.get("request")
        user = getattr(request, "user", None)
        return bool(user and user.is_authenticated and services.may_manage_task(user, task))


class SessionWriteSerializer(serializers.Serializer):
    starts_at = SaneDateTimeField()
    ends_at = SaneDateTimeField()
    capacity = serializers.IntegerField(
        min_value=1,
        max_value=10000,
        error_messages={
            "min_value": gettext_lazy("定員は1人以上にしてください。"),
            "max_value": gettext_lazy("定員は10000人以下にしてください。"),
        },
    )


class SessionUpdateSerializer(SessionWriteSerializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False


class JSONListField(serializers.ListField):
    """A list, also accepted as a JSON string (for multipart requests with a photo)."""

    default_error_messages = {
        "invalid_json": gettext_lazy(
            "JSON の配列として読み取れませんでした。形式を確認してください。"
        )
    }

    def get_value(self, dictionary):
        value = super().get_value(dictionary)
        # A form (multipart) gives the field's values as a list: one string is the JSON.
        if html.is_html_input(dictionary) and isinstance(value, list) and len(value) == 1:
            return value[0]
        return value

    def to_internal_value(self, data):
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError:
                self.fail("invalid_json")
        return super().to_internal_value(data)


def _text(max_length: int, **kwargs) -> serializers.CharField:
    """Free text, kept as typed (``core.text``); the roster's fixed-form details (furigana,
    phone numbers) are folded by ``services.roster``."""
    return serializers.CharField(max_length=max_length, allow_blank=True, required=False, **kwargs)


class TaskWriteSerializer(serializers.Serializer):
    municipality = MunicipalityCodeField()
    sessions = JSONListField(
        child=SessionWriteSerializer(),
        min_length=1,
        max_length=100,
        error_messages={
            "min_length": gettext_lazy("開催回を1つ以上入力してください。"),
            "max_length": gettext_lazy("開催回は100回までです。"),
        },
    )
    title = serializers.CharField(max_length=120)
    description = serializers.CharField(max_length=5000)
    host_name = _text(100)
    host_message = _text(3000)
    schedule = _text(2000)
    category = serializers.ChoiceField(choices=Category.choices)
    skills = FlagsField(flag_choices=Skill, required=False)
    is_online = serializers.BooleanField(required=False)
    address = _text(200)
    latitude = serializers.FloatField(required=False, allow_null=True, min_value=20, max_value=46)
    longitude = serializers.FloatField(
        required=False, allow_null=True, min_value=122, max_value=154
    )
    minimum_age = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=100
    )
    what_to_bring = _text(1000)
    reward = serializers.CharField(max_length=1000)
    conditions = _text(1000)
    participant_costs = _text(1000)
    weather_policy = _text(1000)
    signup_mode = serializers.ChoiceField(choices=SignupMode.choices, required=False)
    signup_close_hours = serializers.IntegerField(required=False, min_value=0, max_value=24 * 90)
    cancel_close_hours = serializers.IntegerField(required=False, min_value=0, max_value=24 * 90)
    confirm_window_hours = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=24 * 14
    )
    designated = serializers.BooleanField(required=False)
    asks_phone = serializers.BooleanField(required=False)
    asks_emergency_contact = serializers.BooleanField(required=False)
    asks_birth_date = serializers.BooleanField(required=False)
    asks_reason = _text(200)
    photo = serializers.FileField(required=False, allow_empty_file=False)
    photo_alt = _text(200)


class TaskUpdateSerializer(TaskWriteSerializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["municipality"]
        del self.fields["sessions"]
        for field in self.fields.values():
            field.required = False


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class WatchSerializer(serializers.Serializer):
    task = serializers.IntegerField()
    watching = serializers.BooleanField()


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000)


class ReportSerializer(serializers.Serializer):
    report = serializers.CharField(max_length=5000)
    photo = serializers.FileField(required=False, allow_empty_file=False)


class SignupSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=SignupStatus.choices)
    status_label = serializers.CharField(source="get_status_display")
    session = SessionSerializer()
    task = TaskBriefSerializer(source="session.task")
    message = serializers.CharField()
    created_at = serializers.DateTimeField()
    confirmed_at = serializers.DateTimeField(allow_null=True)
    offer_expires_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    waitlist_position = serializers.SerializerMethodField()
    attendance = serializers.CharField()
    thanks = serializers.CharField()
    ical = serializers.SerializerMethodField()

    def get_waitlist_position(self, signup) -> int | None:
        positions = self.context.get("waitlist_positions")  # a list's, in one query
        if positions is not None:
            return positions.get(signup.pk)
        return selectors.waitlist_position(signup)

    def get_ical(self, signup) -> str | None:
        if not calendar_offered(signup):  # nor for what is past, cancelled or completed
            return None
        return reverse("signup-ical", args=[signup.pk])


class ParticipantSerializer(serializers.Serializer):
    """A sign-up as its host sees it."""

    id = serializers.IntegerField()
    session = serializers.IntegerField(source="session_id")
    name = serializers.CharField(source="person.public_name")
    status = serializers.ChoiceField(choices=SignupStatus.choices)
    status_label = serializers.CharField(source="get_status_display")
    message = serializers.CharField()
    created_at = serializers.DateTimeField()
    attendance = serializers.CharField()
    attendance_label = serializers.CharField(source="get_attendance_display")
    attendance_open = serializers.SerializerMethodField()
    attendance_deadline = serializers.SerializerMethodField()
    times_before = serializers.IntegerField(
        help_text=gettext_lazy("この市区町村のお手伝いに以前参加した回数（リピーター）")
    )
    thanks = serializers.CharField()
    # Issue 17 (hosting): what the host sees of requests and cancellations.
    waiting_since = serializers.SerializerMethodField(
        help_text=gettext_lazy("承認待ちの申込が待ち始めた日時（承認待ちでなければ null）")
    )
    offer_expires_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    cancel_reason = serializers.CharField(
        help_text=gettext_lazy("キャンセルした人が書いた理由（任意）")
    )

    def get_waiting_since(self, signup) -> str | None:
        if signup.status != SignupStatus.PENDING:
            return None
        return serializers.DateTimeField().to_representation(signup.created_at)

    def get_attendance_open(self, signup) -> bool:
        """Whether the mark may be made or corrected now."""
        return services.attendance_open(signup.session)

    @extend_schema_field(serializers.DateTimeField())
    def get_attendance_deadline(self, signup) -> str:
        """Until when the mark may be made or corrected."""
        return serializers.DateTimeField().to_representation(
            services.attendance_deadline(signup.session)
        )


class SignupCreateSerializer(serializers.Serializer):
    message = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
    # The roster's details (``services.roster`` checks them, with its codes): name and
    # furigana always, what the task asks, and the person's agreement to tell the host.
    full_name = _text(100)
    furigana = _text(100)
    phone = _text(30)
    emergency_name = _text(100)
    emergency_phone = _text(30)
    birth_date = NormalisedCharField(
        max_length=20,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text=gettext_lazy("生年月日（YYYY-MM-DD）"),
    )
    agree = serializers.BooleanField(
        required=False,
        default=False,
        help_text=gettext_lazy("この申込のためにヌシに伝えることに同意します"),
    )
    confirm_overlap = serializers.BooleanField(
        required=False,
        default=False,
        help_text=gettext_lazy(
            "キャンセル待ち（承認待ち）の回が、参加が決まっている回と時間が重なるときは "
            "409 overlap_not_confirmed で止まります。承知のうえで申し込むなら true"
        ),
    )

    def details(self) -> dict:
        data = dict(self.validated_data)
        data.pop("message", None)
        data.pop("confirm_overlap", None)
        return data


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=1000,
        required=False,
        allow_blank=True,
        default="",
        help_text=gettext_lazy("キャンセルの理由（任意・ヌシに伝わります）"),
    )


class ThanksSerializer(serializers.Serializer):
    message = serializers.CharField(max_length=1000)


class DecideSerializer(serializers.Serializer):
    accept = serializers.BooleanField()


class AttendanceSerializer(serializers.Serializer):
    # Checked by the service, which answers a wrong value with ``attendance_invalid``.
    attendance = serializers.CharField(
        max_length=16,
        allow_blank=True,
        trim_whitespace=True,
        help_text=gettext_lazy(
            "attended（参加した）、excused（欠席・連絡あり）、no_show（欠席・連絡なし）、"
            "空文字（未記録に戻す）"
        ),
    )


class HostApplicationSerializer(serializers.ModelSerializer):
    municipality = MunicipalityBriefSerializer(read_only=True)
    person_name = serializers.CharField(source="person.public_name", read_only=True)

    class Meta:
        model = HostApplication
        fields = [
            "id",
            "municipality",
            "person_name",
            "organisation",
            "message",
            "status",
            "applied_at",
            "decided_at",
            "decision_note",
        ]


class HostApplyRequestSerializer(serializers.Serializer):
    municipality = MunicipalityCodeField()
    organisation = serializers.CharField(max_length=100, required=False, allow_blank=True)
    message = serializers.CharField(max_length=2000)


class RevisionFieldSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)
    before_text = serializers.CharField()
    after_text = serializers.CharField()


class RevisionPhotoSerializer(serializers.Serializer):
    before = serializers.CharField(allow_null=True)
    after = serializers.CharField()


class RevisionSessionTimesSerializer(serializers.Serializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    capacity = serializers.IntegerField()


class RevisionSessionSerializer(serializers.Serializer):
    session = serializers.IntegerField(
        allow_null=True, help_text=gettext_lazy("変える開催回の ID（新しい回なら null）")
    )
    before = RevisionSessionTimesSerializer(allow_null=True)
    after = RevisionSessionTimesSerializer()


class TaskRevisionSerializer(serializers.Serializer):
    """A host's change to a published task, held for the town's staff, with what it
    changes against the task as it is now."""

    id = serializers.IntegerField()
    task = serializers.IntegerField(source="task_id")
    task_title = serializers.CharField(source="task.title")
    status = serializers.CharField()
    status_label = serializers.CharField(source="get_status_display")
    author_name = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_note = serializers.CharField()
    changes = serializers.SerializerMethodField()
    photo = serializers.SerializerMethodField()
    sessions = serializers.SerializerMethodField()

    def _diff(self, revision) -> dict:
        cache = self.context.setdefault("diffs", {})
        if revision.pk not in cache:
            cache[revision.pk] = selectors.revision_diff(revision)
        return cache[revision.pk]

    def get_author_name(self, revision) -> str:
        return revision.author.public_name if revision.author else ""

    @extend_schema_field(RevisionFieldSerializer(many=True))
    def get_changes(self, revision):
        return RevisionFieldSerializer(self._diff(revision)["fields"], many=True).data

    @extend_schema_field(RevisionPhotoSerializer(allow_null=True))
    def get_photo(self, revision):
        photo = self._diff(revision)["photo"]
        return None if photo is None else RevisionPhotoSerializer(photo).data

    @extend_schema_field(RevisionSessionSerializer(many=True))
    def get_sessions(self, revision):
        return RevisionSessionSerializer(self._diff(revision)["sessions"], many=True).data
