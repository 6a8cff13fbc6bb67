"""The API's authentication (``REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]``): DRF's
token and session, refusing staff who have no second factor yet.

The pages do the same in ``accounts/middleware.py``; DRF authenticates inside the view, so
the API needs its own hook. A refusal is ``403`` with the error code ``mfa_required``.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions, status

from .selectors import lacks_required_second_factor


class MFARequired(exceptions.APIException):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "mfa_required"
    default_detail = _(
        "職員のアカウントでは、API を使う前に二段階認証の設定が必要です。"
        "サイトのアカウントページで認証アプリ（TOTP）を登録してください。"
    )


def _refuse_without_second_factor(result):
    if result is not None and lacks_required_second_factor(user=result[0]):
        raise MFARequired
    return result


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate(self, request):
        return _refuse_without_second_factor(super().authenticate(request))


class SessionAuthentication(authentication.SessionAuthentication):
    def authenticate(self, request):
        return _refuse_without_second_factor(super().authenticate(request))
