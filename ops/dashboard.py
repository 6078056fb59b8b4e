"""What the staff dashboard shows, gathered from the database, JetStream and this process."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog
from asgiref.sync import async_to_sync
from django.utils import timezone

from deliveries import selectors
from ops import probes
from pipeline import breaker

log = structlog.get_logger(__name__)


def consumer_lag() -> list[dict[str, Any]] | None:
    """Lag per consumer, or None when JetStream does not answer in time."""
    try:
        lags = async_to_sync(probes.consumer_lags)()
    except Exception as error:
        log.warning("dashboard_consumer_lag_failed", error=str(error) or type(error).__name__)
        return None
    return [
        {
            "consumer": lag.consumer,
            "pending": lag.pending,
            "ackPending": lag.ack_pending,
            "redelivered": lag.redelivered,
        }
        for lag in lags
    ]


def dashboard_data(hours: int) -> dict[str, Any]:
    until = timezone.now()
    filters = selectors.DeliveryFilters(since=until - timedelta(hours=hours))
    interval = "hour" if hours <= 48 else "day"
    stats = selectors.delivery_stats(filters, interval)
    qs = selectors.filter_deliveries(filters)
    return {
        "stats": {
            **stats,
            "buckets": [{**b, "start": b["start"].isoformat()} for b in stats["buckets"]],
        },
        "failureRate": selectors.failure_rate(qs),
        "topFailingEventTypes": selectors.top_failing_event_types(qs),
        # Shared state in Redis, so every worker's breakers show, whichever process serves.
        "breakers": breaker.states(),
        "consumerLag": consumer_lag(),
    }
