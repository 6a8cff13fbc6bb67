"""How allauth speaks for Furusato: the site's own name in every e-mail, and our own texts
for every e-mail it sends (allauth's Japanese reads as a translation)."""

from types import SimpleNamespace

from allauth.account.adapter import DefaultAccountAdapter
from django.urls import reverse
from django.utils import translation
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from .models import Language

# E-mails whose text is ours: accounts/templates/accounts/email/<name>_*.txt — the security
# notices, and the messages with a link or a code (allauth's stock texts greet with "です!").
OUR_NOTICES = {
    "account/email/email_confirmation",
    "account/email/email_confirmation_signup",
    "account/email/password_reset_key",
    "account/email/unknown_account",
    "account/email/account_already_exists",
    "account/email/password_changed",
    "account/email/password_set",
    "account/email/password_reset",
    "account/email/email_added",
    "account/email/email_changed",
    "account/email/email_deleted",
    "mfa/email/totp_activated",
    "mfa/email/totp_deactivated",
    "mfa/email/recovery_codes_generated",
    "mfa/email/webauthn_added",
    "mfa/email/webauthn_removed",
}


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        # Without django.contrib.sites allauth would greet from the host name
        # ("こんにちは、127.0.0.1:8000 です"); links are still built from the request.
        request = context.get("request") or self.request
        domain = request.get_host() if request is not None else ""
        site = SimpleNamespace(name=_("Furusato（ふるさと）"), domain=domain)
        super().send_mail(template_prefix, email, {"current_site": site, **context})

    def render_mail(self, template_prefix, email, context, headers=None):
        if template_prefix in OUR_NOTICES:
            template_prefix = "accounts/email/" + template_prefix.rsplit("/", 1)[1]
        return super().render_mail(template_prefix, email, context, headers=headers)

    def send_notification_mail(self, template_prefix, user, context=None, email=None) -> None:
        # A notice is about the account, not the page: it speaks the person's language and
        # says where to reset the password if the change was not theirs.
        context = dict(context or {})
        if self.request is not None:
            context.setdefault(
                "password_reset_url",
                self.request.build_absolute_uri(reverse("account_reset_password")),
            )
        with translation.override(getattr(user, "language", None) or Language.JA):
            super().send_notification_mail(template_prefix, user, context, email=email)

    def save_user(self, request, user, form, commit=True):
        # What is sent to the person later speaks the language they signed up in.
        language = (get_language() or "ja").split("-")[0]
        user.language = language if language in Language.values else Language.JA
        return super().save_user(request, user, form, commit=commit)
