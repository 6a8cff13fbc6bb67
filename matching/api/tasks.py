"""``/api/tasks/``: finding tasks, one task, and the host's and staff's writes to it."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import SAFE_METHODS, AllowAny, IsAuthenticated
from rest_framework.response import Response

from core.errors import Denied
from core.public_cache import PublicCacheMixin, api_response
from places.versions import PLACES
from registry.models import Category

from .. import selectors, services
from ..board_version import BOARD
from ..errors import MatchingCode
from ..forms import TaskFilterForm
from ..models import (
    Task,
    TaskRevision,
    TaskStatus,
)
from .reviews import TaskRevisionReviewActions
from .rows import BriefRows, brief_values
from .serializers import (
    NoteSerializer,
    ParticipantSerializer,
    ReasonSerializer,
    ReportSerializer,
    SessionSerializer,
    SessionWriteSerializer,
    TaskBriefSerializer,
    TaskRevisionSerializer,
    TaskSerializer,
    TaskUpdateSerializer,
    TaskWriteSerializer,
    WatchSerializer,
)

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


class TaskViewSet(PublicCacheMixin, TaskRevisionReviewActions, viewsets.GenericViewSet):
    """Help tasks: public to find and read; hosts and staff write them."""

    public_cache_names = (BOARD, PLACES)

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
                raise ValidationError(
                    {
                        "status": ValidationError(
                            _("状態の指定が正しくありません。"), code=MatchingCode.STATUS_INVALID
                        )
                    }
                )
            code = params.get("municipality", "")
            if code and not (len(code) == 6 and code.isdigit()):
                raise ValidationError(
                    {
                        "municipality": ValidationError(
                            _("市区町村コードは6桁の数字です。"),
                            code=MatchingCode.MUNICIPALITY_CODE_INVALID,
                        )
                    }
                )
            qs = selectors.tasks_managed_by(
                user=request.user, municipality_code=code, status=status_
            )
            page = self.paginate_queryset(qs)
            return self.get_paginated_response(TaskBriefSerializer(page, many=True).data)
        # The board, the same for everyone who asks the same (but "near my home"): from
        # the public cache, its rows straight from their columns (api/rows.py).
        return self._public(lambda: self._board(request), shared=self.public_cache_shared(request))

    def public_cache_shared(self, request) -> bool:
        params = request.query_params
        return (
            self.action == "list"
            and params.get("managed") not in ("1", "true")
            and params.get("near") != "home"
        )

    def _board(self, request) -> Response:
        form = TaskFilterForm(request.query_params, viewer=request.user)
        if not form.is_valid():
            raise ValidationError(form.errors.as_data())  # with each error's code
        page = self.paginate_queryset(brief_values(selectors.task_search(form.query())))
        return self.get_paginated_response(BriefRows().rows(page))

    def _public(self, build, *, shared: bool = False):
        return api_response(self.request, names=self.public_cache_names, build=build, shared=shared)

    @extend_schema(summary="お手伝いの詳細", responses=TaskSerializer)
    def retrieve(self, request, pk=None):
        return self._public(
            lambda: Response(TaskSerializer(self._task(), context={"request": request}).data)
        )

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
            raise Denied(
                _("このお手伝いを管理する権限がありません。"), code=MatchingCode.NOT_TASK_MANAGER
            )
        page = self.paginate_queryset(selectors.revisions_of(task))
        return self.get_paginated_response(TaskRevisionSerializer(page, many=True).data)

    def _revision(self) -> TaskRevision:
        revision = selectors.revision_get(user=self.request.user, pk=self.kwargs["revision"])
        if str(revision.task_id) != str(self.kwargs["pk"]):
            raise Http404
        return revision

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
            raise Denied(
                _("このお手伝いを管理する権限がありません。"), code=MatchingCode.NOT_TASK_MANAGER
            )
        page = self.paginate_queryset(services.participants_read(viewer=request.user, task=task))
        return self.get_paginated_response(ParticipantSerializer(page, many=True).data)
