"""The registry's API: ``/api/me/``, ``/api/registrations/``, ``/api/cards/verify/`` and the
staff endpoints under ``/api/municipalities/{code}/``. Thin: parse, call a service or a
selector, serialise."""

from __future__ import annotations

import json
import unicodedata

from django.contrib.auth import logout
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from accounts.selectors import staff_scope
from accounts.services import (
    account_delete,
    user_names_update,
)
from core.api import Pagination
from core.dates import SaneDateField
from places.models import Municipality

from . import flags, selectors, services
from .cards import CARD_STATUSES, card_qr_svg, card_token, card_token_expires_at, card_verify_url
from .exports import csv_response, personal_data_response
from .models import (
    Activity,
    Announcement,
    AvailableDays,
    Category,
    Gender,
    Language,
    Month,
    Perk,
    PerkKind,
    PremiumApplication,
    Registration,
    RelationshipType,
    Skill,
    TieOrigin,
    Tier,
)

# --- Fields ------------------------------------------------------------------------------


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class FlagsField(serializers.Field):
    """A set of choice values in JSON (``["hobby", "direct"]``), an integer in the model."""

    default_error_messages = {
        "not_a_list": gettext_lazy("値の一覧（配列）で指定してください。"),
        "invalid_choice": gettext_lazy("「{value}」は選べる値ではありません。選べる値: {choices}"),
        "empty": gettext_lazy("1つ以上選んでください。"),
    }

    def __init__(self, *, flag_choices, allow_empty_set: bool = True, **kwargs):
        self.flag_choices = flag_choices
        self.allow_empty_set = allow_empty_set
        super().__init__(**kwargs)

    def to_representation(self, value: int) -> list[str]:
        return flags.values_of(self.flag_choices, value or 0)

    def to_internal_value(self, data) -> int:
        if not isinstance(data, list | tuple):
            self.fail("not_a_list")
        known = set(self.flag_choices.values)
        for value in data:
            if not isinstance(value, str) or value not in known:
                self.fail(
                    "invalid_choice",
                    value=str(value)[:40],
                    choices=", ".join(self.flag_choices.values),
                )
        if not data and not self.allow_empty_set:
            self.fail("empty")
        return flags.mask_of(self.flag_choices, data)


class NormalisedCharField(serializers.CharField):
    """Text is NFKC-normalised (full-width digits, half-width kana) before validation."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        return unicodedata.normalize("NFKC", value).strip()


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
        code = unicodedata.normalize("NFKC", str(data)).strip()
        if not (len(code) == 6 and code.isdigit()):
            self.fail("does_not_exist", slug_name="code", value=code[:20])
        return super().to_internal_value(code)


class MunicipalityBriefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    prefecture = serializers.CharField(source="prefecture.name")


# --- /api/me/ ----------------------------------------------------------------------------


class ProfileSerializer(serializers.Serializer):
    home_municipality = MunicipalityCodeField(allow_null=True, required=False)
    home_municipality_name = serializers.CharField(
        source="home_municipality.name", read_only=True, default=None, allow_null=True
    )
    birth_year = serializers.IntegerField(
        allow_null=True, required=False, min_value=1900, max_value=2100
    )
    age_band = serializers.SerializerMethodField()
    gender = serializers.ChoiceField(choices=Gender.choices, allow_blank=True, required=False)
    interests = FlagsField(flag_choices=Category, required=False)
    skills = FlagsField(flag_choices=Skill, required=False)
    available_days = FlagsField(flag_choices=AvailableDays, required=False)
    available_months = FlagsField(flag_choices=Month, required=False)
    languages = FlagsField(flag_choices=Language, required=False)
    is_complete = serializers.BooleanField(read_only=True)

    def get_age_band(self, profile) -> str | None:
        band = profile.age_band()
        return band.value if band else None


class MeSerializer(serializers.Serializer):
    email = serializers.EmailField(read_only=True)
    family_name = NormalisedCharField(max_length=50, required=False, allow_blank=True)
    given_name = NormalisedCharField(max_length=50, required=False, allow_blank=True)
    family_name_kana = NormalisedCharField(max_length=50, required=False, allow_blank=True)
    given_name_kana = NormalisedCharField(max_length=50, required=False, allow_blank=True)
    profile = ProfileSerializer(required=False)


class PasswordSerializer(serializers.Serializer):
    password = serializers.CharField(
        help_text=gettext_lazy("確認のため、いまのパスワード"), trim_whitespace=False
    )


def _me(user) -> dict:
    return {
        "email": user.email,
        "family_name": user.family_name,
        "given_name": user.given_name,
        "family_name_kana": user.family_name_kana,
        "given_name_kana": user.given_name_kana,
        "profile": services.profile_of(user),
    }


class MeView(APIView):
    """The signed-in person: account names and the registry profile."""

    @extend_schema(summary="自分のアカウントとプロフィール", responses=MeSerializer)
    def get(self, request):
        return Response(MeSerializer(_me(request.user)).data)

    @extend_schema(
        summary="アカウントの氏名とプロフィールを変更", request=MeSerializer, responses=MeSerializer
    )
    def patch(self, request):
        serializer = MeSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        profile_fields = data.pop("profile", None)
        with transaction.atomic():
            if data:
                user_names_update(user=request.user, **data)
            if profile_fields:
                services.profile_update(user=request.user, **profile_fields)
        request.user.refresh_from_db()
        return Response(MeSerializer(_me(request.user)).data)


class MeExportView(APIView):
    """Everything the platform keeps about the signed-in person, as JSON."""

    @extend_schema(summary="自分のデータをすべて書き出す（JSON）", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return personal_data_response(request.user)


class MeDeleteView(APIView):
    """Delete the account: personal data gone, registrations kept anonymously."""

    @extend_schema(
        summary="アカウントを削除する", request=PasswordSerializer, responses={204: None}
    )
    def post(self, request):
        serializer = PasswordSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if not request.user.check_password(serializer.validated_data["password"]):
            raise serializers.ValidationError({"password": [_("パスワードが正しくありません。")]})
        account_delete(user=request.user)
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- /api/registrations/ -----------------------------------------------------------------


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
    title = NormalisedCharField(max_length=120)
    occurred_on = SaneDateField()
    evidence = serializers.FileField()
    note = NormalisedCharField(max_length=1000, required=False, allow_blank=True, default="")


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
    guardian_name = NormalisedCharField(
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
    message = NormalisedCharField(max_length=1000, required=False, allow_blank=True, default="")


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
            raise ValidationError(_("取り下げた登録には登録証がありません。"))
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


# --- Cards -------------------------------------------------------------------------------


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


# --- Staff: registrants, reviews, perks --------------------------------------------------


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
        municipality = selectors.managed_municipality(user=request.user, code=code)
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


class DecisionSerializer(serializers.Serializer):
    approve = serializers.BooleanField()
    note = NormalisedCharField(max_length=1000, required=False, allow_blank=True, default="")


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


class PremiumDecideView(APIView):
    @extend_schema(
        summary="プレミアム申請を承認・却下する（本人確認のうえ）",
        request=DecisionSerializer,
        responses=PremiumApplicationSerializer,
    )
    def post(self, request, pk: int):
        application = selectors.managed_object(
            PremiumApplication.objects.select_related("registration__municipality"),
            user=request.user,
            pk=pk,
            municipality_field="registration__municipality",
        )
        serializer = DecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        application = services.premium_decide(
            application=application,
            decided_by=request.user,
            approve=serializer.validated_data["approve"],
            note=serializer.validated_data["note"],
        )
        return Response(PremiumApplicationSerializer(application).data)


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


class ActivityReviewView(APIView):
    @extend_schema(
        summary="申告された活動を認める・認めない",
        request=DecisionSerializer,
        responses=ActivitySerializer,
    )
    def post(self, request, pk: int):
        activity = selectors.managed_object(
            Activity.objects.select_related("registration__municipality"),
            user=request.user,
            pk=pk,
            municipality_field="registration__municipality",
        )
        serializer = DecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        activity = services.activity_review(
            activity=activity,
            reviewer=request.user,
            accept=serializer.validated_data["approve"],
            note=serializer.validated_data["note"],
        )
        return Response(ActivitySerializer(activity).data)


class PerkWriteSerializer(serializers.Serializer):
    tier = serializers.ChoiceField(choices=Tier.choices, default=Tier.BASIC)
    kind = serializers.ChoiceField(choices=PerkKind.choices)
    title = NormalisedCharField(max_length=100)
    description = NormalisedCharField(max_length=2000)
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
        return selectors.managed_object(
            Perk.objects.select_related("municipality"),
            user=request.user,
            pk=pk,
            municipality_field="municipality",
        )


# --- Announcements -----------------------------------------------------------------------


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
        municipality = selectors.managed_municipality(user=request.user, code=code)
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
        municipality = selectors.managed_municipality(user=request.user, code=code)
        serializer = AnnouncementSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        announcement = services.announcement_create(
            municipality=municipality, actor=request.user, **serializer.validated_data
        )
        return Response(AnnouncementSerializer(announcement).data, status=status.HTTP_201_CREATED)
