"""A script run by a Django process of its own on the embedded default
(``config.settings.base``: SQLite in a fresh var/ folder, tasks in-process, e-mail to
var/mail/), for what only that path can show. Its last line of output is JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_PROLOGUE = """
import json
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
"""


def run_embedded(script: str, tmp_path: Path):
    """Run ``script`` after ``django.setup()`` and ``migrate``; what its last line printed."""
    result = subprocess.run(
        [sys.executable, "-c", _PROLOGUE + textwrap.dedent(script)],
        cwd=REPO,
        env={
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "FURUSATO_VAR_DIR": str(tmp_path / "var"),
            "PYTHONPATH": f"{REPO / 'platform'}:{REPO}",
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
