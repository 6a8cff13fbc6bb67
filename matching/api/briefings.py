"""``/api/tasks/{id}/briefing/``: the briefing for participants (its managers write it; they
and the people holding a place read it), and ``/api/me/calendar-feed/``: the person's
calendar feed, its URLs, made and remade."""

from __future__ import annotations

from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import Denied

from .. import selectors, services
from ..errors import MatchingCode


def _text() -> serializers.CharField:
    # Free text, kept as typed. No max_length here: the service refuses what is too long,
    # with its own code.
    return serializers.CharField(allow_blank=True, required=False, trim_whitespace=True)


class BriefingSerializer(serializers.Serializer):
    meeting_point = _text()
    address = _text()
    latitude = serializers.FloatField(allow_null=True, required=False)
    longitude = serializers.FloatField(allow_null=True, required=False)
    instructions = _text()
    contact = _text()
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)


def _out(briefing) -> dict:
    if briefing is None:
        return {
            **{
                name: None if name in ("latitude", "longitude") else ""
                for name in services.BRIEFING_FIELDS
            },
            "updated_at": None,
        }
    return BriefingSerializer(briefing).data


class TaskBriefingView(APIView):
    """Where exactly to meet, what happens on the day, whom to call: for the people holding
    a place and the task's host and staff, never in the task's public data. A change takes
    effect at once (it is not reviewed: it is not public)."""

    def _task(self, request, pk):
        return selectors.task_get(user=request.user, pk=pk)

    @extend_schema(
        summary="参加者向けの案内（参加が決まった人・ヌシ・職員）", responses=BriefingSerializer
    )
    def get(self, request, pk: int):
        task = self._task(request, pk)
        if services.may_manage_task(request.user, task) or selectors.holds_place(
            user=request.user, task=task
        ):
            return Response(_out(selectors.briefing_of(task)))
        raise Http404  # not theirs to read, whether or not one was written

    def _write(self, request, pk: int, *, partial: bool) -> Response:
        task = self._task(request, pk)
        if not services.may_manage_task(request.user, task):
            raise Denied(
                _("このお手伝いを管理する権限がありません。"), code=MatchingCode.NOT_TASK_MANAGER
            )
        serializer = BriefingSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        if not partial:  # a PUT says the whole briefing: what it leaves out is emptied
            for name in services.BRIEFING_FIELDS:
                fields.setdefault(name, None if name in ("latitude", "longitude") else "")
        briefing = services.briefing_set(task=task, actor=request.user, **fields)
        return Response(_out(briefing))

    @extend_schema(
        summary="参加者向けの案内を書く（ヌシ・職員）",
        request=BriefingSerializer,
        responses=BriefingSerializer,
    )
    def put(self, request, pk: int):
        return self._write(request, pk, partial=False)

    @extend_schema(
        summary="参加者向けの案内の一部を変える（ヌシ・職員）",
        request=BriefingSerializer,
        responses=BriefingSerializer,
    )
    def patch(self, request, pk: int):
        return self._write(request, pk, partial=True)


class CalendarFeedSerializer(serializers.Serializer):
    url = serializers.CharField(help_text="https の購読URL")
    webcal_url = serializers.CharField(help_text="webcal:// の購読URL")
    created_at = serializers.DateTimeField()


def _feed_out(request, feed) -> dict:
    url = request.build_absolute_uri(reverse("matching:calendar_feed", args=[feed.token]))
    return {
        "url": url,
        "webcal_url": "webcal://" + url.split("://", 1)[1],
        "created_at": feed.created_at,
    }


class CalendarFeedView(APIView):
    """The person's calendar feed: a secret URL listing every session they hold (and, for a
    host or staff member, every session of the tasks they run)."""

    @extend_schema(summary="カレンダー購読のURL（なければ 404）", responses=CalendarFeedSerializer)
    def get(self, request):
        feed = selectors.calendar_feed_of(person=request.user)
        if feed is None:
            raise Http404
        return Response(_feed_out(request, feed))

    @extend_schema(
        summary="カレンダー購読のURLを作る（あればそのまま）",
        request=None,
        responses={200: CalendarFeedSerializer, 201: CalendarFeedSerializer},
    )
    def post(self, request):
        existed = selectors.calendar_feed_of(person=request.user) is not None
        feed = services.calendar_feed_get(person=request.user)
        return Response(
            _feed_out(request, feed),
            status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
        )


class CalendarFeedRevokeView(APIView):
    @extend_schema(
        summary="カレンダー購読のURLを作り直す（古いURLは使えなくなる）",
        request=None,
        responses=CalendarFeedSerializer,
    )
    def post(self, request):
        return Response(_feed_out(request, services.calendar_feed_revoke(person=request.user)))
