"""``/api/municipalities/{code}/announcements/``: what staff write to their registrants."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import managed_municipality
from core.api import Pagination

from .. import selectors, services
from ..models import Announcement


class AnnouncementSerializer(serializers.ModelSerializer):
    state_label = serializers.CharField(source="get_state_display", read_only=True)

    class Meta:
        model = Announcement
        fields = [
            "id",
            "title",
            "body",
            "state",
            "state_label",
            "created_at",
            "sent_at",
            "recipients",
        ]
        read_only_fields = ["state", "created_at", "sent_at", "recipients"]


class AnnouncementsView(APIView):
    """A municipality's announcements to the registrants who agreed to receive them: its
    staff list them and write new ones (delivered in batches by a worker)."""

    pagination_class = Pagination  # the schema describes the page, as the response is

    @extend_schema(
        summary="自治体からのお知らせ（職員）", responses=AnnouncementSerializer(many=True)
    )
    def get(self, request, code: str):
        municipality = managed_municipality(user=request.user, code=code)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            selectors.announcements_of(municipality=municipality), request, view=self
        )
        return paginator.get_paginated_response(AnnouncementSerializer(page, many=True).data)

    @extend_schema(
        summary="お知らせを送る（職員）",
        request=AnnouncementSerializer,
        responses={201: AnnouncementSerializer},
    )
    def post(self, request, code: str):
        municipality = managed_municipality(user=request.user, code=code)
        serializer = AnnouncementSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        announcement = services.announcement_create(
            municipality=municipality, actor=request.user, **serializer.validated_data
        )
        return Response(AnnouncementSerializer(announcement).data, status=status.HTTP_201_CREATED)
