"""The ``relay`` command (an installed Relay's manage.py): ``relay migrate``, ``relay consume ingest``."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
