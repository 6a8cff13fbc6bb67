"""``/api/cards/verify/``: staff check a resident card."""

from __future__ import annotations

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import services
from ..cards import CARD_STATUSES


class CardVerifyRequestSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=500, trim_whitespace=True)


class CardVerifyResultSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=CARD_STATUSES)
    status_label = serializers.CharField()
    municipality = serializers.DictField(required=False)
    tier = serializers.CharField(required=False)
    tier_label = serializers.CharField(required=False)
    premium_until = serializers.DateField(required=False, allow_null=True)
    registered_on = serializers.DateField(required=False)
    name = serializers.CharField(
        required=False,
        allow_null=True,
        help_text=gettext_lazy("本人が氏名の提供に同意した場合だけ"),
    )
    age_band = serializers.CharField(required=False, allow_null=True)


class CardVerifyView(APIView):
    """Staff check a card: valid / expired / revoked / invalid, the tier, and only what the
    person consented to show that municipality. Audited."""

    @extend_schema(
        summary="登録証を確かめる（職員）",
        request=CardVerifyRequestSerializer,
        responses=CardVerifyResultSerializer,
    )
    def post(self, request):
        serializer = CardVerifyRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # The service decides exactly which keys appear: nothing unconsented is added here.
        return Response(
            services.card_verify(token=serializer.validated_data["token"], viewer=request.user)
        )
