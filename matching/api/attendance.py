"""``/api/sessions/{id}/attendance/``: "everyone present" for a session, by its host or the
town's staff. One participant's mark is ``/api/signups/{id}/attendance/`` (``signups``)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors, services
from ..models import Attendance
from .serializers import ParticipantSerializer


class AttendanceAllSerializer(serializers.Serializer):
    # Checked by the service, which answers a wrong value with ``attendance_invalid``.
    attendance = serializers.CharField(
        max_length=16,
        allow_blank=True,
        required=False,
        default=Attendance.ATTENDED,
        help_text=gettext_lazy(
            "まとめてつける出欠: attended（既定）、excused（欠席・連絡あり）、"
            "no_show（欠席・連絡なし）"
        ),
    )


class AttendanceAllResultSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text=gettext_lazy("いま出欠をつけた人数"))
    participants = ParticipantSerializer(many=True)


class SessionAttendanceView(APIView):
    """Mark every confirmed participant of the session whose attendance is not recorded yet
    (the marks already made stay; one's own sign-up is left for someone else)."""

    @extend_schema(
        summary="出欠のついていない確定者をまとめて「参加した」にする（ヌシ・自治体職員）",
        request=AttendanceAllSerializer,
        responses=AttendanceAllResultSerializer,
    )
    def post(self, request, pk: int):
        serializer = AttendanceAllSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        session = selectors.session_managed_get(user=request.user, pk=pk)
        marked = services.attendance_mark_all(
            session=session, actor=request.user, **serializer.validated_data
        )
        rows = selectors.participants_of(session.task).filter(pk__in=[s.pk for s in marked])
        return Response(
            AttendanceAllResultSerializer({"marked": len(marked), "participants": list(rows)}).data
        )
