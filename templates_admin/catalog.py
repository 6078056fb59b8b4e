"""Active templates in process memory, so route renders a batch without a query per delivery.

Templates are loaded per event type in one query and kept until a template changes. A save or
delete anywhere bumps a generation key in the shared cache (Redis in production); each process
compares it at most once a second and drops what it holds when it moved. The cost per routed
batch is one cache read and, after a change, one query per event type.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from typing import Any

import structlog
from django.core.cache import cache
from django.db import transaction

from templates_admin.models import NotificationTemplate
from templates_admin.sandbox import reset_loaded_templates
from templates_admin.source import TemplateSource

log = structlog.get_logger(__name__)

GENERATION_KEY = "templates_admin:generation"
CHECK_INTERVAL_SECONDS = 1.0


def _shared_generation() -> str:
    try:
        return str(cache.get(GENERATION_KEY) or "")
    except Exception as error:  # cache down: reload from the database rather than serve stale words
        log.warning("template_generation_unreadable", error=str(error))
        return uuid.uuid4().hex


class TemplateCatalog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_event_type: dict[str, dict[tuple[str, str], TemplateSource]] = {}
        self._generation: str | None = None
        self._checked_at = -math.inf

    def find(self, event_type: str, channel: str, locales: list[str]) -> TemplateSource | None:
        """The first active template along the locale chain, or None."""
        templates = self.templates_for(event_type)
        for locale in locales:
            found = templates.get((channel, locale))
            if found is not None:
                return found
        return None

    def templates_for(self, event_type: str) -> dict[tuple[str, str], TemplateSource]:
        self._sync()
        with self._lock:
            known = self._by_event_type.get(event_type)
        if known is not None:
            return known
        loaded = {
            (row.channel, row.locale): row.source()
            for row in NotificationTemplate.objects.filter(event_type=event_type, active=True)
        }
        with self._lock:
            self._by_event_type[event_type] = loaded
        return loaded

    def invalidate(self) -> None:
        """Forget everything here and tell the other processes to do the same."""
        try:
            cache.set(GENERATION_KEY, uuid.uuid4().hex, None)
        except Exception as error:
            log.warning("template_generation_unwritable", error=str(error))
        self._forget()

    def _sync(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < CHECK_INTERVAL_SECONDS:
            return
        generation = _shared_generation()
        with self._lock:
            self._checked_at = now
            changed = generation != self._generation
            self._generation = generation
        if changed:
            self._forget(keep_checked=True)

    def _forget(self, keep_checked: bool = False) -> None:
        with self._lock:
            self._by_event_type.clear()
            if not keep_checked:
                self._checked_at = -math.inf
        reset_loaded_templates()


catalog = TemplateCatalog()


def template_changed(**_: Any) -> None:
    """Signal receiver: invalidate now and again once the transaction commits.

    Now, so this process's next render sees the change; after commit, so no other thread can
    have cached the old row in between.
    """
    catalog.invalidate()
    transaction.on_commit(catalog.invalidate)
