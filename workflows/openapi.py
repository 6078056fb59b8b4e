"""The workflows app's part of the OpenAPI schema: the ``runs`` of ``GET /api/events/<eventId>``.

The deliveries app serves the event and gets ``runs`` from this app through its
``event_detail`` signal (``workflows/event_runs.py``), so this app adds the field to the
event's schema too, the same way round: a postprocessing hook, not an import from below.
"""

from __future__ import annotations

from typing import Any

from workflows.models import RunStatus, StepStatus

TIME = {"type": "string", "format": "date-time"}
STEP_DELIVERY = {
    "type": "object",
    "nullable": True,
    "description": "The delivery a send step made.",
    "properties": {
        "id": {"type": "integer"},
        "channel": {"type": "string"},
        "status": {"$ref": "#/components/schemas/DeliveryStatusEnum"},
        "reason": {"type": "string"},
    },
}
RUN_STEP = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "type": {"$ref": "#/components/schemas/WorkflowStepTypeEnum"},
        "status": {"type": "string", "enum": list(StepStatus.values)},
        "waitingUntil": {**TIME, "nullable": True},
        "reason": {"type": "string"},
        "values": {
            "type": "object",
            "additionalProperties": {},
            "description": "What the step decided on: a condition's values, a throttle's count, "
            "a digest's window.",
        },
        "delivery": STEP_DELIVERY,
    },
}
WORKFLOW_RUN = {
    "type": "object",
    "description": "One run of the event type's workflow for one recipient.",
    "properties": {
        "id": {"type": "integer"},
        "workflow": {"type": "string", "description": "The workflow's key (the event type)."},
        "version": {"type": "integer"},
        "userId": {"type": "string"},
        "status": {"type": "string", "enum": list(RunStatus.values)},
        "reason": {"type": "string"},
        "createdAt": TIME,
        "updatedAt": TIME,
        "steps": {"type": "array", "items": {"$ref": "#/components/schemas/WorkflowRunStep"}},
    },
}


def add_event_runs(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Postprocessing hook (after the enum hook, whose components it refers to)."""
    schemas = result.get("components", {}).get("schemas", {})
    event = schemas.get("EventDetail")
    if event is None:
        return result
    schemas["WorkflowRunStep"] = RUN_STEP
    schemas["WorkflowRun"] = WORKFLOW_RUN
    event["properties"]["runs"] = {
        "type": "array",
        "readOnly": True,
        "items": {"$ref": "#/components/schemas/WorkflowRun"},
        "description": "The workflow runs of the event (when its type has a workflow), oldest first.",
    }
    return result
