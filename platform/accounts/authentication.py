"""The API's authentication (``REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]``): DRF's
token and session, refusing staff who have no second factor yet.

The pages do the same in ``accounts/middleware.py``; DRF authenticates inside the view, so
the API needs its own hook. A refusal is ``403`` with the error code ``mfa_required``.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions, status

from .middleware import lacks_passed_second_factor
from .selectors import lacks_required_second_factor, must_use_second_factor


class MFARequired(exceptions.APIException):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "mfa_required"
    default_detail = _(
        "職員のアカウントでは、API を使う前に二段階認証の設定が必要です。"
        "サイトのアカウントページで認証アプリ（TOTP）を登録してください。"
    )


class TokenExpired(exceptions.AuthenticationFailed):
    default_code = "token_expired"
    default_detail = _(
        "API トークンの有効期限が切れました。もう一度ログインしてトークンを発行してください。"
    )


def staff_token_expired(token) -> bool:
    """A staff member's token lasts ``ACCOUNTS_STAFF_TOKEN_SECONDS`` from its issue (a
    working day by default), as a staff session ends when idle; residents' last until
    revoked."""
    limit = datetime.timedelta(seconds=settings.ACCOUNTS_STAFF_TOKEN_SECONDS)
    return must_use_second_factor(user=token.user) and token.created < timezone.now() - limit


def _second_factor_exempt(request) -> bool:
    """A view that staff without a second factor may still use (revoking their own token)
    says so with ``second_factor_exempt = True``."""
    view = (request.parser_context or {}).get("view")
    return getattr(view, "second_factor_exempt", False)


class TokenAuthentication(authentication.TokenAuthentication):
    """Tokens are issued to staff only with their second factor (``accounts.api``), and every
    token of a person ends when their first factor or a staff role is added."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user, token = result
        if staff_token_expired(token):
            token.delete()
            raise TokenExpired
        if lacks_required_second_factor(user=user) and not _second_factor_exempt(request):
            raise MFARequired
        return user, token


class SessionAuthentication(authentication.SessionAuthentication):
    """Staff whose session has not passed a second factor are refused, as on the pages."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if (
            result is not None
            and lacks_passed_second_factor(request._request, result[0])
            and not _second_factor_exempt(request)
        ):
            raise MFARequired
        return result
