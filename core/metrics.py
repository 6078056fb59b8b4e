"""Prometheus metrics of the pipeline, shared by the web process and every consumer process.

The objects live in the default registry of the process that increments them. The web
process exposes that registry at ``GET /api/metrics``; a ``consume`` process has its own and
exposes it on ``--metrics-port`` (see README, Observability). Several web workers share one
view through ``PROMETHEUS_MULTIPROC_DIR`` (each gauge says how its values combine). Label
values are bounded: channels, statuses, providers and stage names, never ids.

Only the metric objects and helpers that need no app live here, so every layer may count;
counting deliveries from their rows is ``pipeline.delivery_metrics``.
"""

from __future__ import annotations

import os
import socket

import structlog
from django.conf import settings
from prometheus_client import Counter, Gauge, Histogram, start_http_server

log = structlog.get_logger(__name__)

EVENTS_RECEIVED = Counter(
    "events_received", "Events submitted to the API, by outcome (accepted, duplicate, ...).", ["outcome"]
)
EVENTS_PROCESSED = Counter("events_processed", "Event messages the ingest stage persisted and acked.")
EVENTS_FAILED = Counter(
    "events_failed",
    "Pipeline messages that could not be processed, by stage and reason.",
    ["stage", "reason"],
)
DELIVERIES = Counter(
    "deliveries",
    "Deliveries entering a status (route decisions, send outcomes; 'retrying' = transient failure).",
    ["channel", "status"],
)
DELIVERY_DURATION = Histogram(
    "delivery_duration_seconds",
    "Duration of one provider call.",
    ["channel", "provider"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
ACTIVE_WEBSOCKETS = Gauge(
    "active_websocket_connections",
    "Open, authenticated /ws/inbox/ connections.",
    multiprocess_mode="livesum",
)
CIRCUIT_BREAKER_STATE = Gauge(
    "circuit_breaker_state",
    "Circuit breaker per provider: 0 closed, 1 half-open, 2 open.",
    ["provider"],
    multiprocess_mode="max",
)
STAGE_MESSAGES = Counter(
    "stage_messages_processed",
    "Messages a stage replica handled and settled (acked, or nak'ed for a planned retry), "
    "by stage and replica: with N replicas on one durable, each one's share of the work.",
    ["stage", "replica"],
)
WORKFLOW_RUNS = Counter(
    "workflow_runs",
    "Workflow runs ending, by workflow (its event type) and final status.",
    ["workflow", "status"],
)
WORKFLOW_STEP_DURATION = Histogram(
    "workflow_step_duration_seconds",
    "Time one workflow step took to run (not the time it waited).",
    ["type"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
WORKFLOW_WAITING_RUNS = Gauge(
    "workflow_waiting_runs",
    "Workflow runs waiting (a delay, a waitFor), counted in the database at each scrape.",
    multiprocess_mode="max",
)
BREAKER_STATE_VALUES = {"closed": 0, "half_open": 1, "open": 2}


def set_breaker_state(provider: str, state: str) -> None:
    """For the circuit breaker: ``closed``, ``half_open`` or ``open``."""
    CIRCUIT_BREAKER_STATE.labels(provider).set(BREAKER_STATE_VALUES[state])


def replica_id() -> str:
    """This process's name among the replicas of its stage: ``RELAY_REPLICA_ID`` (a pod's
    name, say) or else ``<hostname>:<pid>``, unique on one machine and across hosts."""
    return str(settings.RELAY_REPLICA_ID) or f"{socket.gethostname()}:{os.getpid()}"


def serve_metrics(port: int, addr: str = "0.0.0.0") -> None:
    """Expose this process's registry on its own port (one per consumer process)."""
    start_http_server(port, addr=addr)
    log.info("metrics_server_started", port=port)
