"""Production: PostgreSQL, Redis, real SMTP, HTTPS behind a proxy.

``base`` has already built the database, cache, broker and e-mail settings from the
environment; production only insists that every one of them was given (a missing one
raises ``ImproperlyConfigured`` naming it) and tightens what differs.
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DATABASES, EMBEDDED_SECRET_KEY, SECRET_KEY, SECRET_KEY_MIN_LENGTH, env

REQUIRED = (
    "DJANGO_SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS",
    "DATABASE_URL",
    "REDIS_URL",
    "EMAIL_URL",
    "DEFAULT_FROM_EMAIL",
    "SITE_URL",
)
for _name in REQUIRED:
    env.str(_name)
# Signed links and sessions are only as safe as the key: never the published embedded one.
if SECRET_KEY == EMBEDDED_SECRET_KEY or len(SECRET_KEY) < SECRET_KEY_MIN_LENGTH:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be a new random value of at least "
        f"{SECRET_KEY_MIN_LENGTH} characters, not the embedded default published in the "
        "repository (python -c 'import secrets; print(secrets.token_urlsafe(64))')."
    )

DEBUG = False
SERVE_MEDIA = False  # the proxy serves /media/
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DEMO_CONTENT_ALLOWED = False
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https"

# Behind a TLS-terminating proxy that sets X-Forwarded-Proto and appends the client's
# address to X-Forwarded-For. Rate limits key on the address that many proxies back,
# never on what the client wrote into the header.
TRUSTED_PROXY_COUNT = env.int("DJANGO_TRUSTED_PROXY_COUNT", default=1)
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT
REST_FRAMEWORK = {**REST_FRAMEWORK, "NUM_PROXIES": TRUSTED_PROXY_COUNT}  # noqa: F405
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_REFERRER_POLICY = "same-origin"
