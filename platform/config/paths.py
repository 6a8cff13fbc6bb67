"""Put the folder that holds the site's apps on ``sys.path``.

Entry points that are not started through ``manage.py`` (gunicorn, the Celery command,
ASGI servers) import ``config`` with ``platform/`` already on the path (``--pythonpath``,
``PYTHONPATH``); this keeps the repository root on it too, for ``registry`` and ``matching``.
"""

import sys
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[2]

if str(REPO_DIR) not in sys.path:
    sys.path.append(str(REPO_DIR))
