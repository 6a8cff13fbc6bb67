"""``/api/registrations/``: the person's registrations, consent, card, premium and activities."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from core.dates import SaneDateField
from core.errors import Conflict
from places.api import MunicipalityBriefSerializer, MunicipalityCodeField

from .. import selectors, services
from ..cards import card_qr_svg, card_token, card_token_expires_at, card_verify_url
from ..errors import RegistryCode
from ..models import Activity, Perk, PremiumApplication, Registration, RelationshipType, TieOrigin
from .fields import FlagsField


class ConsentSerializer(serializers.Serializer):
    share_name = serializers.BooleanField(required=False, help_text=gettext_lazy("氏名"))
    share_contact = serializers.BooleanField(
        required=False, help_text=gettext_lazy("連絡先（メールアドレス）")
    )
    share_age_band = serializers.BooleanField(required=False, help_text=gettext_lazy("年代"))
    share_skills = serializers.BooleanField(required=False, help_text=gettext_lazy("技能・関心"))
    allow_announcements = serializers.BooleanField(
        required=False, help_text=gettext_lazy("自治体からのお知らせ")
    )


class PerkSerializer(serializers.ModelSerializer):
    municipality = serializers.CharField(source="municipality_id", read_only=True)

    class Meta:
        model = Perk
        fields = [
            "id",
            "municipality",
            "tier",
            "kind",
            "title",
            "description",
            "url",
            "is_active",
            "updated_at",
        ]
        read_only_fields = ["id", "municipality", "updated_at"]


class ActivitySerializer(serializers.ModelSerializer):
    evidence = serializers.SerializerMethodField()

    class Meta:
        model = Activity
        fields = [
            "id",
            "title",
            "occurred_on",
            "designated",
            "source",
            "status",
            "note",
            "evidence",
            "submitted_at",
            "reviewed_at",
            "review_note",
        ]

    def get_evidence(self, activity) -> bool:
        return bool(activity.evidence)


class ActivitySubmitSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=120)
    occurred_on = SaneDateField()
    evidence = serializers.FileField()
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class PremiumApplicationSerializer(serializers.ModelSerializer):
    class Meta:
        model = PremiumApplication
        fields = [
            "id",
            "status",
            "verifier",
            "message",
            "applied_at",
            "decided_at",
            "decision_note",
        ]


class RegistrationSerializer(serializers.ModelSerializer):
    municipality = MunicipalityBriefSerializer(read_only=True)
    types = FlagsField(flag_choices=RelationshipType, read_only=True)
    consent = serializers.SerializerMethodField()
    activities_this_year = serializers.IntegerField(read_only=True, default=0)
    premium_application = serializers.SerializerMethodField()
    perks = serializers.SerializerMethodField()
    card = serializers.SerializerMethodField()

    class Meta:
        model = Registration
        fields = [
            "id",
            "municipality",
            "types",
            "origin",
            "status",
            "registered_at",
            "withdrawn_at",
            "tier",
            "premium_since",
            "premium_until",
            "consent",
            "guardian_consented_at",
            "last_activity_on",
            "activities_this_year",
            "premium_application",
            "perks",
            "card",
        ]

    @extend_schema_field(ConsentSerializer)
    def get_consent(self, registration) -> dict:
        return registration.consent()

    @extend_schema_field(PremiumApplicationSerializer(allow_null=True))
    def get_premium_application(self, registration):
        # From the prefetched rows: no query per registration.
        applications = sorted(
            registration.premium_applications.all(), key=lambda a: (a.applied_at, a.pk)
        )
        application = applications[-1] if applications else None
        return PremiumApplicationSerializer(application).data if application else None

    @extend_schema_field(PerkSerializer(many=True))
    def get_perks(self, registration):
        if not registration.is_active:
            return []
        return PerkSerializer(selectors.perks_for(registration=registration), many=True).data

    def get_card(self, registration) -> str | None:
        if not registration.is_active:
            return None
        return reverse("registration-card", args=[registration.pk])


class RegistrationCreateSerializer(serializers.Serializer):
    municipality = MunicipalityCodeField()
    types = FlagsField(flag_choices=RelationshipType, allow_empty_set=False)
    origin = serializers.ChoiceField(choices=TieOrigin.choices)
    consent = ConsentSerializer(required=False)
    guardian_name = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default=""
    )
    guardian_consent = serializers.BooleanField(required=False, default=False)


class RegistrationUpdateSerializer(serializers.Serializer):
    consent = ConsentSerializer()


class CardSerializer(serializers.Serializer):
    token = serializers.CharField()
    expires_at = serializers.DateTimeField()
    verify_url = serializers.CharField()
    qr_svg = serializers.CharField()
    municipality = MunicipalityBriefSerializer()
    tier = serializers.CharField()
    name = serializers.CharField(
        allow_null=True, help_text=gettext_lazy("氏名の提供に同意している場合だけ")
    )


class PremiumApplySerializer(serializers.Serializer):
    message = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class RegistrationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The signed-in person's registrations. Others' are 404."""

    serializer_class = RegistrationSerializer
    queryset = Registration.objects.none()  # for the schema; get_queryset decides
    parser_classes = [JSONParser, FormParser, MultiPartParser]
    filter_backends: list = []

    def get_queryset(self):
        include_withdrawn = (
            self.action != "list" or self.request.query_params.get("status") == "all"
        )
        return selectors.registrations_of(
            person=self.request.user, include_withdrawn=include_withdrawn
        ).prefetch_related("premium_applications")

    @extend_schema(
        summary="自分のふるさと住民登録の一覧",
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, description="all: 取り下げ済みも含める")
        ],
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        summary="ふるさと住民登録をする（その都道府県にも登録されます）",
        request=RegistrationCreateSerializer,
        responses={201: RegistrationSerializer},
    )
    def create(self, request):
        serializer = RegistrationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        registration = services.registration_create(
            person=request.user,
            municipality=data["municipality"],
            types=data["types"],
            origin=data["origin"],
            consent=data.get("consent") or {},
            guardian_name=data["guardian_name"],
            guardian_consent=data["guardian_consent"],
        )
        return Response(self._out(registration.pk), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="同意を変更する",
        request=RegistrationUpdateSerializer,
        responses=RegistrationSerializer,
    )
    def partial_update(self, request, pk=None):
        registration = self.get_object()
        serializer = RegistrationUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.consent_change(
            registration=registration, actor=request.user, **serializer.validated_data["consent"]
        )
        return Response(self._out(registration.pk))

    @extend_schema(
        summary="登録を取り下げる（履歴は統計のために残ります）",
        request=None,
        responses=RegistrationSerializer,
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        registration = self.get_object()
        services.registration_withdraw(registration=registration, actor=request.user)
        return Response(self._out(registration.pk))

    @extend_schema(
        summary="デジタルふるさと住民登録証（QR コードの署名つきトークン）",
        responses=CardSerializer,
    )
    @action(detail=True, methods=["get"])
    def card(self, request, pk=None):
        registration = self.get_object()
        if not registration.is_active:
            raise Conflict(
                _("取り下げた登録には登録証がありません。"),
                code=RegistryCode.REGISTRATION_WITHDRAWN,
            )
        token = card_token(registration)
        verify_url = card_verify_url(request, token)
        return Response(
            CardSerializer(
                {
                    "token": token,
                    "expires_at": card_token_expires_at(),
                    "verify_url": verify_url,
                    "qr_svg": card_qr_svg(verify_url),
                    "municipality": registration.municipality,
                    "tier": registration.tier,
                    "name": selectors.shared_name(registration),
                }
            ).data
        )

    @extend_schema(
        summary="登録証を再発行する（以前の QR コードは失効）",
        request=None,
        responses=RegistrationSerializer,
    )
    @action(detail=True, methods=["post"], url_path="card/reissue")
    def card_reissue(self, request, pk=None):
        registration = self.get_object()
        services.card_reissue(registration=registration, actor=request.user)
        return Response(self._out(registration.pk))

    @extend_schema(
        summary="プレミアムを申請する（POST）／審査待ちの申請を取り消す（DELETE）",
        request=PremiumApplySerializer,
        responses={201: PremiumApplicationSerializer, 204: None},
    )
    @action(detail=True, methods=["post", "delete"])
    def premium(self, request, pk=None):
        registration = self.get_object()
        if request.method == "DELETE":
            services.premium_application_cancel(registration=registration, actor=request.user)
            return Response(status=status.HTTP_204_NO_CONTENT)
        serializer = PremiumApplySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        application = services.premium_apply(
            registration=registration, message=serializer.validated_data["message"]
        )
        return Response(
            PremiumApplicationSerializer(application).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        summary="活動の一覧（GET）／担い手活動を証拠つきで申告（POST, multipart）",
        request={"multipart/form-data": ActivitySubmitSerializer},
        responses={200: ActivitySerializer(many=True), 201: ActivitySerializer},
    )
    @action(detail=True, methods=["get", "post"])
    def activities(self, request, pk=None):
        registration = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(selectors.activities_of(registration=registration))
            return self.get_paginated_response(ActivitySerializer(page, many=True).data)
        serializer = ActivitySubmitSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        activity = services.activity_submit(registration=registration, **serializer.validated_data)
        return Response(ActivitySerializer(activity).data, status=status.HTTP_201_CREATED)

    def _out(self, pk: int) -> dict:
        return RegistrationSerializer(self.get_queryset().get(pk=pk)).data
