"""Counting and logging deliveries as the pipeline moves them (metrics in ``core.metrics``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

import structlog

from core.metrics import DELIVERIES, DELIVERY_DURATION
from deliveries.models import Delivery
from pipeline.providers.base import ProviderResult

log = structlog.get_logger(__name__)


class SentOutcome(Protocol):
    """What the deliver stage knows about one delivery after its provider calls."""

    delivery: Delivery
    results: list[ProviderResult]
    retry_in: float | None


def count_deliveries(deliveries: Iterable[Delivery]) -> None:
    """Count deliveries that just reached their current status."""
    for delivery in deliveries:
        DELIVERIES.labels(delivery.channel, delivery.status).inc()


def record_deliver_batch(channel: str, sent: Sequence[SentOutcome], finished: Iterable[Delivery]) -> None:
    """After the deliver stage commits a batch: call durations, new statuses, one line per delivery.

    Sent deliveries log at debug level (one line per message is too much at volume);
    retries and failures at warning, with the ids an operator needs to follow one up.
    """
    for outcome in sent:
        for result in outcome.results:
            DELIVERY_DURATION.labels(channel, result.provider).observe(result.duration_ms / 1000)
        status = "retrying" if outcome.retry_in is not None else outcome.delivery.status
        DELIVERIES.labels(channel, status).inc()
        _log_delivery(outcome.delivery, status, outcome.results[-1].provider if outcome.results else "")
    for delivery in finished:
        DELIVERIES.labels(delivery.channel, delivery.status).inc()
        _log_delivery(delivery, delivery.status, delivery.provider)


def _log_delivery(delivery: Delivery, status: str, provider: str) -> None:
    fields = {
        "delivery_id": delivery.pk,
        "event_id": delivery.notification.event.event_id,
        "channel": delivery.channel,
        "provider": provider,
        "attempts": delivery.attempts,
    }
    if status == "sent":
        log.debug("delivery_sent", **fields)
    else:
        log.warning(f"delivery_{status}", reason=delivery.reason, error=delivery.last_error, **fields)
