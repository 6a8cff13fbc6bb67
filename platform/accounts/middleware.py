"""What staff sessions must satisfy on every page: not idle too long, a second factor set up.

The API is guarded by its authentication classes instead (``accounts/authentication.py``):
DRF authenticates inside the view, so a token user is invisible here.

A second factor counts only where THIS session passed it: allauth records the methods a
session authenticated with (``mfa`` once a code or key was checked at login or
re-authentication), and a session that set the factor up is marked by ``accounts.signals``.
A session that logged in with the password alone stays shut out even after the account
gains a factor elsewhere.

Both keep what they found in the session and look again at most once a minute, so that a
staff page costs no extra query or session write: the idle clock moves in steps of
``_RECHECK_SECONDS``, and the account's factor, once found, is taken as there for that long.
Removing one in this session is seen at once (``accounts.signals``), in another within the
minute.
"""

from __future__ import annotations

import time

from allauth.account.authentication import get_authentication_records
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _

from .selectors import has_second_factor, must_use_second_factor, unverified_address_of

LAST_SEEN_SESSION_KEY = "accounts.last_seen"
# When this session's person was last found with a second factor.
MFA_SEEN_SESSION_KEY = "accounts.mfa_seen"
# The person this session set up a second factor for (it proved the factor doing so).
MFA_ENROLLED_SESSION_KEY = "accounts.mfa_enrolled"
_RECHECK_SECONDS = 60

# Pages open to staff without a second factor: allauth's (log in and out, addresses,
# password, the second factor itself), the language switch, static files.
_OPEN_VIEW_MODULES = ("allauth.", "django.views.i18n", "django.views.static")


def _route(request: HttpRequest):
    try:
        return resolve(request.path_info)
    except Resolver404:
        return None


def _is_api(match) -> bool:
    return match is not None and match.route.startswith("api/")


def session_start_idle_clock(request: HttpRequest, user) -> None:
    """At login: the idle clock starts, and a second factor passed on the way in is noted
    (allauth records it before the login completes), so the first page checks nothing."""
    now = int(time.time())
    request.session[LAST_SEEN_SESSION_KEY] = now
    if session_passed_second_factor(request, user) and has_second_factor(user=user):
        request.session[MFA_SEEN_SESSION_KEY] = now
    else:
        request.session.pop(MFA_SEEN_SESSION_KEY, None)


def session_mark_enrolled(request: HttpRequest, user) -> None:
    """This session set up a second factor for ``user``: it entered the factor's code (or
    used the key) to do so, as a login would have asked."""
    request.session[MFA_ENROLLED_SESSION_KEY] = user.pk


def session_forget_second_factor(request: HttpRequest) -> None:
    request.session.pop(MFA_SEEN_SESSION_KEY, None)


def session_passed_second_factor(request: HttpRequest, user) -> bool:
    """Whether this session, not merely the account, passed a second factor."""
    if request.session.get(MFA_ENROLLED_SESSION_KEY) == user.pk:
        return True
    return any(
        record.get("method") == "mfa" for record in get_authentication_records(request, user)
    )


def _has_second_factor(request: HttpRequest, user) -> bool:
    if not session_passed_second_factor(request, user):
        return False
    now = int(time.time())
    seen = request.session.get(MFA_SEEN_SESSION_KEY)
    if seen is not None and now - seen < _RECHECK_SECONDS:
        return True
    if not has_second_factor(user=user):
        request.session.pop(MFA_SEEN_SESSION_KEY, None)
        return False
    request.session[MFA_SEEN_SESSION_KEY] = now
    return True


def lacks_passed_second_factor(request: HttpRequest, user) -> bool:
    """Staff whose session has not passed a second factor (or whose account has none)."""
    return must_use_second_factor(user=user) and not _has_second_factor(request, user)


class StaffIdleTimeoutMiddleware:
    """A staff session unused for ``ACCOUNTS_STAFF_IDLE_SECONDS`` ends: the next request is
    logged out and lands on the login page with a message. Residents keep the normal
    session."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and must_use_second_factor(user=user):
            last_seen = request.session.get(LAST_SEEN_SESSION_KEY)
            now = int(time.time())
            if last_seen is not None and now - last_seen > settings.ACCOUNTS_STAFF_IDLE_SECONDS:
                logout(request)
                messages.info(
                    request,
                    _(
                        "しばらく操作がなかったため、ログアウトしました。もう一度ログインしてください。"
                    ),
                )
                if not _is_api(_route(request)):
                    return redirect_to_login(request.get_full_path())
                # The API answers 401 to the request, now anonymous.
            elif last_seen is None or now - last_seen >= _RECHECK_SECONDS:
                request.session[LAST_SEEN_SESSION_KEY] = now
        return self.get_response(request)


class StaffMFAMiddleware:
    """Staff without a second factor are sent to set one up, from every page except the
    account pages (allauth), the language switch and static files."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and lacks_passed_second_factor(request, user):
            match = _route(request)
            if match is not None and not _is_api(match):
                module = getattr(match.func, "__module__", "") or ""
                if not module.startswith(_OPEN_VIEW_MODULES):
                    messages.warning(
                        request,
                        _(
                            "職員のアカウントでは、個人情報や統計を開く前に二段階認証の設定が"
                            "必要です。認証アプリ（TOTP）かセキュリティキーを登録してください。"
                        ),
                    )
                    pending = unverified_address_of(user=user)
                    if pending:
                        # allauth sets up no factor while an address waits for its link.
                        messages.warning(
                            request,
                            _(
                                "確認待ちのメールアドレス（%(email)s）があるうちは設定できません。"
                                "届いたメールのリンクで確認するか、メールアドレスのページで"
                                "変更を取り消してください。"
                            )
                            % {"email": pending},
                        )
                    return redirect("mfa_index")
        return self.get_response(request)
