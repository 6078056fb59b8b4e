"""Inbox state changes: one function each, called alike by the inbox API and the WebSocket.

Every change locks the messages it changes, changes them and their subscriber's counters
(``realtime.counters``) in one transaction, then broadcasts the subscriber's new counts (and
which messages changed) to their channel-layer group, so every open tab, on any server
process, syncs; and sends ``inbox_changed`` for the layers above (workflows' ``waitFor``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from core.bulk import update_fields
from realtime import counters
from realtime.groups import inbox_group
from realtime.models import InboxMessage
from realtime.selectors import KEYSET_ORDER, STATUS_FILTERS, of_subscriber
from realtime.signals import inbox_changed, inbox_state_changed

log = structlog.get_logger(__name__)

# A socket or API request may name at most this many messages at once.
MAX_IDS = 100
# A socket's ``change`` names at most this many ids.
MAX_CHANGE_IDS = 1000
# Messages changed per transaction by a bulk action: short locks, bounded statements.
BULK_BATCH = 500

# Changes one message in memory; True when it changed anything.
Mutation = Callable[[InboxMessage, datetime], bool]


class MessageNotFound(Exception):
    """None of the named messages belongs to this subscriber (another's ids look the same)."""


@dataclass(frozen=True)
class InboxChange:
    """What one state change did: the action, the messages it touched, the counts after it."""

    action: str
    ids: list[int]
    at: datetime
    counts: dict[str, Any]
    # Extra facts for the socket's ``change`` (a bulk action's ``updated`` and ``filter``).
    details: dict[str, Any] = field(default_factory=dict)

    def group_message(self) -> dict[str, Any]:
        return {
            "type": "inbox.counts",
            "counts": self.counts,
            "change": {"action": self.action, "ids": self.ids, "at": self.at.isoformat(), **self.details},
        }


def broadcast(subscriber_id: int, message: dict[str, Any]) -> None:
    """Best effort: the database holds the truth, and a client re-reads it on reconnect."""
    try:
        async_to_sync(get_channel_layer().group_send)(inbox_group(subscriber_id), message)
    except Exception as error:
        log.warning("inbox_broadcast_failed", subscriber_id=subscriber_id, error=str(error))


def finish(
    subscriber_id: int, action: str, ids: list[int], now: datetime, details: dict[str, Any] | None = None
) -> InboxChange:
    """After a change has committed: the new counts, and the change, to every socket."""
    change = InboxChange(action, sorted(ids), now, counters.counts(subscriber_id), details or {})
    broadcast(subscriber_id, change.group_message())
    log.info("inbox_changed", subscriber_id=subscriber_id, action=action, messages=len(ids))
    return change


def notify(subscriber_id: int, action: str, ids: list[int]) -> InboxChange:
    """Tell the subscriber's sockets of a change made elsewhere (retention, the scheduler)."""
    return finish(subscriber_id, action, ids, timezone.now())


def signal_changed(subscriber_id: int, action: str, ids: list[int]) -> None:
    """``inbox_changed`` for the layers above (a ``waitFor`` listens for ``read`` and ``seen``)."""
    inbox_changed.send(sender=InboxMessage, subscriber_id=subscriber_id, action=action, ids=sorted(ids))


# --- the mutations -------------------------------------------------------------------------


def _read(message: InboxMessage, now: datetime) -> bool:
    """Reading implies seeing; a message read before keeps its first read time."""
    changed = message.read_at is None or message.seen_at is None
    message.seen_at = message.seen_at or now
    message.read_at = message.read_at or now
    return changed


def _seen(message: InboxMessage, now: datetime) -> bool:
    changed = message.seen_at is None
    message.seen_at = message.seen_at or now
    return changed


def _archive(message: InboxMessage, now: datetime) -> bool:
    changed = message.archived_at is None
    message.archived_at = message.archived_at or now
    return changed


def _unarchive(message: InboxMessage, now: datetime) -> bool:
    changed = message.archived_at is not None
    message.archived_at = None
    return changed


@dataclass(frozen=True)
class Action:
    """A state change: what it does to a message, the fields it writes and, for bulk
    actions, which rows still need it (so a batch skips the rows already done)."""

    name: str
    mutate: Mutation | None  # None: delete
    fields: tuple[str, ...]
    pending: Q


ACTIONS: dict[str, Action] = {
    "read": Action("read", _read, ("seen_at", "read_at"), Q(read_at__isnull=True) | Q(seen_at__isnull=True)),
    "seen": Action("seen", _seen, ("seen_at",), Q(seen_at__isnull=True)),
    "archive": Action("archive", _archive, ("archived_at",), Q(archived_at__isnull=True)),
    "unarchive": Action("unarchive", _unarchive, ("archived_at",), Q(archived_at__isnull=False)),
    "delete": Action("delete", None, (), Q()),
}
# Actions whose ids ``inbox_changed`` reports to the workflows (``waitFor``).
SIGNALLED = {"read", "seen"}


def change_messages(
    rows: QuerySet[InboxMessage],
    mutate: Mutation | None,
    fields: Sequence[str],
    announce: str | None = None,
    details: dict[str, Any] | None = None,
) -> list[int]:
    """Lock ``rows`` (in id order), change each with ``mutate`` (``None`` deletes it), write the
    changed ones and the counters' deltas, in one transaction; return the ids it touched.
    With ``announce``, ``inbox_state_changed`` names the changed ones in that transaction.

    The one path of a state change to the counters: snooze and action buttons use it too.
    """
    now = timezone.now()
    with transaction.atomic():
        locked = list(rows.select_for_update().order_by("id").only(*counters.COUNTED_FIELDS, *fields))
        if mutate is None:
            InboxMessage.objects.filter(id__in=[m.id for m in locked]).delete()
            counters.apply((counters.counted_of(m), None) for m in locked)
            return [m.id for m in locked]
        changes, changed = [], []
        for message in locked:
            before = counters.counted_of(message)
            if mutate(message, now):
                changed.append(message)
                changes.append((before, counters.counted_of(message)))
        update_fields(InboxMessage, changed, fields)
        counters.apply(changes)
        if announce is not None and changed:
            inbox_state_changed.send(
                sender=InboxMessage, action=announce, ids=[m.id for m in changed], details=details or {}
            )
    return [m.id for m in locked]


def owned(subscriber_id: int, ids: Iterable[int]) -> QuerySet[InboxMessage]:
    """The subscriber's own messages among ``ids`` (at most ``MAX_IDS``): another's are not there."""
    wanted = list(ids)[:MAX_IDS]
    return InboxMessage.objects.filter(subscriber_id=subscriber_id, id__in=wanted)


def _on_ids(subscriber_id: int, ids: Iterable[int], action: Action) -> InboxChange:
    touched = change_messages(owned(subscriber_id, ids), action.mutate, action.fields, announce=action.name)
    if not touched:
        raise MessageNotFound(list(ids))
    if action.name in SIGNALLED:
        signal_changed(subscriber_id, action.name, touched)
    return finish(subscriber_id, action.name, touched, timezone.now())


def mark_seen(subscriber_id: int, ids: Iterable[int]) -> InboxChange:
    return _on_ids(subscriber_id, ids, ACTIONS["seen"])


def mark_read(subscriber_id: int, ids: Iterable[int]) -> InboxChange:
    return _on_ids(subscriber_id, ids, ACTIONS["read"])


def archive(subscriber_id: int, ids: Iterable[int]) -> InboxChange:
    return _on_ids(subscriber_id, ids, ACTIONS["archive"])


def unarchive(subscriber_id: int, ids: Iterable[int]) -> InboxChange:
    return _on_ids(subscriber_id, ids, ACTIONS["unarchive"])


# --- bulk actions ----------------------------------------------------------------------------


def _bulk_batches(rows: QuerySet[InboxMessage], action: Action, subscriber_id: int) -> list[int]:
    """Walk ``rows`` newest first in batches of ``BULK_BATCH``, each in its own transaction
    (locks held for one batch only); keyset on the id, so no batch rescans the ones before.
    Returns the ids changed."""
    changed: list[int] = []
    last_id = None
    pending = rows.filter(action.pending)
    while True:
        window = pending if last_id is None else pending.filter(id__lt=last_id)
        ids = list(window.order_by(*KEYSET_ORDER).values_list("id", flat=True)[:BULK_BATCH])
        if not ids:
            return changed
        touched = change_messages(
            InboxMessage.objects.filter(action.pending, subscriber_id=subscriber_id, id__in=ids),
            action.mutate,
            action.fields,
            announce=action.name,
        )
        if action.name in SIGNALLED and touched:
            signal_changed(subscriber_id, action.name, touched)
        changed.extend(touched)
        last_id = ids[-1]


def bulk_change(
    subscriber_id: int,
    action_name: str,
    *,
    rows: QuerySet[InboxMessage],
    change_action: str | None = None,
    details: dict[str, Any] | None = None,
) -> tuple[int, InboxChange]:
    """Apply ``action_name`` to the subscriber's ``rows`` (a filter or named ids) in bounded
    batches; then ONE ``counts`` change to every socket, naming the changed ids when there
    are at most ``MAX_CHANGE_IDS`` (a client re-reads its list when ``updated`` is larger).
    Returns how many messages changed."""
    action = ACTIONS[action_name]
    changed = _bulk_batches(rows.filter(of_subscriber(subscriber_id)), action, subscriber_id)
    listed = changed if len(changed) <= MAX_CHANGE_IDS else []
    name = change_action or f"bulk_{action_name}"
    extra = {**(details or {}), "updated": len(changed)}
    return len(changed), finish(subscriber_id, name, listed, timezone.now(), extra)


def mark_all_read(subscriber_id: int) -> InboxChange:
    """Every unread message in the inbox (not the archive, not snoozed) becomes read and seen."""
    _, change = bulk_change(
        subscriber_id,
        "read",
        rows=InboxMessage.objects.filter(STATUS_FILTERS["unread"]),
        change_action="read_all",
    )
    return change


# What the socket's client messages map to (``mark_all_read`` takes no ids).
ACTIONS_ON_IDS = {"mark_read": mark_read, "mark_seen": mark_seen, "archive": archive}
