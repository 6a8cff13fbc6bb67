"""The person's rights: their data export and deleting the account."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts import services as account_services
from core.pages import get_only, get_or_post, personal

from .. import forms, selectors
from ..exports import personal_data_response

# --- The person's rights -----------------------------------------------------------------


@personal
@get_only
def export(request):
    return render(request, "registry/export.html")


@personal
@get_only
def export_download(request):
    return personal_data_response(request.user)


@personal
@get_or_post
def account_delete(request):
    if request.method == "POST":
        form = forms.PasswordConfirmForm(request.POST, user=request.user)
        if form.is_valid():
            account_services.account_delete(user=request.user)
            logout(request)
            messages.success(
                request,
                _(
                    "アカウントを削除しました。ご利用ありがとうございました。"
                    "ふるさと住民登録は、個人が分からない形で統計にだけ残ります。"
                ),
            )
            return redirect("home")
    else:
        form = forms.PasswordConfirmForm(user=request.user)
    return render(
        request,
        "registry/account_delete.html",
        {
            "form": form,
            "active_count": selectors.registrations_of(person=request.user).count(),
        },
    )
