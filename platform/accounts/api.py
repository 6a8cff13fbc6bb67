"""``/api/auth/token/``: exchange e-mail and password (and the second factor's code, for an
account that has one) for an API token, or revoke it."""

from allauth.account.adapter import get_adapter
from allauth.account.models import EmailAddress
from allauth.mfa.base.forms import AuthenticateForm
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import ScopedRateThrottle

from .authentication import MFARequired, staff_token_expired
from .errors import AccountsCode
from .selectors import has_second_factor, must_use_second_factor


class TokenCredentialsSerializer(serializers.Serializer):
    email = serializers.EmailField(label=_("メールアドレス"))
    password = serializers.CharField(
        label=_("パスワード"), trim_whitespace=False, style={"input_type": "password"}
    )
    code = serializers.CharField(
        label=_("二段階認証のコード"),
        required=False,
        allow_blank=True,
        help_text=_(
            "二段階認証を設定したアカウントでは必須: 認証アプリの 6 桁のコード、"
            "またはリカバリーコード。"
        ),
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
                _("メールアドレスまたはパスワードが正しくありません。"),
                code=AccountsCode.WRONG_CREDENTIALS,
            )
        # Only a verified address logs in: one someone attached to their account without
        # owning it does not.
        if not EmailAddress.objects.filter(
            user=user, email__iexact=attrs["email"], verified=True
        ).exists():
            raise serializers.ValidationError(
                _("メールアドレスの確認がまだです。届いたメールのリンクを開いてください。"),
                code=AccountsCode.EMAIL_UNVERIFIED,
            )
        if has_second_factor(user=user):
            self._check_second_factor(user, attrs.get("code", ""))
        elif must_use_second_factor(user=user):
            raise MFARequired
        attrs["user"] = user
        return attrs

    def _check_second_factor(self, user, code: str) -> None:
        """The password alone would bypass the second factor: the code is checked as the
        login page checks it (TOTP or an unused recovery code, failures counted)."""
        if not code.strip():
            raise serializers.ValidationError(
                {
                    "code": [
                        _(
                            "このアカウントは二段階認証を使っています。認証アプリのコード"
                            "（またはリカバリーコード）を code に入れてください。"
                        )
                    ]
                },
                code=AccountsCode.SECOND_FACTOR_CODE_REQUIRED,
            )
        form = AuthenticateForm(data={"code": code.strip()}, user=user)
        if form.is_valid():
            form.authenticator.record_usage()
            return
        codes = {error.code for error in form.errors.as_data().get("code", [])}
        if "too_many_login_attempts" in codes:
            raise exceptions.Throttled(
                detail=_(
                    "ログインの失敗が続いたため、しばらく受け付けません。時間をおいてやり直してください。"
                )
            )
        raise serializers.ValidationError(
            {
                "code": [
                    _(
                        "二段階認証のコードが正しくありません。認証アプリに今表示されている"
                        "コードを入れてください。"
                    )
                ]
            },
            code=AccountsCode.SECOND_FACTOR_CODE_WRONG,
        )


TokenResponse = inline_serializer("TokenResponse", {"token": serializers.CharField()})


class AuthTokenView(APIView):
    # Staff without a second factor may still revoke their token.
    second_factor_exempt = True
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
        user = serializer.validated_data["user"]
        token = Token.objects.filter(user=user).first()
        if token is not None and staff_token_expired(token):
            token.delete()
            token = None
        if token is None:
            token = Token.objects.create(user=user)
        return Response({"token": token.key})

    @extend_schema(summary="API トークンを無効にする", request=None, responses={204: None})
    def delete(self, request):
        Token.objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
