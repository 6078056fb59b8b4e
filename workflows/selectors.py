"""Reads of workflows: what the engine starts runs on, and what the API and the admin list."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from django.db.models import F, QuerySet

from core.generation import SharedGeneration
from workflows.models import Workflow, WorkflowVersion


class CurrentVersions:
    """The current version of each event type, kept in process memory.

    Route asks on every batch, and almost every event type has no workflow: a query per batch
    cost more than routing a single event (make bench, docs/BENCHMARKS.md). Publishing or
    deleting a workflow bumps a shared generation (``core/generation.py``), so every process
    reloads within a second, and the one that published at once.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[str, WorkflowVersion | None] = {}
        self.generation = SharedGeneration("workflows:generation")

    def of(self, event_types: Iterable[str]) -> dict[str, WorkflowVersion]:
        if self.generation.moved():
            with self._lock:
                self._known.clear()
        keys = set(event_types)
        with self._lock:
            missing = keys - self._known.keys()
        if missing:
            versions = WorkflowVersion.objects.select_related("workflow").filter(
                workflow__key__in=missing, workflow__current=F("pk")
            )
            found: dict[str, WorkflowVersion | None] = dict.fromkeys(missing)
            found.update({version.workflow.key: version for version in versions})
            with self._lock:
                self._known.update(found)
        with self._lock:
            return {key: version for key in sorted(keys) if (version := self._known.get(key)) is not None}


_current = CurrentVersions()


def current_versions(event_types: Iterable[str]) -> dict[str, WorkflowVersion]:
    """The current version of each event type that has a workflow (one query for a batch, and
    none while nothing changed).

    Event types without a workflow (or whose workflow was deleted) are absent: their events go
    to their ``channels`` as before.
    """
    return _current.of(event_types)


def has_workflow(event_type: str, **_: Any) -> bool:
    """Signal receiver (``notifications.signals.event_type_routed``): events of a type with a
    published workflow need no ``channels``; its steps pick them."""
    return bool(current_versions([event_type]))


def workflows_changed() -> None:
    """Called by the services once a publish or delete has committed."""
    _current.generation.bump()


def published_workflows() -> QuerySet[Workflow]:
    """Every workflow that has a current version (deleted ones are left out), by key."""
    return Workflow.objects.select_related("current").filter(current__isnull=False).order_by("key")


def published_workflow(key: str) -> Workflow | None:
    return published_workflows().filter(key=key).first()
