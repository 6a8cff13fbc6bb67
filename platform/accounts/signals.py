"""A password change or reset ends every API token of the person: a token taken by someone
else stops working the moment the account is recovered."""

from allauth.account.signals import password_changed, password_reset, password_set
from django.dispatch import Signal, receiver
from rest_framework.authtoken.models import Token


@receiver(password_changed)
@receiver(password_reset)
@receiver(password_set)
def revoke_api_tokens(sender, request, user, **kwargs) -> None:
    Token.objects.filter(user=user).delete()


# --- Hooks for the rooms above: a person's rights over their data -----------------------
# ``accounts`` cannot import the apps that keep data about a person (arrows point down), so
# it asks them. Receivers run inside the service's transaction.

#: Sent with ``user``; each receiver returns ``(section_name, json_ready_data)``.
personal_data_requested = Signal()

#: Sent with ``user`` just before the account is emptied; receivers delete or anonymise
#: what they keep about the person.
account_deleting = Signal()
