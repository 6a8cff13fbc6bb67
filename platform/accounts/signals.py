"""A password change or reset ends every API token of the person: a token taken by someone
else stops working the moment the account is recovered."""

from allauth.account.signals import password_changed, password_reset, password_set
from django.dispatch import receiver
from rest_framework.authtoken.models import Token


@receiver(password_changed)
@receiver(password_reset)
@receiver(password_set)
def revoke_api_tokens(sender, request, user, **kwargs) -> None:
    Token.objects.filter(user=user).delete()
