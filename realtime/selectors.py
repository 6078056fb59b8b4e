"""Reads of the inbox."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import Q

from realtime.models import InboxMessage


def inbox_counts(subscriber_id: int) -> dict[str, int]:
    return counts_for_many([subscriber_id])[subscriber_id]


def latest_messages(subscriber_id: int, limit: int = 20) -> list[InboxMessage]:
    return list(
        InboxMessage.objects.filter(subscriber_id=subscriber_id, archived_at__isnull=True).order_by("-id")[
            :limit
        ]
    )


COUNT_KEYS = ("unreadCount", "unseenCount", "totalCount")


def _counts_statement(subscribers: int) -> str:
    """Written out, not an ORM aggregate: compiling the ``values().annotate()`` queryset on
    every batch cost the in-app worker five times running it (make bench, docs/BENCHMARKS.md)."""
    quote = connection.ops.quote_name
    column = {
        name: quote(InboxMessage._meta.get_field(name).column)
        for name in ("subscriber", "read_at", "seen_at", "archived_at")
    }
    placeholders = ", ".join(["%s"] * subscribers)
    return (
        f"SELECT {column['subscriber']}, "
        f"SUM(CASE WHEN {column['read_at']} IS NULL THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN {column['seen_at']} IS NULL THEN 1 ELSE 0 END), COUNT(*) "
        f"FROM {quote(InboxMessage._meta.db_table)} "
        f"WHERE {column['subscriber']} IN ({placeholders}) AND {column['archived_at']} IS NULL "
        f"GROUP BY {column['subscriber']}"
    )


def counts_for_many(subscriber_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Unread, unseen and total counts of many subscribers in one query (the in-app worker's
    batch; the inbox API asks for one)."""
    result: dict[int, dict[str, Any]] = {sid: dict.fromkeys(COUNT_KEYS, 0) for sid in subscriber_ids}
    if not subscriber_ids:
        return result
    with connection.cursor() as cursor:
        cursor.execute(_counts_statement(len(subscriber_ids)), list(subscriber_ids))
        for subscriber_id, *counts in cursor.fetchall():
            result[subscriber_id] = dict(zip(COUNT_KEYS, map(int, counts), strict=True))
    return result


# The inbox API's ``status`` filter: which rows each value selects.
STATUS_FILTERS: dict[str, Q] = {
    "inbox": Q(archived_at__isnull=True),
    "unread": Q(archived_at__isnull=True, read_at__isnull=True),
    "read": Q(archived_at__isnull=True, read_at__isnull=False),
    "archived": Q(archived_at__isnull=False),
    "all": Q(),
}


def inbox_page(
    subscriber_id: int,
    *,
    status: str = "inbox",
    before_id: int | None = None,
    limit: int = 20,
    event_type: str | None = None,
) -> tuple[list[InboxMessage], int | None]:
    """One page, newest first, and the id to continue before (None on the last page).

    Keyset pagination on the primary key: stable while new messages arrive at the top.
    """
    rows = InboxMessage.objects.filter(STATUS_FILTERS[status], subscriber_id=subscriber_id)
    if before_id is not None:
        rows = rows.filter(id__lt=before_id)
    if event_type:
        rows = rows.filter(event_type=event_type)
    page = list(rows.order_by("-id")[: limit + 1])
    if len(page) > limit:
        return page[:limit], page[limit - 1].id
    return page, None


def inbox_message(subscriber_id: int, message_id: int) -> InboxMessage:
    return InboxMessage.objects.get(subscriber_id=subscriber_id, pk=message_id)
