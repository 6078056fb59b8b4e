"""Inbox state changes: one function each, called alike by the inbox API and the WebSocket.

Every change ends with a broadcast of the subscriber's new counts (and which messages
changed) to their channel-layer group, so every open tab, on any server process, syncs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from realtime.groups import inbox_group
from realtime.models import InboxMessage
from realtime.selectors import inbox_counts
from realtime.signals import inbox_changed

log = structlog.get_logger(__name__)

# A socket or API request may name at most this many messages at once.
MAX_IDS = 100


class MessageNotFound(Exception):
    """None of the named messages belongs to this subscriber (another's ids look the same)."""


@dataclass(frozen=True)
class InboxChange:
    """What one state change did: the action, the messages it touched, the counts after it."""

    action: str
    ids: list[int]
    at: datetime
    counts: dict[str, int]

    def group_message(self) -> dict[str, Any]:
        return {
            "type": "inbox.counts",
            "counts": self.counts,
            "change": {"action": self.action, "ids": self.ids, "at": self.at.isoformat()},
        }


def _owned(subscriber_id: int, ids: Iterable[int]) -> QuerySet[InboxMessage]:
    wanted = list(ids)[:MAX_IDS]
    rows = InboxMessage.objects.filter(subscriber_id=subscriber_id, id__in=wanted)
    if not rows.exists():
        raise MessageNotFound(wanted)
    return rows


def _finish(subscriber_id: int, action: str, ids: list[int], now: datetime) -> InboxChange:
    change = InboxChange(action, sorted(ids), now, inbox_counts(subscriber_id))
    broadcast(subscriber_id, change.group_message())
    inbox_changed.send(sender=InboxMessage, subscriber_id=subscriber_id, action=action, ids=change.ids)
    log.info("inbox_changed", subscriber_id=subscriber_id, action=action, messages=len(ids))
    return change


def broadcast(subscriber_id: int, message: dict[str, Any]) -> None:
    """Best effort: the database holds the truth, and a client re-reads it on reconnect."""
    try:
        async_to_sync(get_channel_layer().group_send)(inbox_group(subscriber_id), message)
    except Exception as error:
        log.warning("inbox_broadcast_failed", subscriber_id=subscriber_id, error=str(error))


def mark_seen(subscriber_id: int, ids: Iterable[int]) -> InboxChange:
    now = timezone.now()
    rows = _owned(subscriber_id, ids)
    rows.filter(seen_at__isnull=True).update(seen_at=now)
    return _finish(subscriber_id, "seen", list(rows.values_list("id", flat=True)), now)


def mark_read(subscriber_id: int, ids: Iterable[int]) -> InboxChange:
    """Reading implies seeing; a message read before keeps its first read time."""
    now = timezone.now()
    rows = _owned(subscriber_id, ids)
    with transaction.atomic():
        rows.filter(seen_at__isnull=True).update(seen_at=now)
        rows.filter(read_at__isnull=True).update(read_at=now)
    return _finish(subscriber_id, "read", list(rows.values_list("id", flat=True)), now)


def archive(subscriber_id: int, ids: Iterable[int]) -> InboxChange:
    now = timezone.now()
    rows = _owned(subscriber_id, ids)
    rows.filter(archived_at__isnull=True).update(archived_at=now)
    return _finish(subscriber_id, "archive", list(rows.values_list("id", flat=True)), now)


def mark_all_read(subscriber_id: int) -> InboxChange:
    """Every unread message in the inbox (not the archive) becomes read and seen."""
    now = timezone.now()
    unread = InboxMessage.objects.filter(subscriber_id=subscriber_id, archived_at__isnull=True, read_at=None)
    with transaction.atomic():
        ids = list(unread.select_for_update().values_list("id", flat=True))
        touched = InboxMessage.objects.filter(id__in=ids)
        touched.filter(seen_at__isnull=True).update(seen_at=now)
        touched.update(read_at=now)
    return _finish(subscriber_id, "read_all", ids, now)


# What the socket's client messages map to (``mark_all_read`` takes no ids).
ACTIONS_ON_IDS = {"mark_read": mark_read, "mark_seen": mark_seen, "archive": archive}
