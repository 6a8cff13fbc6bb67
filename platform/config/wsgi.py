"""WSGI entry point: ``gunicorn --pythonpath platform config.wsgi``."""

import os

from django.core.wsgi import get_wsgi_application

from . import paths  # noqa: F401

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

application = get_wsgi_application()
