"""How the OpenAPI schema (drf-spectacular) describes our authentication classes: as DRF's
own (``cookieAuth``; its token scheme already covers subclasses). Loaded by ``apps.py``."""

from drf_spectacular.authentication import SessionScheme


class SessionAuthenticationScheme(SessionScheme):
    target_class = "accounts.authentication.SessionAuthentication"
