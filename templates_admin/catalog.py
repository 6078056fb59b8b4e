"""Active templates in process memory, so route renders a batch without a query per delivery.

Templates are loaded per event type in one query and kept until a template changes. A save or
delete anywhere bumps a shared generation (``core/generation.py``); each process compares it
at most once a second and drops what it holds when it moved. The cost per routed batch is at
most one cache read a second and, after a change, one query per event type.
"""

from __future__ import annotations

import threading
from typing import Any

from django.db import transaction

from core.generation import SharedGeneration
from templates_admin.models import NotificationTemplate
from templates_admin.sandbox import reset_loaded_templates
from templates_admin.source import TemplateSource


class TemplateCatalog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_event_type: dict[str, dict[tuple[str, str], TemplateSource]] = {}
        self._generation = SharedGeneration("templates_admin:generation")

    def find(self, event_type: str, channel: str, locales: list[str]) -> TemplateSource | None:
        """The first active template along the locale chain, or None."""
        templates = self.templates_for(event_type)
        for locale in locales:
            found = templates.get((channel, locale))
            if found is not None:
                return found
        return None

    def templates_for(self, event_type: str) -> dict[tuple[str, str], TemplateSource]:
        if self._generation.moved():
            self._forget()
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
        self._generation.bump()
        self._forget()

    def _forget(self) -> None:
        with self._lock:
            self._by_event_type.clear()
        reset_loaded_templates()


catalog = TemplateCatalog()


def template_changed(**_: Any) -> None:
    """Signal receiver: invalidate now and again once the transaction commits.

    Now, so this process's next render sees the change; after commit, so no other thread can
    have cached the old row in between.
    """
    catalog.invalidate()
    transaction.on_commit(catalog.invalidate)
