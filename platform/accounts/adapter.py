"""How allauth speaks for Furusato: the site's own name in every e-mail."""

from types import SimpleNamespace

from allauth.account.adapter import DefaultAccountAdapter
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from .models import Language


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        # Without django.contrib.sites allauth would greet from the host name
        # ("こんにちは、127.0.0.1:8000 です"); links are still built from the request.
        request = context.get("request") or self.request
        domain = request.get_host() if request is not None else ""
        site = SimpleNamespace(name=_("Furusato（ふるさと）"), domain=domain)
        super().send_mail(template_prefix, email, {"current_site": site, **context})

    def save_user(self, request, user, form, commit=True):
        # What is sent to the person later speaks the language they signed up in.
        language = (get_language() or "ja").split("-")[0]
        user.language = language if language in Language.values else Language.JA
        return super().save_user(request, user, form, commit=commit)
