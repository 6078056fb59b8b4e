"""The API shapes of workflows (camelCase, API.md "Workflows").

Request bodies are checked by ``workflows.definitions`` (one validator for the API, the admin
and files); these serializers shape answers and document both directions in the schema.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from notifications.serializers import StrictSerializer
from workflows.definitions import STEP_TYPES
from workflows.models import Workflow

# ``if`` is a Python keyword, so the step's fields are given as a mapping.
WorkflowStepSerializer = type(
    "WorkflowStepSerializer",
    (serializers.Serializer,),
    {
        "__doc__": "One step: ``config`` by type (README, Workflows); ``if`` a JSON-Logic condition.",
        "id": serializers.CharField(max_length=64),
        "type": serializers.ChoiceField(choices=list(STEP_TYPES)),
        "config": serializers.DictField(required=False),
        "if": serializers.JSONField(required=False),
    },
)


class WorkflowBodySerializer(serializers.Serializer):
    """What ``PUT /api/workflows/<eventType>`` takes."""

    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    steps = WorkflowStepSerializer(many=True)


class WorkflowSerializer(serializers.Serializer):
    """A workflow and its current version."""

    key = serializers.CharField(help_text="The event type the workflow handles.")
    name = serializers.CharField(allow_blank=True)
    version = serializers.IntegerField(help_text="The current version; each publish adds one.")
    steps = WorkflowStepSerializer(many=True, help_text="Normalized: durations in seconds, times as cron.")
    createdAt = serializers.DateTimeField(help_text="When the workflow was first published.")
    updatedAt = serializers.DateTimeField()
    publishedAt = serializers.DateTimeField(help_text="When the current version was published.")

    def to_representation(self, instance: Any) -> Any:
        workflow: Workflow = instance
        version = workflow.current
        assert version is not None, "only published workflows are shown"
        return super().to_representation(
            {
                "key": workflow.key,
                "name": version.name,
                "version": version.version,
                "steps": version.steps,
                "createdAt": workflow.created_at,
                "updatedAt": workflow.updated_at,
                "publishedAt": version.created_at,
            }
        )


class WorkflowListSerializer(serializers.Serializer):
    workflows = WorkflowSerializer(many=True)


class CancelSerializer(StrictSerializer):
    """``POST /api/workflows/cancel``: the runs of events sent with this ``cancellationKey``
    (of one subscriber, given ``userId``)."""

    cancellationKey = serializers.CharField(max_length=128)
    userId = serializers.CharField(max_length=128, required=False)


class CancelledSerializer(serializers.Serializer):
    cancelled = serializers.IntegerField()
