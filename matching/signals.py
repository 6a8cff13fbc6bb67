"""The board's part in a person's rights: export and account deletion."""

from django.dispatch import receiver

from accounts.signals import account_deleting, personal_data_requested

from .services import board_anonymise, board_data_of


@receiver(personal_data_requested)
def export_board_data(sender, user, **kwargs):
    return "board", board_data_of(user=user)


@receiver(account_deleting)
def anonymise_board_data(sender, user, **kwargs) -> None:
    board_anonymise(user=user)
