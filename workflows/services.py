"""Writes of workflows: publish a new immutable version, or delete (unpublish) a workflow."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max

from workflows.definitions import DefinitionError, normalize, workflow_key
from workflows.models import Workflow, WorkflowVersion


def publish(key: str, body: Any) -> tuple[WorkflowVersion, bool]:
    """Validate ``body`` and publish it as the next version of ``key``'s workflow.

    Returns the version and whether the workflow was created (it had no current version, also
    after a delete). Raises :class:`DefinitionError` for an invalid key or body; nothing is
    written then. The workflow row is locked while the version number is chosen, so concurrent
    publishes get distinct, consecutive versions.
    """
    try:
        workflow_key(key)
    except ValueError as error:
        raise DefinitionError({"key": [str(error)]}) from None
    name, steps = normalize(body)
    with transaction.atomic():
        Workflow.objects.get_or_create(key=key)
        workflow = Workflow.objects.select_for_update().get(key=key)
        latest = workflow.versions.aggregate(latest=Max("version"))["latest"] or 0
        version = WorkflowVersion.objects.create(
            workflow=workflow, version=latest + 1, name=name, steps=steps
        )
        created = workflow.current_id is None
        workflow.name, workflow.current = name, version
        workflow.save(update_fields=["name", "current", "updated_at"])
    version.workflow = workflow
    return version, created


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
    return True
