from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MatchingConfig(AppConfig):
    name = "matching"
    verbose_name = _("お手伝い")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import board_version, signals  # noqa: F401
