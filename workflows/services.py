"""Writes of workflows: publish a new immutable version, or delete (unpublish) a workflow."""

from __future__ import annotations

from typing import Any, Literal

from django.db import transaction
from django.db.models import Max

from workflows.definitions import DefinitionError, normalize, workflow_key
from workflows.models import Workflow, WorkflowVersion
from workflows.selectors import workflows_changed

Outcome = Literal["created", "updated", "unchanged"]


def publish(key: str, body: Any) -> tuple[WorkflowVersion, bool]:
    """Validate ``body`` and publish it as the next version of ``key``'s workflow.

    Returns the version and whether the workflow was created (it had no current version, also
    after a delete). Raises :class:`DefinitionError` for an invalid key or body; nothing is
    written then. The workflow row is locked while the version number is chosen, so concurrent
    publishes get distinct, consecutive versions.
    """
    version, outcome = _publish(key, body, skip_unchanged=False)
    return version, outcome == "created"


def publish_changes(key: str, body: Any) -> tuple[WorkflowVersion, Outcome]:
    """As :func:`publish`, but a body equal to the current version (once normalized) publishes
    nothing: imports and admin saves of an unchanged workflow add no version."""
    return _publish(key, body, skip_unchanged=True)


def _publish(key: str, body: Any, skip_unchanged: bool) -> tuple[WorkflowVersion, Outcome]:
    try:
        workflow_key(key)
    except ValueError as error:
        raise DefinitionError({"key": [str(error)]}) from None
    name, steps = normalize(body)
    with transaction.atomic():
        Workflow.objects.get_or_create(key=key)
        workflow = Workflow.objects.select_for_update().get(key=key)
        # Read after the lock, in its own query: a join in the locking query would return the
        # version current when the statement began, not the one a concurrent publish just set.
        current = workflow.current
        if skip_unchanged and current is not None and (current.name, current.steps) == (name, steps):
            current.workflow = workflow
            return current, "unchanged"
        latest = workflow.versions.aggregate(latest=Max("version"))["latest"] or 0
        version = WorkflowVersion.objects.create(
            workflow=workflow, version=latest + 1, name=name, steps=steps
        )
        workflow.name, workflow.current = name, version
        workflow.save(update_fields=["name", "current", "updated_at"])
        _changed()
    version.workflow = workflow
    return version, "created" if current is None else "updated"


def _changed() -> None:
    """Every process's cached current versions are stale: now, for this process's next read,
    and again once the transaction commits, so no process keeps a version read in between."""
    workflows_changed()
    transaction.on_commit(workflows_changed)


def delete(key: str) -> bool:
    """Unpublish ``key``'s workflow: new events of that type go to their ``channels`` as before.

    Versions stay, so runs in flight finish on the version they started on. Returns False when
    there was no published workflow to delete.
    """
    with transaction.atomic():
        workflow = Workflow.objects.select_for_update().filter(key=key, current__isnull=False).first()
        if workflow is None:
            return False
        workflow.current = None
        workflow.save(update_fields=["current", "updated_at"])
        _changed()
    return True
