"""Action buttons: completing one records when, and reads the message.

A message's ``actions`` (``[{"key", "label", "url"?, "variant", "completedAt"}]``) come from
its template or its workflow step (``templates_admin.actions``). Completing a button is
idempotent: the first completion's time stays, as a read message keeps its first read time.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from realtime import services
from realtime.models import InboxMessage

FIELDS = ("actions", "read_at", "seen_at")


class ActionNotFound(Exception):
    """The message has no button with this key."""


def _complete(key: str) -> services.Mutation:
    def mutate(message: InboxMessage, now: datetime) -> bool:
        button = next((a for a in message.actions or [] if a.get("key") == key), None)
        if button is None:
            raise ActionNotFound(key)
        changed = services.ACTIONS["read"].mutate(message, now)  # type: ignore[misc]
        if not button.get("completedAt"):
            button["completedAt"] = now.isoformat()
            changed = True
        return changed

    return mutate


def complete_action(subscriber_id: int, message_id: int, key: str) -> services.InboxChange:
    """Record the button ``key`` of the message as done and mark the message read; every
    socket of the subscriber gets the new counts, and ``waitFor`` steps hear of the read."""
    rows = services.owned(subscriber_id, [message_id])
    touched = services.change_messages(rows, _complete(key), FIELDS, announce="action", details={"key": key})
    if not touched:
        raise services.MessageNotFound([message_id])
    message = InboxMessage.objects.only("actions").get(pk=message_id)
    done = next(a for a in message.actions if a.get("key") == key)
    services.signal_changed(subscriber_id, "read", touched)
    return services.finish(
        subscriber_id, "action", touched, timezone.now(), {"key": key, "completedAt": done["completedAt"]}
    )
