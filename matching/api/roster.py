"""``/api/sessions/{id}/roster/``: a session's roster for the task's host and the town's
staff — each participant's name, furigana and the details they agreed to give. Every read
is audited; a session one does not manage is a 404."""

from __future__ import annotations

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors, services
from ..models import SignupStatus


class RosterRowSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    signup = serializers.IntegerField(source="signup.pk")
    status = serializers.ChoiceField(choices=SignupStatus.choices, source="signup.status")
    status_label = serializers.CharField()
    attendance = serializers.CharField(source="signup.attendance")
    full_name = serializers.CharField()
    furigana = serializers.CharField()
    phone = serializers.CharField()
    emergency_name = serializers.CharField()
    emergency_phone = serializers.CharField()
    birth_date = serializers.DateField(allow_null=True)
    details = serializers.ChoiceField(
        choices=["given", "deleted", "missing"],
        source="state",
        help_text=gettext_lazy(
            "given: 提供済み、deleted: 保存期間を過ぎて削除済み、missing: 提供なし"
        ),
    )


class RosterSerializer(serializers.Serializer):
    task = serializers.IntegerField(source="task.pk")
    session = serializers.IntegerField(source="session.pk")
    starts_at = serializers.DateTimeField(source="session.starts_at")
    ends_at = serializers.DateTimeField(source="session.ends_at")
    asks_phone = serializers.BooleanField(source="task.asks_phone")
    asks_emergency_contact = serializers.BooleanField(source="task.asks_emergency_contact")
    asks_birth_date = serializers.BooleanField(source="task.asks_birth_date")
    asks_reason = serializers.CharField(source="task.asks_reason")
    details_deleted = serializers.BooleanField(source="deleted")
    details_deleted_on = serializers.DateField(source="deletes_on")
    rows = RosterRowSerializer(many=True)


class RosterView(APIView):
    """A session's participants with their roster details (host and the town's staff)."""

    @extend_schema(
        summary="開催回の参加者名簿（ヌシ・自治体職員。閲覧は記録されます）",
        responses=RosterSerializer,
    )
    def get(self, request, pk: int):
        session = selectors.session_managed_get(user=request.user, pk=pk)
        roster = services.roster_read(viewer=request.user, session=session, fmt="api")
        return Response(RosterSerializer(roster).data)
