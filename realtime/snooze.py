"""Snooze: a message leaves the inbox (its list and its counts) until a time, then comes back.

``snooze`` remembers the message's read and seen times (``snoozed_from``) the first time it is
snoozed; ``unsnooze`` before the time puts them back. At the time, the scheduler's pass calls
``resurface_due``: the message returns unread and unseen, and every open socket of its
subscriber gets it as a ``notification`` with ``"resurfaced": true``. The due time lives in the
row, so a snooze outlives any restart, and due rows are claimed with ``SKIP LOCKED``, so any
number of schedulers wake each message once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from realtime import counters, services
from realtime.groups import inbox_group, message_payload
from realtime.models import InboxMessage

MIN_SNOOZE = timedelta(seconds=60)
MAX_SNOOZE = timedelta(days=90)
# What a snooze, an unsnooze and a wake-up write.
FIELDS = ("snoozed_until", "snoozed_from", "read_at", "seen_at")


class NotSnoozable(Exception):
    """The message is archived: snoozing would hide it from nowhere."""


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _parsed(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _snooze_until(until: datetime) -> services.Mutation:
    def mutate(message: InboxMessage, now: datetime) -> bool:
        if message.archived_at is not None:
            raise NotSnoozable(message.pk)
        if message.snoozed_until is None:
            message.snoozed_from = {"readAt": _iso(message.read_at), "seenAt": _iso(message.seen_at)}
        changed = message.snoozed_until != until
        message.snoozed_until = until
        return changed

    return mutate


def _unsnooze(message: InboxMessage, now: datetime) -> bool:
    """Early: the read and seen times from before the snooze come back."""
    if message.snoozed_until is None:
        return False
    before = message.snoozed_from or {}
    message.read_at, message.seen_at = _parsed(before.get("readAt")), _parsed(before.get("seenAt"))
    message.snoozed_until = message.snoozed_from = None
    return True


def _resurface(message: InboxMessage, now: datetime) -> bool:
    """Due: back in the inbox as new, unread and unseen."""
    message.read_at = message.seen_at = message.snoozed_until = message.snoozed_from = None
    return True


def snooze(subscriber_id: int, ids: Iterable[int], until: datetime) -> services.InboxChange:
    """Hide the messages until ``until`` (checked by the caller: 60 s to 90 days ahead)."""
    rows = services.owned(subscriber_id, ids)
    touched = services.change_messages(rows, _snooze_until(until), FIELDS)
    if not touched:
        raise services.MessageNotFound(list(ids))
    return services.finish(subscriber_id, "snooze", touched, timezone.now(), {"until": until.isoformat()})


def unsnooze(subscriber_id: int, ids: Iterable[int]) -> services.InboxChange:
    rows = services.owned(subscriber_id, ids)
    touched = services.change_messages(rows, _unsnooze, FIELDS)
    if not touched:
        raise services.MessageNotFound(list(ids))
    return services.finish(subscriber_id, "unsnooze", touched, timezone.now())


GroupMessage = tuple[str, dict[str, Any]]


def resurface_due(now: datetime, limit: int) -> list[GroupMessage]:
    """Wake up to ``limit`` messages whose snooze has ended; return the pushes to make
    (group, channel-layer message), which the caller sends once this has committed."""
    with transaction.atomic():
        due = list(
            InboxMessage.objects.select_for_update(skip_locked=True)
            .filter(snoozed_until__lte=now)
            .order_by("snoozed_until", "id")
            .values_list("id", flat=True)[:limit]
        )
        if not due:
            return []
        services.change_messages(InboxMessage.objects.filter(id__in=due), _resurface, FIELDS)
    woken = list(InboxMessage.objects.filter(id__in=due, snoozed_until__isnull=True).order_by("id"))
    by_subscriber: dict[int, list[InboxMessage]] = defaultdict(list)
    for message in woken:
        by_subscriber[message.subscriber_id].append(message)
    counts = counters.counts_for_many(sorted(by_subscriber))
    return [
        (
            inbox_group(subscriber_id),
            {
                "type": "inbox.notification",
                "message": message_payload(message),
                "counts": counts[subscriber_id],
                "resurfaced": True,
            },
        )
        for subscriber_id, messages in by_subscriber.items()
        for message in messages
    ]
