"""Staff decisions on premium applications and reported activities.

The decisions are the one review queue's API action (``accounts.review.DecisionView``).
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.review import DecisionSerializer, DecisionView
from places.models import Municipality

from .. import selectors, services
from ..models import Activity, PremiumApplication
from .registrations import ActivitySerializer, PremiumApplicationSerializer


class ReviewApplicationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    registration = serializers.IntegerField(source="registration_id")
    applied_at = serializers.DateTimeField()
    message = serializers.CharField()
    verifier = serializers.CharField()
    name = serializers.SerializerMethodField(
        help_text=gettext_lazy("本人確認のため、申請者の氏名は審査する職員に示されます")
    )
    name_kana = serializers.SerializerMethodField()
    email = serializers.SerializerMethodField(
        help_text=gettext_lazy("連絡先の提供に同意した場合だけ")
    )

    def get_name(self, application) -> str | None:
        return selectors.person_name(application.registration.person)

    def get_name_kana(self, application) -> str:
        person = application.registration.person
        return f"{person.family_name_kana} {person.given_name_kana}".strip()

    def get_email(self, application) -> str | None:
        registration = application.registration
        return registration.person.email if registration.share_contact else None


class PremiumQueueView(APIView):
    """Premium applications waiting for identity verification by this town's staff."""

    @extend_schema(
        summary="プレミアム申請の審査待ち（自治体職員）",
        responses=ReviewApplicationSerializer(many=True),
    )
    def get(self, request, code: str):
        municipality = get_object_or_404(Municipality, code=code)
        queue = services.premium_queue_read(viewer=request.user, municipality=municipality)
        return Response(ReviewApplicationSerializer(queue, many=True).data)


@extend_schema_view(
    post=extend_schema(
        summary="プレミアム申請を承認・却下する（本人確認のうえ）",
        request=DecisionSerializer,
        responses=PremiumApplicationSerializer,
    )
)
class PremiumDecideView(DecisionView):
    queue = services.PREMIUM_APPLICATIONS
    queryset = PremiumApplication.objects.select_related("registration__municipality")
    municipality_field = "registration__municipality"
    serializer_class = PremiumApplicationSerializer


class ReviewActivitySerializer(ActivitySerializer):
    registration = serializers.IntegerField(source="registration_id")

    class Meta(ActivitySerializer.Meta):
        fields = ["registration", *ActivitySerializer.Meta.fields]


class ActivityQueueView(APIView):
    @extend_schema(
        summary="申告された担い手活動の審査待ち（自治体職員）",
        responses=ReviewActivitySerializer(many=True),
    )
    def get(self, request, code: str):
        municipality = get_object_or_404(Municipality, code=code)
        queue = services.activity_queue_read(viewer=request.user, municipality=municipality)
        return Response(ReviewActivitySerializer(queue, many=True).data)


@extend_schema_view(
    post=extend_schema(
        summary="申告された活動を認める・認めない",
        request=DecisionSerializer,
        responses=ActivitySerializer,
    )
)
class ActivityReviewView(DecisionView):
    queue = services.ACTIVITIES
    queryset = Activity.objects.select_related("registration__municipality")
    municipality_field = "registration__municipality"
    serializer_class = ActivitySerializer
