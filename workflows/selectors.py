"""Reads of workflows: what the engine starts runs on, and what the API and the admin list."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import F, QuerySet

from workflows.models import Workflow, WorkflowVersion


def current_versions(event_types: Iterable[str]) -> dict[str, WorkflowVersion]:
    """The current version of each event type that has a workflow, in one query for a batch.

    Event types without a workflow (or whose workflow was deleted) are absent: their events go
    to their ``channels`` as before.
    """
    keys = set(event_types)
    if not keys:
        return {}
    versions = WorkflowVersion.objects.select_related("workflow").filter(
        workflow__key__in=keys, workflow__current=F("pk")
    )
    return {version.workflow.key: version for version in versions}


def published_workflows() -> QuerySet[Workflow]:
    """Every workflow that has a current version (deleted ones are left out), by key."""
    return Workflow.objects.select_related("current").filter(current__isnull=False).order_by("key")


def published_workflow(key: str) -> Workflow | None:
    return published_workflows().filter(key=key).first()
