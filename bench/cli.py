"""``python -m bench``: parse the options, run, print; exit non-zero if anything was lost."""

from __future__ import annotations

import os
import sys

from bench.options import parse


def main(argv: list[str] | None = None) -> int:
    # The ORM in this process reads the bench database; settings are those of production.
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    sys.path.insert(0, os.getcwd())
    from bench.run import main_run

    figures = main_run(parse(argv))
    return 1 if figures.lost or figures.duplicated else 0
