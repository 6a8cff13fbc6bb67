"""The staff's decisions in the API: on host applications and on hosts' revisions, and
their queues, through the one review queue (``accounts.review``)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.review import DecisionSerializer, decide_from_api
from accounts.selectors import managed_municipality, managed_object

from .. import selectors, services
from ..errors import MatchingCode
from ..models import (
    HostApplication,
)
from .serializers import (
    HostApplicationSerializer,
    TaskRevisionSerializer,
)


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


class TaskRevisionReviewActions:
    """The staff's actions on hosts' revisions, part of ``TaskViewSet``."""

    @extend_schema(
        summary="ヌシの変更を承認して反映する・却下する（その市区町村の職員）",
        request=DecisionSerializer,
        responses=TaskRevisionSerializer,
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"revisions/(?P<revision>[0-9]+)/decide",
        url_name="revision-decide",
    )
    def revision_decide(self, request, pk=None, revision=None):
        target = decide_from_api(request, services.TASK_REVISIONS, self._revision())
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
            raise ValidationError(
                {
                    "municipality": ValidationError(
                        _("市区町村コードは6桁の数字です。"),
                        code=MatchingCode.MUNICIPALITY_CODE_INVALID,
                    )
                }
            )
        municipality = managed_municipality(user=request.user, code=code)
        page = self.paginate_queryset(
            selectors.revisions_pending(municipality_code=municipality.code)
        )
        return self.get_paginated_response(TaskRevisionSerializer(page, many=True).data)


class HostApplicationReviewActions:
    """The staff's decision on a host application, part of ``HostApplicationViewSet``."""

    @extend_schema(
        summary="ヌシの申請を承認・不承認にする（その市区町村の職員）",
        request=DecisionSerializer,
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
        application = decide_from_api(request, services.HOST_APPLICATIONS, application)
        return Response(HostApplicationSerializer(application).data)
