"""What a step's condition sees: ``payload``, ``subscriber``, ``steps.<id>.status|seen|read``
and ``digest``, read at the moment the condition is evaluated.

``steps.<id>.status`` is the status of the delivery the step made (``sent``, ``delivered``,
``suppressed``, ...) when it made one, else the step's own status (``skipped``, ``done``, ...);
``seen`` and ``read`` come from the inbox row of that delivery as it is now, so a condition on
message status is checked when its step runs, not when the run started.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deliveries.models import Delivery
from realtime.models import InboxMessage
from templates_admin.rendering import subscriber_context
from workflows.models import Run, StepState


def condition_data(run: Run, states: Mapping[str, StepState]) -> dict[str, Any]:
    delivery_ids = [s.delivery_id for s in states.values() if s.delivery_id is not None]
    delivery_status = dict(Delivery.objects.filter(pk__in=delivery_ids).values_list("pk", "status"))
    inbox = {
        delivery_id: (seen_at is not None, read_at is not None)
        for delivery_id, seen_at, read_at in InboxMessage.objects.filter(
            delivery_id__in=delivery_ids
        ).values_list("delivery_id", "seen_at", "read_at")
    }
    steps = {}
    for step_id, state in states.items():
        seen, read = inbox.get(state.delivery_id or 0, (False, False))
        status = delivery_status.get(state.delivery_id or 0, state.status)
        steps[step_id] = {"status": status, "seen": seen, "read": read}
    return {
        "payload": run.notification.event.data,
        "subscriber": subscriber_context(run.subscriber),
        "steps": steps,
        "digest": run.context.get("digest", {}),
    }
