"""The status event types an endpoint may subscribe to, and what produces each.

An endpoint's ``events`` is a list of these; an empty list subscribes to every type (new
types included).
"""

from __future__ import annotations

DELIVERY_STATUSES = ("sent", "delivered", "failed", "bounced", "suppressed")
# Inbox actions (realtime.services ACTIONS, and action buttons) -> event type.
INBOX_ACTIONS = {
    "read": "message.read",
    "seen": "message.seen",
    "archive": "message.archived",
    "action": "message.action",
}
RUN_ENDINGS = ("completed", "failed", "cancelled", "throttled", "digested")

EVENT_TYPES: tuple[str, ...] = (
    *(f"delivery.{status}" for status in DELIVERY_STATUSES),
    *INBOX_ACTIONS.values(),
    *(f"workflow.{ending}" for ending in RUN_ENDINGS),
)
