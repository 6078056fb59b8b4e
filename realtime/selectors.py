"""Reads of the inbox."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q

from realtime.models import InboxMessage


def inbox_counts(subscriber_id: int) -> dict[str, int]:
    counts = InboxMessage.objects.filter(subscriber_id=subscriber_id, archived_at__isnull=True).aggregate(
        unreadCount=Count("id", filter=Q(read_at__isnull=True)),
        unseenCount=Count("id", filter=Q(seen_at__isnull=True)),
        totalCount=Count("id"),
    )
    return {key: int(value or 0) for key, value in counts.items()}


def latest_messages(subscriber_id: int, limit: int = 20) -> list[InboxMessage]:
    return list(
        InboxMessage.objects.filter(subscriber_id=subscriber_id, archived_at__isnull=True).order_by("-id")[
            :limit
        ]
    )


def counts_for_many(subscriber_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Unread and unseen counts of many subscribers in one query (the in-app worker's batch)."""
    rows = (
        InboxMessage.objects.filter(subscriber_id__in=subscriber_ids, archived_at__isnull=True)
        .values("subscriber_id")
        .annotate(
            unreadCount=Count("id", filter=Q(read_at__isnull=True)),
            unseenCount=Count("id", filter=Q(seen_at__isnull=True)),
            totalCount=Count("id"),
        )
        .order_by()
    )
    keys = ("unreadCount", "unseenCount", "totalCount")
    result: dict[int, dict[str, Any]] = {sid: dict.fromkeys(keys, 0) for sid in subscriber_ids}
    for row in rows:
        result[row["subscriber_id"]] = {key: row[key] for key in keys}
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
