"""The bare baseline of ``bench/http_bench.py``: Django with nothing but one view, which
reads 20 published tasks in date order through the partial index ``task_live_idx``
(matching.0003) and answers them as JSON. No middleware, no apps, no templates: the cost
of Django, gunicorn and one indexed query, against which the site's pages are measured.

Run as ``gunicorn --chdir bench http_baseline:application`` with ``DATABASE_URL``.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import django
from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.db import connection
from django.http import JsonResponse
from django.urls import path

_url = urlsplit(os.environ["DATABASE_URL"])

QUERY = (
    "SELECT id, title, starts_at FROM matching_task WHERE status = 'published' "
    "ORDER BY starts_at, id LIMIT 20"
)


def rows(request):
    with connection.cursor() as cursor:
        cursor.execute(QUERY)
        found = cursor.fetchall()
    return JsonResponse(
        {"results": [{"id": i, "title": t, "starts_at": s.isoformat()} for i, t, s in found]}
    )


urlpatterns = [path("", rows)]

settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-only",  # noqa: S106
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
    USE_TZ=True,
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": _url.path.lstrip("/"),
            "USER": _url.username or "postgres",
            "HOST": _url.hostname or "127.0.0.1",
            "PORT": _url.port or 5432,
            "CONN_MAX_AGE": 60,  # as config.settings.production
        }
    },
)
django.setup()
application = get_wsgi_application()
