"""The resident card: shown to its owner, reissued, and checked by staff."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.selectors import staff_scope
from core.errors import Denied
from core.pages import get_only, get_or_post, personal

from .. import cards, forms, selectors, services
from ..errors import RegistryCode
from .registration import _own_registration

# --- The resident card -------------------------------------------------------------------


@personal
@get_only
def card(request, pk: int):
    registration = _own_registration(request, pk)
    context = {"registration": registration}
    if registration.is_active:
        token = cards.card_token(registration)
        verify_url = cards.card_verify_url(request, token)
        context.update(
            token=token,
            # Shown on the screen staff read: only with the person's consent to the name.
            holder_name=selectors.shared_name(registration),
            verify_url=verify_url,
            # segno draws the SVG from our own URL: no user markup can get into it.
            qr_svg=mark_safe(cards.card_qr_svg(verify_url)),  # noqa: S308
            expires_at=cards.card_token_expires_at(),
        )
    return render(request, "registry/card.html", context)


@personal
@require_POST
def card_reissue(request, pk: int):
    registration = _own_registration(request, pk)
    try:
        services.card_reissue(registration=registration, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("registry:registration_detail", pk)
    messages.success(
        request, _("登録証を再発行しました。これまでに表示した QR コードは使えなくなりました。")
    )
    return redirect("registry:card", pk)


@login_required
@never_cache
@get_or_post
def card_verify(request):
    scope = staff_scope(user=request.user)
    if not scope.is_staff:
        raise Denied(
            _("登録証を確かめられるのは自治体の職員だけです。"),
            code=RegistryCode.CARD_CHECK_STAFF_ONLY,
        )
    if request.method == "POST":
        form = forms.CardVerifyForm(request.POST)
    else:
        form = forms.CardVerifyForm(request.GET if request.GET.get("token") else None)
    result = None
    if form.is_bound and form.is_valid():
        result = services.card_verify(token=form.cleaned_data["token"], viewer=request.user)
        municipality = result.get("municipality")
        result["own_municipality"] = bool(
            municipality and scope.manages_municipality(municipality["code"])
        )
        form = forms.CardVerifyForm()  # ready for the next card
    return render(request, "registry/card_verify.html", {"form": form, "result": result})
