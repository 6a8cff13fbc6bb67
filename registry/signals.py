"""The registry's part in a person's rights: export and account deletion."""

from django.dispatch import receiver

from accounts.signals import account_deleting, personal_data_requested

from .services import registry_anonymise, registry_data_of


@receiver(personal_data_requested)
def export_registry_data(sender, user, **kwargs):
    return "registry", registry_data_of(user=user)


@receiver(account_deleting)
def anonymise_registry_data(sender, user, **kwargs) -> None:
    registry_anonymise(user=user)
