"""The board's API: ``/api/tasks/``, ``/api/sessions/{id}/``, ``/api/sessions/{id}/signups/``,
``/api/signups/`` and the host applications. Thin: parse, call a service or a selector,
serialise. The filters of ``GET /api/tasks/`` are the pages' (``TaskFilterForm``)."""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import SAFE_METHODS, AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.utils import html
from rest_framework.views import APIView

from core.api import Pagination
from core.dates import SaneDateTimeField
from registry.api import (
    FlagsField,
    MunicipalityBriefSerializer,
    MunicipalityCodeField,
    NormalisedCharField,
)
from registry.models import Category, Profile, Skill
from registry.selectors import managed_municipality, managed_object

from . import selectors, services
from .forms import TaskFilterForm
from .ical import ical_response
from .matcher import reason_codes, reason_texts
from .models import (
    Attendance,
    HostApplication,
    Session,
    Signup,
    SignupMode,
    SignupStatus,
    Task,
    TaskRevision,
    TaskStatus,
)

# --- Serializers -------------------------------------------------------------------------


class SessionSerializer(serializers.ModelSerializer):
    task = serializers.IntegerField(source="task_id", read_only=True)
    places_left = serializers.IntegerField(read_only=True)
    waiting = serializers.SerializerMethodField(help_text=gettext_lazy("キャンセル待ちの人数"))
    signup_closes_at = serializers.SerializerMethodField()
    cancel_closes_at = serializers.SerializerMethodField()

    class Meta:
        model = Session
        fields = [
            "id",
            "task",
            "starts_at",
            "ends_at",
            "capacity",
            "taken",
            "places_left",
            "waiting",
            "status",
            "signup_closes_at",
            "cancel_closes_at",
        ]

    def get_waiting(self, session) -> int:
        """Annotated by ``sessions_of``; a list of sign-ups passes the counts of its page's
        sessions in the context (``waiting``); otherwise counted here."""
        if hasattr(session, "waiting"):
            return session.waiting
        counts = self.context.get("waiting")
        if counts is not None and session.pk in counts:
            return counts[session.pk]
        return selectors.waiting_counts([session.pk]).get(session.pk, 0)

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


def _text(max_length: int, **kwargs) -> NormalisedCharField:
    return NormalisedCharField(max_length=max_length, allow_blank=True, required=False, **kwargs)


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
    title = NormalisedCharField(max_length=120)
    description = NormalisedCharField(max_length=5000)
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
    reward = NormalisedCharField(max_length=1000)
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
    note = NormalisedCharField(max_length=1000, required=False, allow_blank=True, default="")


class WatchSerializer(serializers.Serializer):
    task = serializers.IntegerField()
    watching = serializers.BooleanField()


class ReasonSerializer(serializers.Serializer):
    reason = NormalisedCharField(max_length=1000)


class ReportSerializer(serializers.Serializer):
    report = NormalisedCharField(max_length=5000)
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
        if signup.status != SignupStatus.CONFIRMED:
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
    times_before = serializers.IntegerField(
        help_text=gettext_lazy("この市区町村のお手伝いに以前参加した回数（リピーター）")
    )
    thanks = serializers.CharField()


class SignupCreateSerializer(serializers.Serializer):
    message = NormalisedCharField(max_length=1000, required=False, allow_blank=True, default="")


class ThanksSerializer(serializers.Serializer):
    message = NormalisedCharField(max_length=1000)


class DecideSerializer(serializers.Serializer):
    accept = serializers.BooleanField()


class AttendanceSerializer(serializers.Serializer):
    attendance = serializers.ChoiceField(choices=Attendance.choices)


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
    organisation = NormalisedCharField(max_length=100, required=False, allow_blank=True)
    message = NormalisedCharField(max_length=2000)


class HostDecideSerializer(serializers.Serializer):
    approve = serializers.BooleanField()
    note = NormalisedCharField(max_length=1000, required=False, allow_blank=True, default="")


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


class RevisionDecideSerializer(serializers.Serializer):
    approve = serializers.BooleanField()
    note = NormalisedCharField(max_length=1000, required=False, allow_blank=True, default="")


# --- Tasks -------------------------------------------------------------------------------

FILTER_PARAMETERS = [
    OpenApiParameter("search", OpenApiTypes.STR, description="キーワード（部分一致・かな同一視）"),
    OpenApiParameter("prefecture", OpenApiTypes.STR, description="都道府県コード（2桁）"),
    OpenApiParameter("municipality", OpenApiTypes.STR, description="市区町村コード（6桁）"),
    OpenApiParameter("category", OpenApiTypes.STR, enum=Category.values),
    OpenApiParameter("date_from", OpenApiTypes.DATE),
    OpenApiParameter("date_to", OpenApiTypes.DATE),
    OpenApiParameter("online", OpenApiTypes.BOOL),
    OpenApiParameter("open", OpenApiTypes.BOOL, description="空きのある回があるものだけ"),
    OpenApiParameter("near", OpenApiTypes.STR, description="距離の基準: 市区町村コードか home"),
    OpenApiParameter("within_km", OpenApiTypes.NUMBER),
    OpenApiParameter("include_past", OpenApiTypes.BOOL),
    OpenApiParameter("sort", OpenApiTypes.STR, enum=["date", "new", "distance"]),
    OpenApiParameter(
        "managed",
        OpenApiTypes.BOOL,
        description="自分が管理するお手伝い（下書きを含む）だけ。status で絞り込めます",
    ),
    OpenApiParameter("status", OpenApiTypes.STR, enum=TaskStatus.values),
]


class TaskViewSet(viewsets.GenericViewSet):
    """Help tasks: public to find and read; hosts and staff write them."""

    lookup_value_regex = r"[0-9]+"

    queryset = Task.objects.none()  # for the schema; the selectors decide
    serializer_class = TaskSerializer
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    filter_backends: list = []

    def get_permissions(self):
        if self.request.method in SAFE_METHODS and self.action in ("list", "retrieve"):
            return [AllowAny()]
        return [IsAuthenticated()]

    def _task(self) -> Task:
        return selectors.task_get(user=self.request.user, pk=self.kwargs["pk"])

    def _out(self, task: Task, code: int = status.HTTP_200_OK) -> Response:
        task = selectors.task_get(user=self.request.user, pk=task.pk)
        return Response(TaskSerializer(task, context={"request": self.request}).data, status=code)

    @extend_schema(
        summary="お手伝いをさがす", parameters=FILTER_PARAMETERS, responses=TaskBriefSerializer
    )
    def list(self, request):
        params = request.query_params
        if params.get("managed") in ("1", "true"):
            if not request.user.is_authenticated:
                self.permission_denied(request)
            status_ = params.get("status", "")
            if status_ and status_ not in TaskStatus.values:
                raise ValidationError({"status": _("状態の指定が正しくありません。")})
            code = params.get("municipality", "")
            if code and not (len(code) == 6 and code.isdigit()):
                raise ValidationError({"municipality": _("市区町村コードは6桁の数字です。")})
            qs = selectors.tasks_managed_by(
                user=request.user, municipality_code=code, status=status_
            )
        else:
            form = TaskFilterForm(params, viewer=request.user)
            if not form.is_valid():
                raise ValidationError(form.errors.as_data())  # with each error's code
            qs = selectors.task_search(form.query())
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(TaskBriefSerializer(page, many=True).data)

    @extend_schema(summary="お手伝いの詳細", responses=TaskSerializer)
    def retrieve(self, request, pk=None):
        return Response(TaskSerializer(self._task(), context={"request": request}).data)

    @extend_schema(
        summary="お手伝いを作る（ヌシ・自治体職員。下書きになります）",
        request=TaskWriteSerializer,
        responses={201: TaskSerializer},
    )
    def create(self, request):
        serializer = TaskWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        task = services.task_create(
            actor=request.user,
            municipality=data.pop("municipality"),
            sessions=data.pop("sessions"),
            photo=data.pop("photo", None),
            **data,
        )
        return self._out(task, status.HTTP_201_CREATED)

    def _held(self, revision: TaskRevision) -> Response:
        return Response(TaskRevisionSerializer(revision).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="お手伝いの内容を変える（公開中なら参加者に知らせます。公開中のお手伝いへの"
        "ヌシの変更は、職員が確認するまで反映されず 202 で変更の申請を返します）",
        request=TaskUpdateSerializer,
        responses={200: TaskSerializer, 202: TaskRevisionSerializer},
    )
    def partial_update(self, request, pk=None):
        task = self._task()
        serializer = TaskUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        photo = data.pop("photo", None)
        if services.changes_held(actor=request.user, task=task):
            return self._held(
                services.task_revision_submit(
                    task=task, actor=request.user, fields=data, photo=photo
                )
            )
        services.task_update(task=task, actor=request.user, photo=photo, **data)
        return self._out(task)

    @extend_schema(
        summary="お手伝いの変更の申請（ヌシ・自治体職員。新しいものから）",
        responses=TaskRevisionSerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def revisions(self, request, pk=None):
        task = self._task()
        if not services.may_manage_task(request.user, task):
            raise PermissionDenied(_("このお手伝いを管理する権限がありません。"))
        page = self.paginate_queryset(selectors.revisions_of(task))
        return self.get_paginated_response(TaskRevisionSerializer(page, many=True).data)

    def _revision(self) -> TaskRevision:
        revision = selectors.revision_get(user=self.request.user, pk=self.kwargs["revision"])
        if str(revision.task_id) != str(self.kwargs["pk"]):
            raise Http404
        return revision

    @extend_schema(
        summary="ヌシの変更を承認して反映する・却下する（その市区町村の職員）",
        request=RevisionDecideSerializer,
        responses=TaskRevisionSerializer,
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"revisions/(?P<revision>[0-9]+)/decide",
        url_name="revision-decide",
    )
    def revision_decide(self, request, pk=None, revision=None):
        target = self._revision()
        serializer = RevisionDecideSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        target = services.task_revision_decide(
            revision=target, actor=request.user, **serializer.validated_data
        )
        return Response(
            TaskRevisionSerializer(selectors.revision_get(user=request.user, pk=target.pk)).data
        )

    @extend_schema(
        summary="確認待ちの変更を取り下げる（ヌシ）",
        request=None,
        responses=TaskRevisionSerializer,
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"revisions/(?P<revision>[0-9]+)/withdraw",
        url_name="revision-withdraw",
    )
    def revision_withdraw(self, request, pk=None, revision=None):
        target = services.task_revision_withdraw(revision=self._revision(), actor=request.user)
        return Response(
            TaskRevisionSerializer(selectors.revision_get(user=request.user, pk=target.pk)).data
        )

    @extend_schema(
        operation_id="tasks_revisions_pending",
        summary="確認待ちのヌシの変更（その市区町村の職員）",
        parameters=[
            OpenApiParameter(
                "municipality", OpenApiTypes.STR, required=True, description="市区町村コード（6桁）"
            )
        ],
        responses=TaskRevisionSerializer(many=True),
    )
    @action(detail=False, methods=["get"], url_path="revisions", url_name="revision-queue")
    def revision_queue(self, request):
        code = request.query_params.get("municipality", "")
        if not (len(code) == 6 and code.isdigit()):
            raise ValidationError({"municipality": _("市区町村コードは6桁の数字です。")})
        municipality = managed_municipality(user=request.user, code=code)
        page = self.paginate_queryset(
            selectors.revisions_pending(municipality_code=municipality.code)
        )
        return self.get_paginated_response(TaskRevisionSerializer(page, many=True).data)

    def _transition(self, service, **kwargs) -> Response:
        task = service(task=self._task(), actor=self.request.user, **kwargs)
        return self._out(task)

    @extend_schema(summary="審査を依頼する（ヌシ）", request=None, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._transition(services.task_submit)

    @extend_schema(summary="公開する（自治体職員）", request=None, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        return self._transition(services.task_publish)

    @extend_schema(
        summary="差し戻す（自治体職員）", request=NoteSerializer, responses=TaskSerializer
    )
    @action(detail=True, methods=["post"], url_path="return")
    def send_back(self, request, pk=None):
        serializer = NoteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._transition(services.task_return, note=serializer.validated_data["note"])

    @extend_schema(summary="募集を締め切る", request=None, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        return self._transition(services.task_close)

    @extend_schema(summary="終了にする", request=None, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        return self._transition(services.task_complete)

    @extend_schema(
        summary="中止する（参加者全員に知らせます）",
        request=ReasonSerializer,
        responses=TaskSerializer,
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._transition(services.task_cancel, reason=serializer.validated_data["reason"])

    @extend_schema(
        summary="空きが出たら知らせてもらう（見守る）／やめる",
        request=None,
        responses={200: WatchSerializer, 204: None},
    )
    @action(detail=True, methods=["post", "delete"])
    def watch(self, request, pk=None):
        task = self._task()
        if request.method == "DELETE":
            services.task_unwatch(task=task, person=request.user)
            return Response(status=status.HTTP_204_NO_CONTENT)
        services.task_watch(task=task, person=request.user)
        return Response({"task": task.pk, "watching": True})

    @extend_schema(
        summary="活動レポートを公開する",
        request={"application/json": ReportSerializer, "multipart/form-data": ReportSerializer},
        responses=TaskSerializer,
    )
    @action(detail=True, methods=["post"])
    def report(self, request, pk=None):
        serializer = ReportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._transition(services.task_report_publish, **serializer.validated_data)

    @extend_schema(
        summary="開催回を追加する（公開中のお手伝いへのヌシの追加は、職員の確認待ち: 202）",
        request=SessionWriteSerializer,
        responses={201: SessionSerializer, 202: TaskRevisionSerializer},
    )
    @action(detail=True, methods=["post"])
    def sessions(self, request, pk=None):
        serializer = SessionWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        task = self._task()
        if services.changes_held(actor=request.user, task=task):
            return self._held(
                services.task_revision_submit(
                    task=task, actor=request.user, sessions=[dict(serializer.validated_data)]
                )
            )
        session = services.session_add(task=task, actor=request.user, **serializer.validated_data)
        return Response(SessionSerializer(session).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="参加者の一覧（ヌシ・自治体職員）",
        responses=ParticipantSerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def participants(self, request, pk=None):
        task = self._task()
        if not services.may_manage_task(request.user, task):
            raise PermissionDenied(_("このお手伝いを管理する権限がありません。"))
        page = self.paginate_queryset(services.participants_read(viewer=request.user, task=task))
        return self.get_paginated_response(ParticipantSerializer(page, many=True).data)


# --- Recommendations ---------------------------------------------------------------------


class RecommendationSerializer(serializers.Serializer):
    task = TaskBriefSerializer()
    score = serializers.FloatField()
    distance_km = serializers.FloatField(allow_null=True)
    reasons = serializers.ListField(child=serializers.CharField())
    reason_codes = serializers.ListField(child=serializers.JSONField())


class RecommendationsView(APIView):
    """Tasks that suit the signed-in person, best first, with the reasons (the matcher's
    scorer; refreshed when their profile, registrations or the tasks change)."""

    pagination_class = Pagination  # the schema describes the page, as the response is

    @extend_schema(summary="あなたへのおすすめ", responses=RecommendationSerializer(many=True))
    def get(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            selectors.recommendations_of(user=request.user), request, view=self
        )
        profile = Profile.objects.filter(user=request.user).first()
        rows = []
        for match in page:
            codes = reason_codes(match, match.task, profile)
            rows.append(
                {
                    "task": match.task,
                    "score": round(match.score, 1),
                    "distance_km": (
                        None if match.distance_km is None else round(match.distance_km, 1)
                    ),
                    "reasons": reason_texts(codes),
                    "reason_codes": codes,
                }
            )
        return paginator.get_paginated_response(
            RecommendationSerializer(rows, many=True, context={"request": request}).data
        )


# --- Sessions ----------------------------------------------------------------------------


class SessionViewSet(viewsets.GenericViewSet):
    """A task's sessions: read by everyone who may see the task; changed by its managers."""

    lookup_value_regex = r"[0-9]+"

    queryset = Session.objects.none()
    serializer_class = SessionSerializer
    filter_backends: list = []

    def get_permissions(self):
        if self.request.method in SAFE_METHODS and self.action == "retrieve":
            return [AllowAny()]
        return [IsAuthenticated()]

    def _session(self) -> Session:
        return selectors.session_get(user=self.request.user, pk=self.kwargs["pk"])

    @extend_schema(summary="開催回", responses=SessionSerializer)
    def retrieve(self, request, pk=None):
        session = selectors.sessions_of(self._session().task).get(pk=pk)
        return Response(SessionSerializer(session).data)

    @extend_schema(
        summary="開催回の日時・定員を変える（参加者に知らせます。公開中のお手伝いへのヌシの"
        "変更は、職員の確認待ち: 202）",
        request=SessionUpdateSerializer,
        responses={200: SessionSerializer, 202: TaskRevisionSerializer},
    )
    def partial_update(self, request, pk=None):
        serializer = SessionUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        session = self._session()
        if services.changes_held(actor=request.user, task=session.task):
            revision = services.task_revision_submit(
                task=session.task,
                actor=request.user,
                sessions=[{"session": session.pk, **serializer.validated_data}],
            )
            return Response(TaskRevisionSerializer(revision).data, status=status.HTTP_202_ACCEPTED)
        session = services.session_update(
            session=session, actor=request.user, **serializer.validated_data
        )
        return Response(SessionSerializer(session).data)

    @extend_schema(
        summary="開催回を中止する（参加者に知らせます）",
        request=ReasonSerializer,
        responses=SessionSerializer,
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        session = services.session_cancel(
            session=self._session(), actor=request.user, **serializer.validated_data
        )
        return Response(SessionSerializer(session).data)

    @extend_schema(
        summary="申し込む（POST）／この回の参加者（GET, ヌシ・自治体職員）",
        request=SignupCreateSerializer,
        responses={201: SignupSerializer, 200: ParticipantSerializer(many=True)},
    )
    @action(detail=True, methods=["get", "post"])
    def signups(self, request, pk=None):
        session = self._session()
        if request.method == "GET":
            if not services.may_manage_task(request.user, session.task):
                raise PermissionDenied(_("このお手伝いを管理する権限がありません。"))
            rows = services.participants_read(
                viewer=request.user, task=session.task, session=session
            )
            page = self.paginate_queryset(rows)
            return self.get_paginated_response(ParticipantSerializer(page, many=True).data)
        serializer = SignupCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        signup = services.signup_create(
            session=session, person=request.user, **serializer.validated_data
        )
        signup = selectors.signup_get(user=request.user, pk=signup.pk)
        return Response(SignupSerializer(signup).data, status=status.HTTP_201_CREATED)


# --- Sign-ups ----------------------------------------------------------------------------


class SignupViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The signed-in person's sign-ups; hosts decide and mark attendance on their tasks'."""

    lookup_value_regex = r"[0-9]+"

    serializer_class = SignupSerializer
    queryset = Signup.objects.none()  # for the schema; get_queryset decides
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Signup.objects.none()
        qs = selectors.signups_of(user=self.request.user)
        wanted = self.request.query_params.get("status")
        if self.action == "list" and wanted:
            if wanted not in SignupStatus.values:
                raise ValidationError({"status": _("状態の指定が正しくありません。")})
            qs = qs.filter(status=wanted)
        return qs

    @extend_schema(
        summary="自分の申込の一覧",
        parameters=[OpenApiParameter("status", OpenApiTypes.STR, enum=SignupStatus.values)],
    )
    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        context = {
            "waitlist_positions": selectors.waitlist_positions(page),
            "waiting": selectors.waiting_counts({signup.session_id for signup in page}),
        }
        return self.get_paginated_response(SignupSerializer(page, many=True, context=context).data)

    def _own(self):
        return selectors.signup_get(user=self.request.user, pk=self.kwargs["pk"])

    def _out(self, signup) -> Response:
        return Response(SignupSerializer(self.get_queryset().get(pk=signup.pk)).data)

    @extend_schema(summary="キャンセルする（席はキャンセル待ちの人へ）", request=None)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._out(services.signup_cancel(signup=self._own(), actor=request.user))

    @extend_schema(summary="繰り上げの席で参加を確定する", request=None)
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        return self._out(services.signup_confirm(signup=self._own(), actor=request.user))

    @extend_schema(summary="ありがとうメッセージを残す", request=ThanksSerializer)
    @action(detail=True, methods=["post"])
    def thanks(self, request, pk=None):
        serializer = ThanksSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._out(
            services.signup_thank(
                signup=self._own(), actor=request.user, **serializer.validated_data
            )
        )

    @extend_schema(
        summary="カレンダーに追加する（iCalendar）",
        responses={(200, "text/calendar"): OpenApiTypes.BINARY},
    )
    @action(detail=True, methods=["get"], url_path="ical")
    def ical(self, request, pk=None):
        signup = self._own()
        if signup.status != SignupStatus.CONFIRMED:
            raise ValidationError(_("カレンダーに追加できるのは参加が確定した回だけです。"))
        url = request.build_absolute_uri(
            reverse("matching:task_detail", args=[signup.session.task_id])
        )
        return ical_response(signup, url=url)

    def _managed(self):
        return selectors.signup_managed_get(user=self.request.user, pk=self.kwargs["pk"])

    @extend_schema(
        summary="承認制の申込を受ける・断る（ヌシ・自治体職員）",
        request=DecideSerializer,
        responses=ParticipantSerializer,
    )
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        serializer = DecideSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        signup = services.signup_decide(
            signup=self._managed(), actor=request.user, **serializer.validated_data
        )
        return self._participant(signup)

    @extend_schema(
        summary="出欠をつける（ヌシ・自治体職員）",
        request=AttendanceSerializer,
        responses=ParticipantSerializer,
    )
    @action(detail=True, methods=["post"])
    def attendance(self, request, pk=None):
        serializer = AttendanceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        signup = services.attendance_mark(
            signup=self._managed(), actor=request.user, **serializer.validated_data
        )
        return self._participant(signup)

    def _participant(self, signup) -> Response:
        row = selectors.participants_of(signup.session.task).get(pk=signup.pk)
        return Response(ParticipantSerializer(row).data)


# --- Host applications -------------------------------------------------------------------


class HostApplicationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Applying to host (ヌシ) for a municipality; the person's own applications."""

    lookup_value_regex = r"[0-9]+"

    serializer_class = HostApplicationSerializer
    queryset = HostApplication.objects.none()  # for the schema; get_queryset decides
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return HostApplication.objects.none()
        return selectors.host_applications_of(user=self.request.user)

    @extend_schema(summary="自分のヌシの申請の一覧")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        summary="ヌシ（主催者）として申請する",
        request=HostApplyRequestSerializer,
        responses={201: HostApplicationSerializer},
    )
    def create(self, request):
        serializer = HostApplyRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        application = services.host_apply(person=request.user, **serializer.validated_data)
        return Response(HostApplicationSerializer(application).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="ヌシの申請を承認・不承認にする（その市区町村の職員）",
        request=HostDecideSerializer,
        responses=HostApplicationSerializer,
    )
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        application = managed_object(
            HostApplication.objects.select_related("municipality", "person"),
            user=request.user,
            pk=pk,
            municipality_field="municipality",
        )
        serializer = HostDecideSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        application = services.host_application_decide(
            application=application, actor=request.user, **serializer.validated_data
        )
        return Response(HostApplicationSerializer(application).data)


class HostApplicationQueueView(APIView):
    """A municipality's pending host applications, for its staff."""

    @extend_schema(
        summary="審査待ちのヌシの申請（自治体職員）",
        responses=HostApplicationSerializer(many=True),
    )
    def get(self, request, code: str):
        municipality = managed_municipality(user=request.user, code=code)
        rows = services.host_queue_read(viewer=request.user, municipality=municipality)
        return Response(HostApplicationSerializer(rows, many=True).data)
