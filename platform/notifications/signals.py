"""The inbox's part in a person's rights: export and account deletion."""

from django.dispatch import receiver

from accounts.signals import account_deleting, personal_data_requested

from .services import inbox_data_of, inbox_delete, notifications_scrub_author


@receiver(personal_data_requested)
def export_inbox(sender, user, **kwargs):
    return "notifications", inbox_data_of(user=user)


@receiver(account_deleting)
def delete_inbox(sender, user, **kwargs) -> None:
    inbox_delete(user=user)
    notifications_scrub_author(user=user)
