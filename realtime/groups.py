"""Channel-layer group names and the messages sent to them."""

from __future__ import annotations

from typing import Any

from realtime.models import InboxMessage


def inbox_group(subscriber_id: int) -> str:
    return f"inbox.{subscriber_id}"


def message_payload(message: InboxMessage) -> dict[str, Any]:
    """The JSON shape of one inbox message, on the socket and in the inbox API alike."""

    def iso(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": message.id,
        "deliveryId": message.delivery_id,
        "eventType": message.event_type,
        "title": message.title,
        "body": message.body,
        "actionUrl": message.action_url,
        "data": message.data,
        "tags": message.tags,
        "priority": message.priority,
        "actions": message.actions,
        "createdAt": iso(message.created_at),
        "seenAt": iso(message.seen_at),
        "readAt": iso(message.read_at),
        "archivedAt": iso(message.archived_at),
        "snoozedUntil": iso(message.snoozed_until),
    }
