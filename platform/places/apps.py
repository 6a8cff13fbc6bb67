from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlacesConfig(AppConfig):
    name = "places"
    verbose_name = _("都道府県と市区町村")

    def ready(self) -> None:
        from . import town_page  # noqa: F401
