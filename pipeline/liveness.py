"""Worker liveness: a file the consume loops touch while they turn, and the probe that checks its age.

A container orchestrator should restart a worker whose loop has stopped (a deadlock, an await
that never returns), which neither the process's existence nor JetStream's own view tell apart
from an idle worker. Every loop here turns at least once a second when idle (the stage's fetch
timeout, the scheduler's interval), so each turn is a beat. The file is touched only while
*every* loop of the process has beaten within ``max_age``: one stuck stage of several (``run_all``)
stops the touches too. A stuck loop is therefore seen within twice ``max_age``.

The probe (``python -m pipeline.liveness``) reads only the file's age and imports no Django
settings, so a healthcheck every few seconds costs milliseconds rather than a Django start-up.
``RELAY_LIVENESS_FILE`` unset (the default outside the image) turns the whole thing off.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

# The probe's defaults, read from the same variables as config/settings.py.
FILE_ENV, MAX_AGE_ENV, DEFAULT_MAX_AGE = "RELAY_LIVENESS_FILE", "RELAY_LIVENESS_MAX_AGE", "60"
# Touches at most this often: one stat-sized write a second, however fast the loops turn.
MIN_TOUCH_INTERVAL = 1.0


class Liveness:
    """The loops of one process, each with the monotonic time of its last beat."""

    def __init__(
        self, path: Path | None, max_age: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.path = path
        self.max_age = max_age
        self._clock = clock
        self._beats: dict[str, float] = {}
        self._touched = 0.0

    def beat(self, loop: str) -> None:
        """``loop`` turned; touch the file if every loop of the process did so recently."""
        if self.path is None:
            return
        now = self._clock()
        self._beats[loop] = now
        if now - self._touched < MIN_TOUCH_INTERVAL:
            return
        if all(now - last <= self.max_age for last in self._beats.values()):
            self.path.touch()
            self._touched = now

    def leave(self, loop: str) -> None:
        """``loop`` stopped on purpose (shutdown): it no longer holds the others' touches back."""
        self._beats.pop(loop, None)


_process: Liveness | None = None


def liveness() -> Liveness:
    """This process's liveness, configured from settings on first use."""
    global _process
    if _process is None:
        path = Path(settings.RELAY_LIVENESS_FILE) if settings.RELAY_LIVENESS_FILE else None
        _process = Liveness(path, float(settings.RELAY_LIVENESS_MAX_AGE))
    return _process


def file_age(path: Path) -> float | None:
    """Seconds since the file was last touched; None when it does not exist."""
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return None


def probe(argv: list[str] | None = None) -> int:
    """Exit status 0 when the liveness file was touched within ``--max-age`` seconds, else 1."""
    parser = argparse.ArgumentParser(prog="python -m pipeline.liveness", description=probe.__doc__)
    parser.add_argument("--file", default=os.environ.get(FILE_ENV, ""), help=f"default: ${FILE_ENV}")
    parser.add_argument(
        "--max-age",
        type=float,
        default=float(os.environ.get(MAX_AGE_ENV, DEFAULT_MAX_AGE)),
        help=f"seconds (default: ${MAX_AGE_ENV}, else {DEFAULT_MAX_AGE})",
    )
    args = parser.parse_args(argv)
    if not args.file:
        print(f"liveness: no file to check (set {FILE_ENV} or pass --file)", file=sys.stderr)
        return 1
    age = file_age(Path(args.file))
    if age is None:
        print(f"liveness: {args.file} does not exist (no loop has turned yet)", file=sys.stderr)
        return 1
    if age > args.max_age:
        print(f"liveness: {args.file} is {age:.0f}s old (max {args.max_age:.0f}s)", file=sys.stderr)
        return 1
    print(f"liveness: ok ({age:.1f}s old)")
    return 0


if __name__ == "__main__":
    sys.exit(probe())
