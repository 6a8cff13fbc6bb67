"""Staff endpoints under ``/api/municipalities/{code}/``: registrants (JSON or CSV) and perks."""

from __future__ import annotations

import json

from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from accounts.selectors import managed_municipality, managed_object, staff_scope
from core.api import Pagination
from core.dates import SaneDateField
from places.models import Municipality

from .. import flags, selectors, services
from ..exports import csv_response
from ..models import Perk, PerkKind, RelationshipType, TieOrigin, Tier
from .registrations import PerkSerializer


class RegistrantSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    registered_at = serializers.DateTimeField()
    types = serializers.ListField(child=serializers.CharField())
    origin = serializers.CharField()
    tier = serializers.CharField()
    premium_until = serializers.DateField(allow_null=True)
    last_activity_on = serializers.DateField(allow_null=True)
    activities_this_year = serializers.IntegerField(allow_null=True)
    allow_announcements = serializers.BooleanField()
    name = serializers.CharField(allow_null=True, help_text=gettext_lazy("同意がなければ null"))
    name_kana = serializers.CharField(allow_null=True)
    email = serializers.CharField(allow_null=True)
    age_band = serializers.CharField(allow_null=True)
    skills = serializers.ListField(child=serializers.CharField(), allow_null=True)
    interests = serializers.ListField(child=serializers.CharField(), allow_null=True)


class RegistrantFilterSerializer(serializers.Serializer):
    tier = serializers.ChoiceField(choices=Tier.choices, required=False)
    type = serializers.ChoiceField(choices=RelationshipType.choices, required=False)
    origin = serializers.ChoiceField(choices=TieOrigin.choices, required=False)
    registered_from = SaneDateField(required=False)
    registered_to = SaneDateField(required=False)
    active_within_days = serializers.IntegerField(required=False, min_value=1, max_value=3660)
    announcements = serializers.BooleanField(required=False, allow_null=True, default=None)

    def criteria(self) -> dict:
        data = dict(self.validated_data)
        kind = data.pop("type", None)
        if kind:
            data["type_bit"] = flags.bit(RelationshipType, kind)
        return data


CSV_COLUMNS = list(RegistrantSerializer().fields)


class CSVRenderer(BaseRenderer):
    """Lets ``?format=csv`` and ``Accept: text/csv`` through content negotiation; the view
    streams the CSV itself."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return json.dumps(data, ensure_ascii=False).encode()  # only errors get here


def registrants_csv_response(rows, filename: str) -> StreamingHttpResponse:
    """All rows as CSV with the API's field names as the header, streamed."""
    return csv_response(CSV_COLUMNS, ([row[c] for c in CSV_COLUMNS] for row in rows), filename)


class RegistrantsView(APIView):
    """The municipality's registrants, for its own staff: consented fields only. Every read
    is audited. ``?format=csv`` (or ``Accept: text/csv``) exports all matching rows."""

    renderer_classes = [*api_settings.DEFAULT_RENDERER_CLASSES, CSVRenderer]
    pagination_class = Pagination  # the schema describes the page, as the response is

    @extend_schema(
        summary="登録者の一覧（自治体職員、同意した項目だけ）",
        parameters=[
            RegistrantFilterSerializer,
            OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "csv"]),
        ],
        responses=RegistrantSerializer(many=True),
    )
    def get(self, request, code: str):
        # 404, then 403, before anything else
        municipality = managed_municipality(user=request.user, code=code)
        filters = RegistrantFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        criteria = filters.criteria()
        as_csv = request.accepted_renderer.format == "csv"
        queryset = services.registrants_read(
            viewer=request.user,
            municipality=municipality,
            action="registrants.export" if as_csv else "registrants.list",
            detail={
                "filters": {k: str(v) for k, v in criteria.items() if v is not None},
                "page": request.query_params.get("page", "1"),
                "via": "api",
            },
        )
        queryset = selectors.registrants_filter(queryset, **criteria)
        today = timezone.localdate()
        if as_csv:
            rows = (selectors.registrant_row(r, today) for r in queryset.iterator(chunk_size=2000))
            return registrants_csv_response(rows, f"registrants-{code}-{today.isoformat()}.csv")
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, request, view=self)
        rows = [selectors.registrant_row(r, today) for r in page]
        return paginator.get_paginated_response(RegistrantSerializer(rows, many=True).data)

    def finalize_response(self, request, response, *args, **kwargs):
        # An error answers in the API's JSON error format even when CSV was asked for.
        renderer = getattr(request, "accepted_renderer", None)
        if response.status_code >= 400 and getattr(renderer, "format", None) == "csv":
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


class PerkWriteSerializer(serializers.Serializer):
    tier = serializers.ChoiceField(choices=Tier.choices, default=Tier.BASIC)
    kind = serializers.ChoiceField(choices=PerkKind.choices)
    title = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=2000)
    url = serializers.URLField(required=False, allow_blank=True, default="")
    is_active = serializers.BooleanField(default=True)


class MunicipalityPerksView(APIView):
    """A municipality's perks: public to read; its staff add them."""

    permission_classes = [AllowAny]

    @extend_schema(summary="市区町村の特典（公開）", responses=PerkSerializer(many=True))
    def get(self, request, code: str):
        municipality = get_object_or_404(Municipality, code=code)
        include_inactive = staff_scope(user=request.user).manages_municipality(code)
        perks = selectors.perks_of(municipality=municipality, include_inactive=include_inactive)
        return Response(PerkSerializer(perks, many=True).data)

    @extend_schema(
        summary="特典を追加する（自治体職員）",
        request=PerkWriteSerializer,
        responses={201: PerkSerializer},
    )
    def post(self, request, code: str):
        if not request.user.is_authenticated:
            self.permission_denied(request)
        municipality = get_object_or_404(Municipality, code=code)
        serializer = PerkWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        perk = services.perk_save(
            perk=Perk(municipality=municipality, **serializer.validated_data), actor=request.user
        )
        return Response(PerkSerializer(perk).data, status=status.HTTP_201_CREATED)


class PerkDetailView(APIView):
    @extend_schema(
        summary="特典を変更する（自治体職員）",
        request=PerkWriteSerializer,
        responses=PerkSerializer,
    )
    def patch(self, request, pk: int):
        perk = self._perk(request, pk)
        serializer = PerkWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        for name, value in serializer.validated_data.items():
            setattr(perk, name, value)
        perk = services.perk_save(perk=perk, actor=request.user)
        return Response(PerkSerializer(perk).data)

    @extend_schema(summary="特典を削除する（自治体職員）", responses={204: None})
    def delete(self, request, pk: int):
        services.perk_delete(perk=self._perk(request, pk), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _perk(self, request, pk: int) -> Perk:
        return managed_object(
            Perk.objects.select_related("municipality"),
            user=request.user,
            pk=pk,
            municipality_field="municipality",
        )
