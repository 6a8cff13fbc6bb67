"""``/api/signups/``: a person's sign-ups, and what the host does with them."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from .. import selectors, services
from ..errors import MatchingCode
from ..ical import ical_response
from ..models import (
    Signup,
    SignupStatus,
)
from ..services.hosting import offered_counts
from .serializers import (
    AttendanceSerializer,
    CancelSerializer,
    DecideSerializer,
    ParticipantSerializer,
    SignupSerializer,
    ThanksSerializer,
)


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
                raise ValidationError(
                    {
                        "status": ValidationError(
                            _("状態の指定が正しくありません。"), code=MatchingCode.STATUS_INVALID
                        )
                    }
                )
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
            "offered": offered_counts({signup.session_id for signup in page}),
        }
        return self.get_paginated_response(SignupSerializer(page, many=True, context=context).data)

    def _own(self):
        return selectors.signup_get(user=self.request.user, pk=self.kwargs["pk"])

    def _out(self, signup) -> Response:
        return Response(SignupSerializer(self.get_queryset().get(pk=signup.pk)).data)

    @extend_schema(
        summary="キャンセルする（席はキャンセル待ちの人へ。理由は任意でヌシに伝わります）",
        request=CancelSerializer,
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        serializer = CancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._out(
            services.signup_cancel(
                signup=self._own(), actor=request.user, **serializer.validated_data
            )
        )

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
            raise ValidationError(
                _("カレンダーに追加できるのは参加が確定した回だけです。"),
                code=MatchingCode.SIGNUP_NOT_CONFIRMED,
            )
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
