"""Settings for the test suite: real PostgreSQL and Redis, as in production.

``DATABASE_URL`` and ``REDIS_URL`` default to this machine's services. Each pytest-xdist
worker gets its own Redis database, so parallel workers never share a broker.
Tasks run in-process unless a test starts a real worker (``tests/platform/conftest.py``).
"""

import os
import tempfile

from .base import *  # noqa: F403
from .base import env

DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/furusato"),
}
# A name per run (pytest-django adds _gw0, _gw1 … per xdist worker), so that two suites
# running at once on one machine never drop each other's database.
_run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or str(os.getpid())
DATABASES["default"]["TEST"] = {"NAME": f"test_furusato_{_run[:12]}"}

# REDIS_URL's database number is the run's base: worker gwN uses base + 1 + N, so two runs
# on one machine given bases far enough apart (/0, /4, /8 …) never share a broker.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
REDIS_URL, _base = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0").rsplit("/", 1)
_redis_db = int(_base or 0) + 1 + int(_worker.removeprefix("gw") or 0)
REDIS_URL = f"{REDIS_URL}/{_redis_db}"
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
# In the test process tasks run in-process; a worker process a test starts turns this off
# (tests/workers.py), or the tasks its tasks queue, and beat's, would run inline too.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = True  # a failing job fails its test
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Tests run in a transaction that never commits, so the versions never move: the public
# cache is off but where a test (tests/matching/test_public_cache.py) commits for real.
PUBLIC_CACHE = False
# The statistics recount the board and publish at every update that changed something (a
# test of the daily cadence sets it back).
INSIGHTS_PUBLISH_SECONDS = 0
INSIGHTS_BOARD_SECONDS = 0

SECRET_KEY = "test-only-key-5b1e0d7c3a9f8e2d4c6b1a0f9e8d7c6b5a4f3e2d1c0b"  # noqa: S105
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# In memory, unless a test's worker process is pointed at its own SMTP server (EMAIL_URL).
if not env.str("EMAIL_URL", default=""):
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Uploaded files of the run go to a temporary folder, never into var/.
_files = tempfile.mkdtemp(prefix="furusato-test-files-")
MEDIA_ROOT = f"{_files}/media"
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": f"{_files}/private"},
    },
}
# Static files straight from the finders: no collectstatic before the suite.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_CLASSES": [],
    "DEFAULT_THROTTLE_RATES": {"anon": None, "user": None, "auth": "1000/min"},
}
