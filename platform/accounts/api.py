"""``/api/auth/token/``: exchange e-mail and password for an API token, or revoke it."""

from allauth.account.adapter import get_adapter
from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView


class TokenCredentialsSerializer(serializers.Serializer):
    email = serializers.EmailField(label=_("メールアドレス"))
    password = serializers.CharField(
        label=_("パスワード"), trim_whitespace=False, style={"input_type": "password"}
    )

    def validate(self, attrs):
        request = self.context["request"]
        try:
            # allauth's authentication counts failures per address and per account, as the
            # login form does, and refuses once the limit is reached.
            user = get_adapter(request).authenticate(
                request, email=attrs["email"], password=attrs["password"]
            )
        except DjangoValidationError as exc:
            raise exceptions.Throttled(
                detail=_(
                    "ログインの失敗が続いたため、しばらく受け付けません。時間をおいてやり直してください。"
                )
            ) from exc
        if user is None:
            raise serializers.ValidationError(
                _("メールアドレスまたはパスワードが正しくありません。"), code="authorization"
            )
        if not EmailAddress.objects.filter(user=user, verified=True).exists():
            raise serializers.ValidationError(
                _("メールアドレスの確認がまだです。届いたメールのリンクを開いてください。"),
                code="unverified",
            )
        attrs["user"] = user
        return attrs


TokenResponse = inline_serializer("TokenResponse", {"token": serializers.CharField()})


class AuthTokenView(APIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    def get_permissions(self):
        return [IsAuthenticated()] if self.request.method == "DELETE" else [AllowAny()]

    @extend_schema(
        summary="API トークンを発行", request=TokenCredentialsSerializer, responses=TokenResponse
    )
    def post(self, request):
        serializer = TokenCredentialsSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        token, _created = Token.objects.get_or_create(user=serializer.validated_data["user"])
        return Response({"token": token.key})

    @extend_schema(summary="API トークンを無効にする", request=None, responses={204: None})
    def delete(self, request):
        Token.objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
