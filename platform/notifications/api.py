"""``/api/notifications/``: the signed-in person's inbox, unread count, mark read."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Language
from core.api import Pagination

from . import selectors, services
from .models import Channel, Frequency, Notification, Topic


class NotificationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    subject = serializers.CharField()
    body = serializers.CharField()
    url = serializers.CharField()
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)
    is_read = serializers.SerializerMethodField()

    def get_is_read(self, notification) -> bool:
        return notification.read_at is not None


UnreadSerializer = inline_serializer("NotificationUnread", {"unread": serializers.IntegerField()})


class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The person's in-app notifications, newest first, in the request's language."""

    serializer_class = NotificationSerializer
    pagination_class = Pagination
    lookup_value_regex = r"[0-9]+"
    queryset = Notification.objects.none()  # for the schema; get_queryset decides

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        qs = selectors.inbox_of(user=self.request.user)
        if self.request.query_params.get("unread") in ("1", "true"):
            qs = qs.filter(read_at__isnull=True)
        return qs

    @extend_schema(summary="未読の件数", responses=UnreadSerializer)
    @action(detail=False, methods=["get"], url_path="unread-count")
    def unread_count(self, request):
        return Response({"unread": selectors.unread_count(user=request.user)})

    @extend_schema(summary="既読にする", request=None, responses=NotificationSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        notification = get_object_or_404(selectors.inbox_of(user=request.user), pk=pk)
        services.notifications_mark_read(user=request.user, ids=[notification.pk])
        notification.refresh_from_db()
        return Response(NotificationSerializer(notification).data)

    @extend_schema(summary="すべて既読にする", request=None, responses=UnreadSerializer)
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        services.notifications_mark_read(user=request.user)
        return Response({"unread": 0})


# --- Preferences -------------------------------------------------------------------------


class PreferenceRowSerializer(serializers.Serializer):
    topic = serializers.ChoiceField(choices=Topic.choices)
    topic_label = serializers.CharField(read_only=True)
    inbox = serializers.ChoiceField(choices=Frequency.choices, required=False)
    email = serializers.ChoiceField(choices=Frequency.choices, required=False)


class PreferencesSerializer(serializers.Serializer):
    language = serializers.ChoiceField(choices=Language.choices, required=False)
    match_weekly_cap = serializers.IntegerField(read_only=True)
    preferences = PreferenceRowSerializer(many=True, required=False)


def _preferences_data(user) -> dict:
    chosen = services.preferences_of(user=user)
    return {
        "language": user.language,
        "match_weekly_cap": settings.NOTIFICATIONS_MATCH_WEEKLY_CAP,
        "preferences": [
            {"topic": topic, "topic_label": str(label), **chosen[topic]}
            for topic, label in Topic.choices
        ],
    }


class NotificationPreferencesView(APIView):
    """The signed-in person's choices: per topic, how the inbox and e-mail receive it
    (``immediately``/``daily``/``weekly``/``never``; the inbox has no digests), and the
    language of e-mail. PUT and PATCH change only the rows and fields they name."""

    @extend_schema(summary="お知らせの設定", responses=PreferencesSerializer)
    def get(self, request):
        return Response(_preferences_data(request.user))

    @extend_schema(
        summary="お知らせの設定を変える",
        request=PreferencesSerializer,
        responses=PreferencesSerializer,
    )
    def patch(self, request):
        serializer = PreferencesSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changes = [
            (row["topic"], channel, row[channel])
            for row in serializer.validated_data.get("preferences", [])
            for channel in Channel.values
            if channel in row
        ]
        services.preferences_set(
            user=request.user, changes=changes, language=serializer.validated_data.get("language")
        )
        return Response(_preferences_data(request.user))

    @extend_schema(
        summary="お知らせの設定を変える",
        request=PreferencesSerializer,
        responses=PreferencesSerializer,
    )
    def put(self, request):
        return self.patch(request)
