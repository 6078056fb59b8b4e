"""Retention: messages older than ``RELAY_INBOX_RETENTION_DAYS`` are deleted, a batch per
scheduler pass (``pipeline/scheduler.py``), each batch with its counters in one transaction.
``0`` keeps everything."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings

from realtime import services
from realtime.models import InboxMessage


def purge_expired(now: datetime, limit: int) -> int:
    """Delete up to ``limit`` of the oldest messages past retention; return how many.

    The ``created_at`` index finds them; ``change_messages`` locks, deletes and takes them
    off the counters; their subscribers' sockets get the new counts (action ``expired``).
    """
    days = int(settings.RELAY_INBOX_RETENTION_DAYS)
    if days <= 0:
        return 0
    cutoff = now - timedelta(days=days)
    ids = list(
        InboxMessage.objects.filter(created_at__lt=cutoff)
        .order_by("created_at")
        .values_list("id", flat=True)[:limit]
    )
    if not ids:
        return 0
    owners = dict(InboxMessage.objects.filter(id__in=ids).values_list("id", "subscriber_id"))
    deleted = services.change_messages(InboxMessage.objects.filter(id__in=ids), None, ())
    by_owner: dict[int, list[int]] = defaultdict(list)
    for message_id in deleted:
        by_owner[owners[message_id]].append(message_id)
    for subscriber_id, mine in by_owner.items():
        services.notify(subscriber_id, "expired", mine)
    return len(deleted)
