"""The text of GET /api/metrics: this process's registry plus JetStream consumer lag.

Lag is read from JetStream at scrape time (one ``consumer_info`` per consumer, under the
health-check deadline), so it is right whichever consumer processes are running. With
``PROMETHEUS_MULTIPROC_DIR`` set (several web workers), the counters of all workers are
merged from that directory, as prometheus_client's multiprocess mode does.
"""

from __future__ import annotations

import os

import structlog
from prometheus_client import REGISTRY, CollectorRegistry, Gauge, generate_latest, multiprocess

from core import metrics
from ops import probes
from pipeline import breaker
from workflows.waits import waiting_runs

log = structlog.get_logger(__name__)


def process_metrics() -> bytes:
    # Breakers live in Redis, shared by every deliver worker: refresh the gauge from there.
    breaker.states()
    # Waiting runs are rows in the database, whichever process made them wait: count them now.
    metrics.WORKFLOW_WAITING_RUNS.set(waiting_runs())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


async def consumer_lag_metrics() -> bytes:
    """Per consumer: pending, ack-pending, redelivered; ``jetstream_up`` says if NATS answered."""
    registry = CollectorRegistry()
    up = Gauge("jetstream_up", "1 if JetStream answered the consumer-info scrape.", registry=registry)
    labels = ["stream", "consumer"]
    pending = Gauge(
        "jetstream_consumer_num_pending", "Messages not yet delivered.", labels, registry=registry
    )
    ack_pending = Gauge(
        "jetstream_consumer_num_ack_pending", "Delivered, not yet acked.", labels, registry=registry
    )
    redelivered = Gauge(
        "jetstream_consumer_num_redelivered", "Messages redelivered at least once.", labels, registry=registry
    )
    try:
        lags = await probes.consumer_lags()
    except Exception as error:
        log.warning("consumer_lag_scrape_failed", error=str(error) or type(error).__name__)
        up.set(0)
        return generate_latest(registry)
    up.set(1)
    for lag in lags:
        pending.labels(lag.stream, lag.consumer).set(lag.pending)
        ack_pending.labels(lag.stream, lag.consumer).set(lag.ack_pending)
        redelivered.labels(lag.stream, lag.consumer).set(lag.redelivered)
    return generate_latest(registry)
