"""``/api/recommendations/``: the tasks the matcher suggests to the person."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.views import APIView

from core.api import Pagination
from registry.models import Profile

from .. import selectors
from ..matcher import reason_codes, reason_texts
from .serializers import TaskBriefSerializer


class RecommendationSerializer(serializers.Serializer):
    task = TaskBriefSerializer()
    score = serializers.FloatField()
    distance_km = serializers.FloatField(allow_null=True)
    reasons = serializers.ListField(child=serializers.CharField())
    reason_codes = serializers.ListField(child=serializers.JSONField())


class RecommendationsView(APIView):
    """Tasks that suit the signed-in person, best first, with the reasons (the matcher's
    scorer; refreshed when their profile, registrations or the tasks change)."""

    pagination_class = Pagination  # the schema describes the page, as the response is

    @extend_schema(summary="あなたへのおすすめ", responses=RecommendationSerializer(many=True))
    def get(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            selectors.recommendations_of(user=request.user), request, view=self
        )
        profile = Profile.objects.filter(user=request.user).first()
        rows = []
        for match in page:
            codes = reason_codes(match, match.task, profile)
            rows.append(
                {
                    "task": match.task,
                    "score": round(match.score, 1),
                    "distance_km": (
                        None if match.distance_km is None else round(match.distance_km, 1)
                    ),
                    "reasons": reason_texts(codes),
                    "reason_codes": codes,
                }
            )
        return paginator.get_paginated_response(
            RecommendationSerializer(rows, many=True, context={"request": request}).data
        )
