"""Reads of the inbox: pages of messages by keyset, and counts from the counters."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import reduce
from operator import or_
from typing import Any

from django.db import connection
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL

from realtime import counters
from realtime.models import IN_INBOX, InboxMessage


def inbox_counts(subscriber_id: int) -> dict[str, Any]:
    """``unreadCount``, ``unseenCount``, ``totalCount`` and ``unreadByPriority``: counter rows."""
    return counters.counts(subscriber_id)


def latest_messages(subscriber_id: int, limit: int = 20) -> list[InboxMessage]:
    return inbox_page(subscriber_id, limit=limit)[0]


def of_subscriber(subscriber_id: int) -> Q:
    """The subscriber's rows, for a walk in ``KEYSET_ORDER``.

    Written as a range (``>= id AND <= id``), not an equality: PostgreSQL drops an ORDER BY
    column that an equality makes constant, and ``ORDER BY id DESC`` alone lets it walk the
    primary key and filter, which for a subscriber holding most rows looks cheap but reads
    every newer row of everyone else first. Ordered by (subscriber, -id), only the
    (subscriber, -id) indexes give the order, so every page is an index walk from the cursor.
    """
    return Q(subscriber_id__gte=subscriber_id, subscriber_id__lte=subscriber_id)


KEYSET_ORDER = ("subscriber_id", "-id")

# The inbox API's ``status`` filter: which rows each value selects. Each has a partial index
# on (subscriber, -id) (realtime/models.py) except ``read``, which walks the inbox's.
STATUS_FILTERS: dict[str, Q] = {
    "inbox": IN_INBOX,
    "unread": IN_INBOX & Q(read_at__isnull=True),
    "read": IN_INBOX & Q(read_at__isnull=False),
    "archived": Q(archived_at__isnull=False),
    "snoozed": Q(snoozed_until__isnull=False),
    "all": Q(),
}


def _has_tag(tag: str) -> Q:
    """Messages whose ``tags`` hold ``tag``. SQLite, the embedded default, has no JSON
    containment (``__contains`` raises there), so it looks the tag up with ``json_each``."""
    if connection.features.supports_json_field_contains:
        return Q(tags__contains=[tag])
    column = connection.ops.quote_name(InboxMessage._meta.get_field("tags").column)
    return Q(RawSQL(f"EXISTS (SELECT 1 FROM json_each({column}) WHERE value = %s)", [tag], BooleanField()))


def filtered(
    subscriber_id: int,
    *,
    status: str = "inbox",
    event_types: Sequence[str] = (),
    tags: Sequence[str] = (),
    before: datetime | None = None,
) -> QuerySet[InboxMessage]:
    """The subscriber's messages a filter selects (listing and bulk actions share it):
    any of ``event_types``, any of ``tags``, created before ``before``."""
    rows = InboxMessage.objects.filter(STATUS_FILTERS[status], of_subscriber(subscriber_id))
    if event_types:
        rows = rows.filter(event_type__in=list(event_types))
    if tags:
        rows = rows.filter(reduce(or_, (_has_tag(tag) for tag in tags)))
    if before is not None:
        rows = rows.filter(created_at__lt=before)
    return rows


def inbox_page(
    subscriber_id: int,
    *,
    status: str = "inbox",
    before_id: int | None = None,
    limit: int = 20,
    event_types: Sequence[str] = (),
    tags: Sequence[str] = (),
) -> tuple[list[InboxMessage], int | None]:
    """One page, newest first, and the id to continue before (None on the last page).

    Keyset pagination on the primary key: stable while new messages arrive at the top, and
    a page deep in a large inbox costs what the first one does (an index walk from the cursor).
    """
    rows = filtered(subscriber_id, status=status, event_types=event_types, tags=tags)
    if before_id is not None:
        rows = rows.filter(id__lt=before_id)
    page = list(rows.order_by(*KEYSET_ORDER)[: limit + 1])
    if len(page) > limit:
        return page[:limit], page[limit - 1].id
    return page, None


def inbox_message(subscriber_id: int, message_id: int) -> InboxMessage:
    return InboxMessage.objects.get(subscriber_id=subscriber_id, pk=message_id)
