from allauth.account.adapter import get_adapter
from allauth.account.forms import ResetPasswordForm as AllauthResetPasswordForm
from allauth.account.forms import SignupForm as AllauthSignupForm
from allauth.account.models import EmailAddress
from allauth.core import ratelimit
from django import forms
from django.utils.translation import gettext_lazy as _

from .backends import users_by_verified_email
from .models import User

EMAIL_MAX_LENGTH = User._meta.get_field("email").max_length


class SignupForm(AllauthSignupForm):
    """allauth's sign-up, refusing addresses longer than can be stored (allauth would cut
    them short and keep an address that is not the person's)."""

    def clean_email(self):
        email = self.cleaned_data.get("email") or ""
        if len(email) > EMAIL_MAX_LENGTH:
            raise forms.ValidationError(
                _("メールアドレスは %(max)d 文字以内で入力してください。"),
                code="max_length",
                params={"max": EMAIL_MAX_LENGTH},
            )
        return super().clean_email()

    def validate_unique_email(self, value):
        # An address is taken by a verified copy or by an account that signed up with it;
        # one that someone else merely added to their account, unverified, is free for its
        # owner, who signs up and gets the verification mail.
        taken = EmailAddress.objects.filter(email__iexact=value, verified=True).exists()
        if taken or User.objects.filter(email__iexact=value).exists():
            return super().validate_unique_email(value)
        self.account_already_exists = False
        self.claimed_elsewhere = EmailAddress.objects.filter(email__iexact=value).exists()
        return get_adapter().validate_unique_email(value)

    def save(self, request):
        if getattr(self, "claimed_elsewhere", False):
            # The claim's verification mail counted against the address's limit (one per
            # three minutes); the owner's own must not wait behind it. Cleared only as the
            # account is made (once: the address is then this account's), never on a
            # failed form, so nobody can clear it at will to flood the address.
            ratelimit.clear(request, action="confirm_email", key=self.cleaned_data["email"])
        user = super().save(request)
        # The address is now this account's: other accounts' unverified claims on it go, and
        # with them their confirmation links (opened, they say the link is not valid).
        EmailAddress.objects.filter(email__iexact=user.email, verified=False).exclude(
            user=user
        ).delete()
        return user


class ResetPasswordForm(AllauthResetPasswordForm):
    """allauth's reset, sent only for an account that holds the address verified — or for
    an account that has never verified any address and signed up with this one (the mail
    reaches only the address's owner, who may then claim it). An address someone added to
    their account, unverified, resets nothing."""

    def clean_email(self):
        email = super().clean_email()
        self.users = users_by_verified_email(email, is_active=True) or [
            user
            for user in User.objects.filter(email__iexact=email, is_active=True)
            if not EmailAddress.objects.filter(user=user, verified=True).exists()
        ]
        return email
