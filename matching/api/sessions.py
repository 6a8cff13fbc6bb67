"""``/api/sessions/{id}/``: one session, its changes, and signing up for it."""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import SAFE_METHODS, AllowAny, IsAuthenticated
from rest_framework.response import Response

from core.errors import Conflict, Denied, code_of

from .. import selectors, services
from ..errors import MatchingCode
from ..models import (
    Session,
)
from .serializers import (
    ParticipantSerializer,
    ReasonSerializer,
    SessionSerializer,
    SessionUpdateSerializer,
    SignupCreateSerializer,
    SignupSerializer,
    TaskRevisionSerializer,
)


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
        if request.method == "POST":
            return self._sign_up(request, int(pk))
        session = self._session()
        if request.method == "GET":
            if not services.may_manage_task(request.user, session.task):
                raise Denied(
                    _("このお手伝いを管理する権限がありません。"),
                    code=MatchingCode.NOT_TASK_MANAGER,
                )
            rows = services.participants_read(
                viewer=request.user, task=session.task, session=session
            )
            page = self.paginate_queryset(rows)
            return self.get_paginated_response(ParticipantSerializer(page, many=True).data)

    def _sign_up(self, request, pk: int) -> Response:
        """The service reads (and locks) the session itself, and comes back with it as it is
        after the sign-up (its counts too): no read before, none after. A session the person
        may not see still answers 404, found out when the service refuses it."""
        serializer = SignupCreateSerializer(data=request.data)
        if not serializer.is_valid():
            self._session()
            raise ValidationError(serializer.errors)
        try:
            signup = services.signup_create(
                session=Session(pk=pk),
                person=request.user,
                message=serializer.validated_data["message"],
                details=serializer.details(),
                confirm_overlap=serializer.validated_data["confirm_overlap"],
            )
        except Session.DoesNotExist as exc:
            raise Http404 from exc
        except Conflict as exc:
            if code_of(exc) == MatchingCode.TASK_NOT_PUBLISHED:
                self._session()
            raise
        return Response(SignupSerializer(signup).data, status=status.HTTP_201_CREATED)
