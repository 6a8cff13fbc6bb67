"""``/api/prefectures/`` and ``/api/municipalities/`` (read-only, public)."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny

from core.public_cache import PublicCacheMixin, api_response
from core.text import nfkc

from .models import Municipality, Prefecture, Region
from .selectors import municipalities_matching, municipality_nearby, prefecture_list
from .versions import PLACES


class MunicipalityCodeField(serializers.SlugRelatedField):
    default_error_messages = {
        "does_not_exist": gettext_lazy(
            "市区町村コード「{value}」は見つかりません。6桁の全国地方公共団体コードで指定してください。"
        ),
        "invalid": gettext_lazy("市区町村コードは6桁の数字の文字列で指定してください。"),
    }

    def __init__(self, **kwargs):
        super().__init__(slug_field="code", queryset=Municipality.objects.all(), **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str | int) or isinstance(data, bool):
            self.fail("invalid")
        code = nfkc(str(data)).strip()
        if not (len(code) == 6 and code.isdigit()):
            self.fail("does_not_exist", slug_name="code", value=code[:20])
        return super().to_internal_value(code)


class MunicipalityBriefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    romaji = serializers.CharField(help_text="Hepburn: Hida-shi")
    prefecture = serializers.CharField(source="prefecture.name")
    prefecture_romaji = serializers.CharField(source="prefecture.romaji", help_text="Gifu")


class PrefectureSerializer(serializers.ModelSerializer):
    region_label = serializers.CharField(source="get_region_display", read_only=True)

    class Meta:
        model = Prefecture
        fields = ["code", "lg_code", "name", "kana", "romaji", "region", "region_label"]


class PrefectureBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Prefecture
        fields = ["code", "name", "romaji"]


class MunicipalitySerializer(serializers.ModelSerializer):
    prefecture = PrefectureBriefSerializer(read_only=True)
    english_name = serializers.CharField(
        read_only=True, help_text="The romaji as English names the town: Hida (Hida-shi)"
    )
    region = serializers.CharField(source="prefecture.region", read_only=True)
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = Municipality
        fields = [
            "code",
            "name",
            "kana",
            "romaji",
            "english_name",
            "kind",
            "kind_label",
            "prefecture",
            "region",
            "latitude",
            "longitude",
        ]


class NearbyMunicipalitySerializer(MunicipalitySerializer):
    distance_km = serializers.FloatField(read_only=True)

    class Meta(MunicipalitySerializer.Meta):
        fields = [*MunicipalitySerializer.Meta.fields, "distance_km"]


class MunicipalityFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(
        method="filter_search",
        max_length=100,
        label=_("名称（漢字・かな・カナ・ローマ字）またはコード"),
    )
    prefecture = django_filters.ModelChoiceFilter(
        queryset=Prefecture.objects.all(), field_name="prefecture", label=_("都道府県コード（2桁）")
    )
    region = django_filters.ChoiceFilter(
        choices=Region.choices, field_name="prefecture__region", label=_("地方")
    )

    class Meta:
        model = Municipality
        fields = ["search", "prefecture", "region"]

    def filter_search(self, queryset, name, value):
        return municipalities_matching(queryset, query=value)


class NearbyQuerySerializer(serializers.Serializer):
    km = serializers.FloatField(min_value=1, max_value=300, default=30, label=_("半径（km）"))


@extend_schema_view(
    list=extend_schema(summary="都道府県の一覧（JIS コード順）"),
    retrieve=extend_schema(summary="都道府県"),
)
class PrefectureViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = PrefectureSerializer
    permission_classes = [AllowAny]
    lookup_field = "code"
    filter_backends: list = []

    def get_queryset(self):
        return prefecture_list()


@extend_schema_view(
    list=extend_schema(summary="市区町村の検索（漢字・かな・カナ・ローマ字・コード）"),
    retrieve=extend_schema(summary="市区町村"),
)
class MunicipalityViewSet(PublicCacheMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = MunicipalitySerializer
    permission_classes = [AllowAny]
    lookup_field = "code"
    lookup_value_regex = r"[0-9]{6}"
    filterset_class = MunicipalityFilter
    public_cache_names = (PLACES,)
    public_cache_actions = ("list",)

    def get_queryset(self):
        return Municipality.objects.select_related("prefecture").order_by("code")

    def public_cache_shared(self, request) -> bool:
        return True

    def list(self, request, *args, **kwargs):
        """The search, from the public cache: the same for everyone who asks the same."""
        return api_response(
            request,
            names=self.public_cache_names,
            build=lambda: super(MunicipalityViewSet, self).list(request, *args, **kwargs),
            shared=self.public_cache_shared(request),
        )

    @extend_schema(
        summary="近くの市区町村（距離つき、近い順）",
        parameters=[OpenApiParameter("km", OpenApiTypes.FLOAT, description="半径（km）、1〜300")],
        responses=NearbyMunicipalitySerializer(many=True),
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def nearby(self, request, code=None):
        municipality = self.get_object()
        query = NearbyQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows = municipality_nearby(municipality=municipality, km=query.validated_data["km"])
        for other, km in rows:
            other.distance_km = round(km, 1)
        page = self.paginate_queryset([other for other, _km in rows])
        return self.get_paginated_response(NearbyMunicipalitySerializer(page, many=True).data)
