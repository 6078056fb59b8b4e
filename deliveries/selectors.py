"""Reads of deliveries: filtered listings, the activity feed's events with their delivery
summaries, and the aggregates behind the stats API and dashboard.

All counting and percentiles happen in the database (GROUP BY, ``percentile_cont``); Python
only reshapes the few aggregated rows into the API's dictionaries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Aggregate, Count, DurationField, Exists, ExpressionWrapper, F, OuterRef, QuerySet
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone

from deliveries.models import Delivery, DeliveryStatus
from notifications.models import Event, Notification

INTERVALS = {"hour": (TruncHour, timedelta(hours=1)), "day": (TruncDay, timedelta(days=1))}
PERCENTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}
FAILED_STATUSES = (DeliveryStatus.FAILED, DeliveryStatus.BOUNCED)
LATENCY = ExpressionWrapper(F("sent_at") - F("created_at"), output_field=DurationField())


@dataclass(frozen=True)
class DeliveryFilters:
    user_id: str | None = None
    channel: str | None = None
    status: str | None = None
    event_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def filter_deliveries(filters: DeliveryFilters) -> QuerySet[Delivery]:
    qs = Delivery.objects.all()
    if filters.user_id is not None:
        qs = qs.filter(notification__subscriber__user_id=filters.user_id)
    if filters.channel is not None:
        qs = qs.filter(channel=filters.channel)
    if filters.status is not None:
        qs = qs.filter(status=filters.status)
    if filters.event_type is not None:
        qs = qs.filter(notification__event__event_type=filters.event_type)
    if filters.since is not None:
        qs = qs.filter(created_at__gte=filters.since)
    if filters.until is not None:
        qs = qs.filter(created_at__lt=filters.until)
    return qs


def list_deliveries(filters: DeliveryFilters) -> QuerySet[Delivery]:
    return (
        filter_deliveries(filters)
        .select_related("notification__event", "notification__subscriber")
        .prefetch_related("timeline")
    )


def list_events(filters: DeliveryFilters) -> QuerySet[Event]:
    """The activity feed (GET /api/events): the deliveries API's filters, read for events.

    ``user_id``: events with a notification for that subscriber (a topic's events included);
    ``event_type``; ``since``/``until``: when the event was stored; ``status`` and ``channel``:
    events having at least one delivery in that status and/or on that channel. Each filter is
    one indexed lookup or semi-join; the event's ``data`` and ``metadata`` stay unread.
    """
    qs = Event.objects.defer("data", "metadata")
    if filters.user_id is not None:
        notified = Notification.objects.filter(subscriber__user_id=filters.user_id)
        qs = qs.filter(id__in=notified.values("event_id"))
    if filters.event_type is not None:
        qs = qs.filter(event_type=filters.event_type)
    if filters.since is not None:
        qs = qs.filter(created_at__gte=filters.since)
    if filters.until is not None:
        qs = qs.filter(created_at__lt=filters.until)
    if filters.status is not None or filters.channel is not None:
        deliveries = Delivery.objects.filter(notification__event=OuterRef("pk"))
        if filters.status is not None:
            deliveries = deliveries.filter(status=filters.status)
        if filters.channel is not None:
            deliveries = deliveries.filter(channel=filters.channel)
        qs = qs.filter(Exists(deliveries))
    return qs


def delivery_summaries(event_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Per event: ``total``, ``byStatus`` and ``byChannel`` (channel -> status -> count), from one
    GROUP BY over the page's events; an event without deliveries gets zeros."""
    summaries = {event_id: {"total": 0, "byStatus": {}, "byChannel": {}} for event_id in event_ids}
    rows = (
        Delivery.objects.filter(notification__event_id__in=event_ids)
        .order_by()
        .values_list("notification__event_id", "channel", "status")
        .annotate(n=Count("id"))
    )
    for event_id, channel, status, n in rows:
        summary = summaries[event_id]
        summary["total"] += n
        summary["byStatus"][status] = summary["byStatus"].get(status, 0) + n
        summary["byChannel"].setdefault(channel, {})[status] = n
    return summaries


def get_delivery(delivery_id: int) -> Delivery | None:
    return (
        Delivery.objects.select_related("notification__event", "notification__subscriber")
        .prefetch_related("attempt_log", "timeline")
        .filter(pk=delivery_id)
        .first()
    )


def _counts(qs: QuerySet[Delivery], field: str) -> dict[str, int]:
    return dict(qs.order_by().values_list(field).annotate(n=Count("id")).values_list(field, "n"))


def delivery_stats(filters: DeliveryFilters, interval: str | None = None) -> dict[str, Any]:
    """Totals by channel and status; with ``interval``, the same per time bucket and latency."""
    qs = filter_deliveries(filters)
    by_channel = _counts(qs, "channel")
    stats: dict[str, Any] = {
        "total": sum(by_channel.values()),
        "byChannel": by_channel,
        "byStatus": _counts(qs, "status"),
        "latencyMs": latency_percentiles(qs),
    }
    if interval is not None:
        stats["interval"] = interval
        stats["buckets"] = time_buckets(qs, interval, filters.since, filters.until or timezone.now())
    return stats


def time_buckets(
    qs: QuerySet[Delivery], interval: str, since: datetime | None, until: datetime
) -> list[dict[str, Any]]:
    """Counts per (bucket, channel, status) from one GROUP BY; empty buckets are filled in."""
    trunc, step = INTERVALS[interval]
    rows = (
        qs.order_by()
        .annotate(bucket=trunc("created_at"))
        .values("bucket", "channel", "status")
        .annotate(n=Count("id"))
    )
    buckets: dict[datetime, dict[str, Any]] = {}
    for row in rows:
        bucket = buckets.setdefault(row["bucket"], _empty_bucket(row["bucket"]))
        bucket["total"] += row["n"]
        bucket["byChannel"][row["channel"]] = bucket["byChannel"].get(row["channel"], 0) + row["n"]
        bucket["byStatus"][row["status"]] = bucket["byStatus"].get(row["status"], 0) + row["n"]
    if since is not None:
        start = _truncate(since, interval)
        while start < until:
            buckets.setdefault(start, _empty_bucket(start))
            start += step
    return [buckets[start] for start in sorted(buckets)]


def _empty_bucket(start: datetime) -> dict[str, Any]:
    return {"start": start, "total": 0, "byChannel": {}, "byStatus": {}}


def _truncate(moment: datetime, interval: str) -> datetime:
    moment = moment.astimezone(timezone.get_current_timezone()).replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0) if interval == "day" else moment


class PercentileCont(Aggregate):
    """PostgreSQL's ordered-set aggregate: ``percentile_cont(f) WITHIN GROUP (ORDER BY expr)``."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()


def latency_percentiles(qs: QuerySet[Delivery]) -> dict[str, dict[str, float | int | None]]:
    """Created-to-sent time per channel: p50, p95, p99 in milliseconds, and how many were sent."""
    sent = qs.filter(sent_at__isnull=False).order_by()
    if connection.vendor == "postgresql":
        rows = sent.values("channel").annotate(
            count=Count("id"),
            **{name: PercentileCont(LATENCY, fraction=fraction) for name, fraction in PERCENTILES.items()},
        )
        return {row["channel"]: _latency_row(row) for row in rows}
    return {
        channel: _nearest_rank(sent.filter(channel=channel), count)
        for channel, count in _counts(sent, "channel").items()
    }


def _nearest_rank(qs: QuerySet[Delivery], count: int) -> dict[str, float | int | None]:
    """Databases without ``percentile_cont`` (SQLite): one ORDER BY ... OFFSET query per percentile."""
    ordered = qs.annotate(latency=LATENCY).order_by("latency").values_list("latency", flat=True)
    row: dict[str, Any] = {"count": count}
    for name, fraction in PERCENTILES.items():
        row[name] = ordered[max(math.ceil(fraction * count) - 1, 0)]
    return _latency_row(row)


def _latency_row(row: dict[str, Any]) -> dict[str, float | int | None]:
    result: dict[str, float | int | None] = {"count": row["count"]}
    for name in PERCENTILES:
        value = row[name]
        result[name] = round(value.total_seconds() * 1000, 1) if value is not None else None
    return result


def failure_rate(qs: QuerySet[Delivery]) -> float | None:
    """Failed or bounced among deliveries that reached an outcome (sent, delivered, failed, bounced)."""
    outcomes = _counts(qs.filter(status__in=[*FAILED_STATUSES, "sent", "delivered"]), "status")
    total = sum(outcomes.values())
    if not total:
        return None
    return round(sum(outcomes.get(status, 0) for status in FAILED_STATUSES) / total, 4)


def top_failing_event_types(qs: QuerySet[Delivery], limit: int = 10) -> list[dict[str, Any]]:
    rows = (
        qs.filter(status__in=FAILED_STATUSES)
        .order_by()
        .values("notification__event__event_type")
        .annotate(failures=Count("id"))
        .order_by("-failures", "notification__event__event_type")[:limit]
    )
    return [
        {"eventType": row["notification__event__event_type"], "failures": row["failures"]} for row in rows
    ]
