"""A generation in the shared cache that tells every process its in-memory copy is stale.

Some rows are read on every routed batch but change rarely (active templates, current
workflow versions). Each process keeps them in memory; a change anywhere bumps a
generation key in the shared cache (Redis in production), and each process compares it at
most once a second and drops what it holds when it moved. The cost per batch is at most one
cache read a second instead of a query per batch; a change reaches every process within a
second, and the process that made it at once.
"""

from __future__ import annotations

import math
import threading
import time
import uuid

import structlog
from django.core.cache import cache

log = structlog.get_logger(__name__)


class SharedGeneration:
    def __init__(self, key: str, check_interval: float = 1.0) -> None:
        self.key, self.check_interval = key, check_interval
        self._lock = threading.Lock()
        self._seen: str | None = None
        self._checked_at = -math.inf

    def moved(self) -> bool:
        """True when the shared generation changed since this process last looked (and on the
        first look); looks at most once per ``check_interval``."""
        now = time.monotonic()
        with self._lock:
            if now - self._checked_at < self.check_interval:
                return False
            self._checked_at = now
        generation = self._shared()
        with self._lock:
            changed, self._seen = generation != self._seen, generation
        return changed

    def bump(self) -> None:
        """Tell every process (this one at its next look) that its copy is stale."""
        try:
            cache.set(self.key, uuid.uuid4().hex, None)
        except Exception as error:
            log.warning("cache_generation_unwritable", key=self.key, error=str(error))
        with self._lock:
            self._checked_at = -math.inf

    def _shared(self) -> str:
        try:
            return str(cache.get(self.key) or "")
        except Exception as error:  # cache down: reload from the database rather than serve stale rows
            log.warning("cache_generation_unreadable", key=self.key, error=str(error))
            return uuid.uuid4().hex
