"""Workflow definitions: a workflow per event type, published as immutable versions."""

from __future__ import annotations

from django.db import models


class Workflow(models.Model):
    """The workflow of one event type (its ``key``).

    ``current`` is the version new runs start on; ``None`` means the workflow was deleted and
    events of that type go to their ``channels`` as before. Versions are never removed, so a
    run in flight stays pinned to the version it started on.
    """

    key = models.CharField(max_length=128, unique=True)
    name = models.CharField(max_length=200, blank=True, default="")
    current = models.ForeignKey(
        "WorkflowVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class WorkflowVersion(models.Model):
    """One published, immutable version: its ordered steps ``[{id, type, config, if}]``."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    name = models.CharField(max_length=200, blank=True, default="")
    steps = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["workflow", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["workflow", "version"], name="workflow_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.workflow.key} v{self.version}"
