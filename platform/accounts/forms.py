from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.utils.translation import gettext_lazy as _

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
