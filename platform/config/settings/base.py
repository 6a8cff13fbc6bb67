"""Settings read from the environment, in one place.

Without any environment the site runs on the embedded default: SQLite in ``var/``,
Celery tasks executed in-process, e-mail written to ``var/mail/``. Set ``DATABASE_URL``,
``REDIS_URL`` (broker and cache) and ``EMAIL_URL`` to run on real services.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF
from kombu import Queue

# <repo>/platform/config/settings/base.py -> <repo>
BASE_DIR = Path(__file__).resolve().parents[3]
PLATFORM_DIR = BASE_DIR / "platform"
VAR_DIR = Path(environ.Env().str("FURUSATO_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

# --- Core -------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# The embedded default is published in this repository: with it anyone could forge signed
# links (unsubscribe, resident cards, password resets) and sessions. Production refuses it
# and any key shorter than SECRET_KEY_MIN_LENGTH; `check --deploy` fails on it (furusato.E001).
EMBEDDED_SECRET_KEY = "embedded-only-key-never-used-in-production-8f2d0c4b9e1a7f3d5c6b2a1e"  # noqa: S105
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=EMBEDDED_SECRET_KEY)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# /health/ shows its details (database, broker, workers) only to `Authorization: Bearer
# <token>`; without a token set, to no one.
HEALTH_TOKEN = env.str("FURUSATO_HEALTH_TOKEN", default="")
# /health/'s broker and worker checks run in a thread of each web process this often.
HEALTH_CHECK_SECONDS = env.float("FURUSATO_HEALTH_CHECK_SECONDS", default=10)
# Demo accounts with published passwords may only be created where this is true: by
# default only on the embedded SQLite database, never on a configured one.
DEMO_CONTENT_ALLOWED = env.bool(
    "FURUSATO_DEMO_CONTENT_ALLOWED", default=not env.str("DATABASE_URL", default="")
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",  # a person's sessions, listed and ended (accounts/sessions/)
    # Ours, lower rooms first.
    "core",  # the floor: errors with codes, queueing, API and page plumbing
    "idempotency",  # safe retries: imports none of ours (its middleware is last below)
    "places",
    "accounts",
    "notifications",
    "registry",
    "matching",
    "insights",
    "demo",  # demo content and generators: above every room, imported by none
    "config.apps.SiteConfig",  # the site-wide system checks
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Headers of every response, static files included (settings under "Headers" below).
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.middleware.PrivateResponsesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    # Staff: an idle session ends; no personal data or statistics without a second factor.
    "accounts.middleware.StaffIdleTimeoutMiddleware",
    "accounts.middleware.StaffMFAMiddleware",
    # Last of the checks: runs a write with an Idempotency-Key (API) or a form token (pages) in one
    # transaction with the record of its answer, after every other check has passed.
    "idempotency.middleware.IdempotencyMiddleware",
    # Innermost: an anonymous repeat of a public answer, before the URL and the view.
    "core.middleware.PublicCacheMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PLATFORM_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "notifications.context_processors.unread",
            ],
            # {{ place|place }}: every page names a place the same way, in its language.
            "builtins": ["places.templatetags.place_names"],
        },
    },
]

# --- Data -------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'furusato.sqlite3'}"),
}
if not env.str("DATABASE_URL", default=""):
    VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the site read while a management command writes.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL;",
        "transaction_mode": "IMMEDIATE",
        # The periodic jobs (run_periodic_jobs) write beside the web server: wait, not fail.
        "timeout": 20,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "core.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "furusato",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Public answers (core.public_cache): how long a proxy or browser may keep an anonymous API
# answer without asking again (the site itself never serves one older than the last commit).
PUBLIC_CACHE_MAX_AGE = env.int("FURUSATO_PUBLIC_CACHE_MAX_AGE", default=5)
# Whether they are kept at all: only where every web process shares the cache (Redis).
PUBLIC_CACHE = env.bool("FURUSATO_PUBLIC_CACHE", default=bool(REDIS_URL))

# --- People -----------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    # allauth's, but only through verified addresses (accounts/backends.py).
    "accounts.backends.VerifiedEmailBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "registry:my_page"  # where a person continues: profile, registrations

ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Furusato] "
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_FORMS = {
    "signup": "accounts.forms.SignupForm",
    "reset_password": "accounts.forms.ResetPasswordForm",
}
# One address per account: a new one waits, unverified, until its link is opened, and only
# then replaces the old. Adding, changing or removing one asks for the password again.
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_REAUTHENTICATION_REQUIRED = True
# Security notices by e-mail: password changed, reset or set; address added, changed or
# removed; second factor set up or removed (texts in accounts/templates/accounts/email/).
ACCOUNT_EMAIL_NOTIFICATIONS = True
# The second factor (allauth.mfa): staff must have one (accounts/middleware.py).
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_TOTP_ISSUER = "Furusato"
# WebAuthn checks the origin is https; the embedded default runs on http://127.0.0.1.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = env.bool(
    "FURUSATO_WEBAUTHN_INSECURE_ORIGIN", default=not env.str("DATABASE_URL", default="")
)
# A staff session unused for this long ends (the next request asks to log in again).
ACCOUNTS_STAFF_IDLE_SECONDS = env.int("ACCOUNTS_STAFF_IDLE_SECONDS", default=30 * 60)
# A staff member's API token lasts this long from its issue (then a new login, with the code).
ACCOUNTS_STAFF_TOKEN_SECONDS = env.int("ACCOUNTS_STAFF_TOKEN_SECONDS", default=8 * 60 * 60)
CSRF_FAILURE_VIEW = "core.views.csrf_failure"
ACCOUNT_DEFAULT_HTTP_PROTOCOL = env.str("ACCOUNT_DEFAULT_HTTP_PROTOCOL", default="http")
# Login rate limiting (allauth keeps the counters in the cache).
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "confirm_email": "1/3m/key",
}

# --- Registry ---------------------------------------------------------------------------
# The site's address for links in e-mail sent by workers (no request to take it from).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
REGISTRY_PREMIUM_LIMIT = env.int("REGISTRY_PREMIUM_LIMIT", default=3)
REGISTRY_PREMIUM_MIN_ACTIVITIES = env.int("REGISTRY_PREMIUM_MIN_ACTIVITIES", default=3)
REGISTRY_PREMIUM_REMIND_DAYS = env.int("REGISTRY_PREMIUM_REMIND_DAYS", default=30)
REGISTRY_CARD_TOKEN_TTL = env.int("REGISTRY_CARD_TOKEN_TTL", default=60 * 60)  # seconds
REGISTRY_IDENTITY_VERIFIER = env.str(
    "REGISTRY_IDENTITY_VERIFIER", default="registry.verification.StaffReviewVerifier"
)
# Announcements reach their audience this many people per transaction.
REGISTRY_ANNOUNCEMENT_BATCH = env.int("REGISTRY_ANNOUNCEMENT_BATCH", default=1000)
DATA_UPLOAD_MAX_MEMORY_SIZE = 6 * 1024 * 1024

# --- The board --------------------------------------------------------------------------
MATCHING_PHOTO_MAX_BYTES = env.int("MATCHING_PHOTO_MAX_BYTES", default=5 * 1024 * 1024)
# The matcher (matching/matcher.py): how far it looks, how many it keeps and tells.
MATCHING_RADIUS_KM = env.float("MATCHING_RADIUS_KM", default=40.0)
MATCHING_WIDE_RADIUS_KM = env.float("MATCHING_WIDE_RADIUS_KM", default=100.0)
MATCHING_MATCHES_PER_TASK = env.int("MATCHING_MATCHES_PER_TASK", default=500)
MATCHING_RECOMMENDATIONS_PER_PERSON = env.int("MATCHING_RECOMMENDATIONS_PER_PERSON", default=50)
# People told of a new task per open place (first wave; twice as many once understaffed).
MATCHING_NOTIFY_PER_PLACE = env.int("MATCHING_NOTIFY_PER_PLACE", default=5)
MATCHING_NOTIFY_MAX = env.int("MATCHING_NOTIFY_MAX", default=200)
MATCHING_UNDERSTAFFED_DAYS = env.int("MATCHING_UNDERSTAFFED_DAYS", default=3)
MATCHING_REMINDER_HOURS = env.int("MATCHING_REMINDER_HOURS", default=24)
# A request on an approval-only task still undecided this long: its host is reminded once.
MATCHING_REQUEST_REMIND_HOURS = env.int("MATCHING_REQUEST_REMIND_HOURS", default=48)
# The host or staff may correct attendance until this many days after the session ended.
MATCHING_ATTENDANCE_CORRECTION_DAYS = env.int("MATCHING_ATTENDANCE_CORRECTION_DAYS", default=14)
# A participant's roster details (phone, emergency contact, birth date) are deleted this
# many days after their session ended.
MATCHING_ROSTER_RETENTION_DAYS = env.int("MATCHING_ROSTER_RETENTION_DAYS", default=30)

# --- Notifications ----------------------------------------------------------------------
# At most this many "new matching task" notifications per person in seven days.
NOTIFICATIONS_MATCH_WEEKLY_CAP = env.int("NOTIFICATIONS_MATCH_WEEKLY_CAP", default=3)
# A relay holds the e-mails it took this long; one found still sending after the other
# is counted uncertain (the worker died mid-send) and never sent again.
NOTIFICATIONS_RELAY_LEASE_SECONDS = env.int("NOTIFICATIONS_RELAY_LEASE_SECONDS", default=120)
NOTIFICATIONS_SENDING_STALE_SECONDS = env.int("NOTIFICATIONS_SENDING_STALE_SECONDS", default=300)
# Seconds an SMTP connection may wait: well under the relay's lease.
NOTIFICATIONS_SMTP_TIMEOUT = env.int("NOTIFICATIONS_SMTP_TIMEOUT", default=30)
# E-mail of the at-least-once topics (sign-ups, offers, changes) whose fate is unknown (a
# worker or database killed mid-send, no answer after DATA) is sent again this many times at
# most (so it arrives at most 1 + this many times), first after this many seconds, then
# twice as long each time.
NOTIFICATIONS_UNCERTAIN_RESENDS = env.int("NOTIFICATIONS_UNCERTAIN_RESENDS", default=1)
NOTIFICATIONS_UNCERTAIN_RETRY_SECONDS = env.int(
    "NOTIFICATIONS_UNCERTAIN_RETRY_SECONDS", default=300
)
# How often beat sweeps for work written to the database while no worker or broker took it
# (outbox e-mail, matcher requests, announcements being fanned out).
SWEEP_SECONDS = env.int("FURUSATO_SWEEP_SECONDS", default=60)

# --- Statistics -------------------------------------------------------------------------
# Figures that count fewer people than this are suppressed for everyone without row-level
# rights (national administrators have them), with any figure that would give them away.
INSIGHTS_MIN_CELL = env.int("INSIGHTS_MIN_CELL", default=10)
# How often the counts catch up with the registry (and the published figures with them).
INSIGHTS_UPDATE_SECONDS = env.int("INSIGHTS_UPDATE_SECONDS", default=60)
# How often at most the board's figures and the funnel are recounted (whole, in SQL) while
# things change.
INSIGHTS_BOARD_SECONDS = env.int("INSIGHTS_BOARD_SECONDS", default=60 * 10)
# How often at most the published figures follow the counts (a day): two publications
# compared show the changes of that time, which should be many people's.
INSIGHTS_PUBLISH_SECONDS = env.int("INSIGHTS_PUBLISH_SECONDS", default=60 * 60 * 24)
# Published figures count a registration once it is this many days old, and only if its
# person's e-mail address is verified: padding a town takes accounts that waited.
INSIGHTS_SETTLE_DAYS = env.int("INSIGHTS_SETTLE_DAYS", default=7)

# --- E-mail -----------------------------------------------------------------------------
# EMAIL_URL as smtp+tls://user:password@host:587, consolemail:// or filemail:///absolute/path.
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
if EMAIL_BACKEND.endswith("filebased.EmailBackend"):
    # django-environ drops the leading slash of filemail:///path: the path is absolute.
    EMAIL_FILE_PATH = "/" + str(EMAIL_FILE_PATH).lstrip("/")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Furusato <no-reply@furusato.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Headers ----------------------------------------------------------------------------
# What the browser may load and run: our own files only. No inline script or style anywhere
# (a template that cannot do without one uses the request's nonce, {{ request.csp_nonce }});
# images also as data: URIs (Swagger UI's icons). The QR code of a card is inline SVG markup,
# not an image, and needs nothing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}
# Powerful browser features, all off, but passkeys (WebAuthn) on our own pages (only features
# Chromium knows: an unknown one is a console warning on every page).
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "browsing-topics",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "hid",
        "idle-detection",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
} | {"publickey-credentials-get": ["self"], "publickey-credentials-create": ["self"]}

# --- Language and time ------------------------------------------------------------------
LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", "日本語"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True
# Our own date and time formats (config/formats/<language>/formats.py): 24-hour times in
# English as in Japanese.
FORMAT_MODULE_PATH = ["config.formats"]

# --- Static and media -------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "collected-static"
# The outline map of Japan (places.maps): the SVG of the npm package @svg-maps/japan, which
# `make install` puts in the environment (the image copies it to the same place).
PLACES_MAP_SVG = env.path(
    "FURUSATO_MAP_SVG",
    default=BASE_DIR / ".venv" / "npm" / "node_modules" / "@svg-maps" / "japan" / "japan.svg",
)
MEDIA_URL = "media/"
MEDIA_ROOT = VAR_DIR / "media"
# Public uploads (task photos): the site serves them itself in the embedded mode; in
# production the proxy serves MEDIA_ROOT at /media/.
SERVE_MEDIA = env.bool("FURUSATO_SERVE_MEDIA", default=not env.str("DATABASE_URL", default=""))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    # Personal files (evidence of activities): never under MEDIA_URL, served by checked views.
    "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": env.str("FURUSATO_PRIVATE_ROOT", default=str(VAR_DIR / "private"))},
    },
}

# --- API --------------------------------------------------------------------------------
# Safe retries (idempotency.middleware): how long a write's first answer is kept for a retry
# with its Idempotency-Key or form token, and how long a second request with a key still
# being worked on waits for the first before it is refused (409 idempotency_in_progress).
IDEMPOTENCY_KEY_HOURS = env.int("IDEMPOTENCY_KEY_HOURS", default=24)
IDEMPOTENCY_WAIT_SECONDS = env.float("IDEMPOTENCY_WAIT_SECONDS", default=10.0)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: unauthenticated API calls get 401 with a WWW-Authenticate challenge.
        # DRF's token and session, refusing staff without a second factor (403 mfa_required).
        "accounts.authentication.TokenAuthentication",
        "accounts.authentication.SessionAuthentication",
    ],
    # Closed by default: a public endpoint says so itself (AllowAny).
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.api.Pagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "core.schema.AutoSchema",  # documents the error responses too
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"anon": "120/min", "user": "600/min", "auth": "10/min"},
    # Counted atomically in Redis, exact across web processes (core.api; README "Rate limits").
    "DEFAULT_THROTTLE_CLASSES": [
        "core.api.AnonRateThrottle",
        "core.api.UserRateThrottle",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Furusato API",
    "DESCRIPTION": "関係人口のためのプラットフォームの API。日付は ISO 8601、時刻帯は Asia/Tokyo。",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Served from the sidecar package: no request leaves the machine.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No deep links: Swagger draws each as a link inside the operation's button (a nested
    # control, which screen readers cannot reach; axe's nested-interactive).
    "SWAGGER_UI_SETTINGS": {"validatorUrl": None, "deepLinking": False},
    "COMPONENT_SPLIT_REQUEST": True,
    # Choice sets that share a field name get names of their own in the schema.
    "ENUM_NAME_OVERRIDES": {
        "MunicipalityKindEnum": "places.models.MunicipalityKind",
        "RegistrationStatusEnum": "registry.models.Status",
        "ReviewStatusEnum": "registry.models.ReviewStatus",
        "PerkKindEnum": "registry.models.PerkKind",
        "CardStatusEnum": "registry.cards.CARD_STATUSES",
        "TaskStatusEnum": "matching.models.TaskStatus",
        "SessionStatusEnum": "matching.models.SessionStatus",
        "SignupStatusEnum": "matching.models.SignupStatus",
        "HostApplicationStatusEnum": "matching.models.HostApplicationStatus",
        "FrequencyEnum": "notifications.models.Frequency",
    },
}

# --- Celery -----------------------------------------------------------------------------
# Without a broker, tasks run in-process (the embedded default).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
# In-process (embedded) a failing background job is logged, never the visitor's error page.
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL or None)
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
# A task is acknowledged after it ran, so a worker that dies hands it to the next one;
# every task is therefore written to be idempotent.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
# Tasks that may run longer than the default set their own limits; the longest is
# insights.counts_rebuild's (insights/tasks.py): this hard limit, five minutes less soft.
INSIGHTS_REBUILD_TIME_LIMIT = env.int("INSIGHTS_REBUILD_TIME_LIMIT", default=3 * 60 * 60 + 5 * 60)
LONGEST_TASK_TIME_LIMIT = max(CELERY_TASK_TIME_LIMIT, INSIGHTS_REBUILD_TIME_LIMIT)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis hands an unacknowledged task to another worker after the visibility timeout, so it
# outlasts the longest run, with a margin (the timeout counts from delivery, a time limit
# from the start of the run); else a rebuild still running would start a second time.
# tests/platform/config/test_celery_config.py walks every registered task and holds its limit
# below this.
# Seconds a request waits on the broker for a connection or an answer (FURUSATO_BROKER_TIMEOUT).
BROKER_SOCKET_TIMEOUT = env.float("FURUSATO_BROKER_TIMEOUT", default=0.5)
# The same for workers and beat (config.celery sets it as they start).
WORKER_BROKER_SOCKET_TIMEOUT = env.float("FURUSATO_WORKER_BROKER_TIMEOUT", default=10)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": LONGEST_TASK_TIME_LIMIT + 15 * 60,
    # Queueing from a web request gives up fast when the broker is down: the work is in the
    # database already, and beat's sweeps queue it once the broker is back. (Workers
    # reconnect by their own policy, CELERY_BROKER_CONNECTION_RETRY.)
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
    # A hung Redis (accepting connections, answering nothing) must not hold a request: each
    # connect and each answer is given up after these, well under the request's deadline.
    "socket_connect_timeout": BROKER_SOCKET_TIMEOUT,
    "socket_timeout": BROKER_SOCKET_TIMEOUT,
}
CELERY_BROKER_CONNECTION_TIMEOUT = BROKER_SOCKET_TIMEOUT
# The result backend (the same Redis; results are ignored, but a ping reads replies).
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = BROKER_SOCKET_TIMEOUT
CELERY_REDIS_SOCKET_TIMEOUT = BROKER_SOCKET_TIMEOUT
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True
# Named queues. docker-compose.yml runs a worker per group. A task goes to the queue its
# name's prefix routes it to (task names are a contract: "<app>.<verb>"), else to default.
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = [Queue(name) for name in ("default", "matching", "notifications", "stats")]
CELERY_TASK_CREATE_MISSING_QUEUES = False
CELERY_TASK_ROUTES = {
    "matching.*": {"queue": "matching"},
    "notifications.*": {"queue": "notifications"},
    "registry.announcement_fan_out": {"queue": "notifications"},
    "insights.*": {"queue": "stats"},
    "*": {"queue": "default"},
}
CELERY_BEAT_SCHEDULE = {
    "idempotency.keys_sweep": {"task": "idempotency.keys_sweep", "schedule": 60 * 60},
    "accounts.clear_expired_sessions": {
        "task": "accounts.clear_expired_sessions",
        "schedule": 60 * 60 * 24,
    },
    # Both are idempotent, so running them hourly only makes them prompt after an outage.
    "registry.premium_expire_and_renew": {
        "task": "registry.premium_expire_and_renew",
        "schedule": 60 * 60,
    },
    "registry.premium_remind": {"task": "registry.premium_remind", "schedule": 60 * 60},
    # Offers to the waiting list lapse on time; tasks close and complete by their dates.
    "matching.offers_expire": {"task": "matching.offers_expire", "schedule": 5 * 60},
    "matching.tasks_advance": {"task": "matching.tasks_advance", "schedule": 15 * 60},
    # Reminders and digests are due by dates in the database; beat picks them up.
    "matching.reminders_send": {"task": "matching.reminders_send", "schedule": 15 * 60},
    "matching.sessions_understaffed": {
        "task": "matching.sessions_understaffed",
        "schedule": 60 * 60,
    },
    "matching.requests_remind": {"task": "matching.requests_remind", "schedule": 60 * 60},
    "notifications.digests_send": {"task": "notifications.digests_send", "schedule": 60 * 60},
    # Roster details are deleted a set time after their session (MATCHING_ROSTER_RETENTION_DAYS).
    "matching.roster_details_purge": {
        "task": "matching.roster_details_purge",
        "schedule": 60 * 60,
    },
    # Sweeps: work written while no broker took it is done once one does.
    "notifications.relay": {"task": "notifications.relay", "schedule": SWEEP_SECONDS},
    "notifications.emails_recover": {
        "task": "notifications.emails_recover",
        "schedule": SWEEP_SECONDS,
    },
    "matching.matches_sweep": {"task": "matching.matches_sweep", "schedule": SWEEP_SECONDS},
    "matching.person_refresh_sweep": {
        "task": "matching.person_refresh_sweep",
        "schedule": SWEEP_SECONDS,
    },
    "registry.announcements_resume": {
        "task": "registry.announcements_resume",
        "schedule": SWEEP_SECONDS,
    },
    # Statistics: the counts follow the registry's changes (an update still waiting when the
    # next is due is dropped: after a burst one run can take longer than the interval); a
    # nightly recount from the raw rows catches anything missed (and the age bands' turn of
    # the year).
    "insights.counts_update": {
        "task": "insights.counts_update",
        "schedule": INSIGHTS_UPDATE_SECONDS,
        "options": {"expires": INSIGHTS_UPDATE_SECONDS},
    },
    "insights.counts_rebuild": {
        "task": "insights.counts_rebuild",
        "schedule": crontab(hour=3, minute=30),
    },
}

# --- Logging ----------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
