"""``/api/me/``: the person's account and profile, their export and deleting the account."""

from __future__ import annotations

from django.contrib.auth import logout
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.services import account_delete, user_names_update
from core.api import NormalisedCharField
from places.api import MunicipalityCodeField

from .. import services
from ..errors import RegistryCode
from ..exports import personal_data_response
from ..models import AvailableDays, Category, Gender, Language, Month, Skill
from .fields import FlagsField


class ProfileSerializer(serializers.Serializer):
    home_municipality = MunicipalityCodeField(allow_null=True, required=False)
    home_municipality_name = serializers.CharField(
        source="home_municipality.name", read_only=True, default=None, allow_null=True
    )
    home_municipality_romaji = serializers.CharField(
        source="home_municipality.romaji", read_only=True, default=None, allow_null=True
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
    family_name = serializers.CharField(max_length=50, required=False, allow_blank=True)
    given_name = serializers.CharField(max_length=50, required=False, allow_blank=True)
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
            raise serializers.ValidationError(
                {"password": [_("パスワードが正しくありません。")]},
                code=RegistryCode.PASSWORD_INCORRECT,
            )
        account_delete(user=request.user)
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)
