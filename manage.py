#!/usr/bin/env python
"""Django's command-line utility for Furusato."""

import os
import sys
from pathlib import Path

# platform/ is a plain folder (no __init__.py, so the standard library's `platform`
# stays reachable); its apps are imported as top-level modules: config, accounts, places …
sys.path.insert(0, str(Path(__file__).resolve().parent / "platform"))


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
