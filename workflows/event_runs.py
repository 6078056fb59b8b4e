"""The ``runs`` of ``GET /api/events/<eventId>``: each workflow run of the event and where each
of its steps is.

A step shows its ``status`` (``pending``, ``waiting`` with ``waitingUntil``, ``skipped``,
``done``, ``throttled``, ``cancelled``, ``failed``), its ``reason``, what it decided on
(``values``: a skipped step's condition values, a throttle's count, a digest's window) and the
delivery it made. The deliveries app serves the event and asks for this section through its
``event_detail`` signal, since it may not import this layer.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from rest_framework import serializers

from notifications.models import Event
from workflows.models import Run, StepState

_TIME = serializers.DateTimeField()


def _time(value: Any) -> Any:
    return None if value is None else _TIME.to_representation(value)


def _step(state: StepState) -> dict[str, Any]:
    delivery = state.delivery
    return {
        "id": state.step_id,
        "type": state.type,
        "status": state.status,
        "waitingUntil": _time(state.waiting_until),
        "reason": state.reason,
        "values": state.values,
        "delivery": None
        if delivery is None
        else {
            "id": delivery.pk,
            "channel": delivery.channel,
            "status": delivery.status,
            "reason": delivery.reason,
        },
    }


def run_detail(run: Run) -> dict[str, Any]:
    return {
        "id": run.pk,
        "workflow": run.version.workflow.key,
        "version": run.version.version,
        "userId": run.subscriber.user_id,
        "status": run.status,
        "reason": run.reason,
        "createdAt": _time(run.created_at),
        "updatedAt": _time(run.updated_at),
        "steps": [_step(state) for state in run.step_states.all()],
    }


def event_runs(event: Event) -> list[dict[str, Any]]:
    """The event's runs (one per recipient), oldest first, each with its steps in order."""
    runs = (
        Run.objects.filter(notification__event=event)
        .select_related("version__workflow", "subscriber")
        .prefetch_related(
            Prefetch(
                "step_states", queryset=StepState.objects.select_related("delivery").order_by("position")
            )
        )
        .order_by("pk")
    )
    return [run_detail(run) for run in runs]


def on_event_detail(sender: Any, event: Event, **kwargs: Any) -> dict[str, Any]:
    return {"runs": event_runs(event)}
