from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("利用者と役割")

    def ready(self) -> None:
        from . import schema, signals  # noqa: F401
