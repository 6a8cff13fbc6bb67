"""System checks of the whole site (``manage.py check --deploy``)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def check_secret_key(app_configs, **kwargs) -> list[Error]:
    """The embedded default key is published in this repository (settings.base)."""
    if settings.SECRET_KEY == settings.EMBEDDED_SECRET_KEY:
        return [
            Error(
                "SECRET_KEY is the embedded default published in the repository: anyone can "
                "forge signed links (unsubscribe, resident cards, password resets) with it.",
                hint="Set DJANGO_SECRET_KEY to a new random value of at least "
                f"{settings.SECRET_KEY_MIN_LENGTH} characters, e.g. python -c 'import secrets; "
                "print(secrets.token_urlsafe(64))'.",
                id="furusato.E001",
            )
        ]
    return []
