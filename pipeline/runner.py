"""The consumer loop shared by every stage: fetch a batch, hand it to the stage, repeat.

Stopping (SIGTERM, Ctrl-C) lets the batch in hand finish, commit and ack; anything
fetched but not acked comes back after ``ack_wait``, and the stages are idempotent.

A partitioned channel (in-app) runs instead as ``pipeline.partitions`` says: this worker's
share of the partitions, each consumed in order.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

import structlog
from django.conf import settings
from nats import errors as nats_errors
from nats.errors import NoRespondersError
from nats.js.errors import ServiceUnavailableError

from core import metrics, nats_client
from core.channel_names import channel_names
from core.names import PARTITIONED_CHANNELS, Names, names
from pipeline import jetstream
from pipeline.context import StageContext
from pipeline.liveness import liveness
from pipeline.partitions import Handler, run_partitioned
from pipeline.puller import Puller, nak_quietly
from pipeline.stages.deliver import deliver
from pipeline.stages.ingest import ingest
from pipeline.stages.route import route
from pipeline.stages.webhooks import webhooks
from pipeline.stages.workflow import workflow
from webhooks.dispatch import Dispatcher

log = structlog.get_logger(__name__)

Companion = Callable[[asyncio.Event], Awaitable[None]]
ERROR_PAUSE = 1.0


@dataclass(frozen=True)
class StageSpec:
    label: str
    durable: str
    stream: str
    handler: Handler
    channel: str = ""
    partitioned: bool = False  # one durable per partition (``durable`` is then partition 0's)
    # Runs beside the stage until the same stop (the webhooks stage's dispatcher).
    companion: Companion | None = None


def stage_spec(stage: str, n: Names, channel: str | None = None) -> StageSpec:
    if stage == "ingest":
        return StageSpec("ingest", "ingest", n.events_stream, ingest)
    if stage == "route":
        return StageSpec("route", "route", n.work_stream, route)
    if stage == "workflow":
        return StageSpec("workflow", "workflow", n.work_stream, workflow)
    if stage == "webhooks":
        return StageSpec(
            "webhooks", "webhooks", n.status_stream, webhooks, companion=lambda stop: Dispatcher().run(stop)
        )
    if stage == "deliver" and channel in channel_names():
        partitioned = channel in PARTITIONED_CHANNELS
        return StageSpec(
            f"deliver:{channel}",
            # Partitioned: partition 0 stands for all (subscribers spread evenly), e.g. for a lag scaler.
            n.partition_durable(channel, 0) if partitioned else n.deliver_durable(channel),
            n.work_stream,
            partial(deliver, channel=channel),
            channel,
            partitioned=partitioned,
        )
    raise ValueError(f"Unknown stage {stage!r} (channel {channel!r})")


def all_stage_specs(n: Names) -> list[StageSpec]:
    return [
        stage_spec("ingest", n),
        stage_spec("route", n),
        stage_spec("workflow", n),
        stage_spec("webhooks", n),
    ] + [stage_spec("deliver", n, channel) for channel in channel_names()]


def stage_tasks(spec: StageSpec, stop: asyncio.Event) -> list[Awaitable[None]]:
    """The stage's consumer loop, and its companion if it has one."""
    return [run_stage(spec, stop)] + ([spec.companion(stop)] if spec.companion else [])


async def run_stage(spec: StageSpec, stop: asyncio.Event, batch_size: int | None = None) -> None:
    """Consume until ``stop`` is set. Errors pause the loop; they never end it."""
    batch_size = batch_size or int(settings.RELAY_FETCH_BATCH)
    if spec.partitioned:
        await run_partitioned(spec.label, spec.channel, spec.stream, spec.handler, stop, batch_size)
        return
    linger = float(settings.RELAY_FETCH_LINGER)
    linger_from = int(settings.RELAY_FETCH_LINGER_FROM)
    bound = log.bind(stage=spec.label)
    # Every line logged by this task (the stage's own included) carries the stage, and
    # nothing inherited from whoever started the task (a request's id, say).
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(stage=spec.label)
    nc = await nats_client.connect(f"relay-{spec.label}")
    try:
        js = nc.jetstream()
        ctx = StageContext(js=js, names=names())
        # A message waits in the buffer no longer than the batch in hand goes between
        # heartbeats (heartbeat.py), so it is handled well within its ack_wait.
        hold = float(settings.RELAY_ACK_WAIT) / 3
        puller = Puller(nc, spec.stream, spec.durable, batch_size, max_hold=hold)
        await puller.start()
        processed = metrics.STAGE_MESSAGES.labels(spec.label, metrics.replica_id())
        bound.info("stage_started", batch=batch_size)
        while not stop.is_set():
            liveness().beat(spec.label)
            try:
                batch = await puller.next_batch(timeout=1.0)
            except Exception as error:
                bound.warning("stage_fetch_failed", error=str(error))
                await asyncio.sleep(ERROR_PAUSE)
                continue
            if not batch:
                continue
            try:
                await spec.handler(batch, ctx)
            except Exception:
                # Nothing of the batch is acked: JetStream redelivers it after a short pause.
                bound.exception("stage_batch_failed", batch=len(batch))
                metrics.EVENTS_FAILED.labels(spec.label, "batch_error").inc(len(batch))
                await nak_quietly(batch, delay=ERROR_PAUSE * 2)
                await asyncio.sleep(ERROR_PAUSE)
                continue
            processed.inc(len(batch))
            if linger > 0 and linger_from <= len(batch) < batch_size:
                # Busy but not backlogged: let the next batch gather for a moment, so that a
                # stream of messages is handled many per batch rather than a few. Below
                # ``linger_from`` (a trickle) the next batch is whatever came in meanwhile.
                await asyncio.sleep(linger)
        await puller.stop()
    finally:
        liveness().leave(spec.label)
        await nc.close()
        bound.info("stage_stopped")


# Failures that end by themselves on a cluster: no JetStream leader during an election, a
# request lost while the client moves to another node.
TRANSIENT_NATS_ERRORS = (ServiceUnavailableError, NoRespondersError, nats_errors.TimeoutError, TimeoutError)


async def ensure_streams(change_replicas: bool = False, attempts: int = 30) -> None:
    """Streams and consumers as configured, retried through a leader election (``StreamSetupError``
    is never retried: it needs the operator). Only ``pipeline_setup`` changes a live stream's
    replica count (``jetstream.setup_streams``)."""
    nc = await nats_client.connect("relay-setup")
    try:
        for attempt in range(1, attempts + 1):
            try:
                await jetstream.setup_streams(nc.jetstream(), change_replicas=change_replicas)
                return
            except TRANSIENT_NATS_ERRORS as error:
                if attempt == attempts:
                    raise
                log.warning("streams_setup_retry", attempt=attempt, error=repr(error))
                await asyncio.sleep(ERROR_PAUSE)
    finally:
        await nc.close()


def install_stop_signals(stop: asyncio.Event, also: Callable[[], None] | None = None) -> None:
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        log.info("stop_requested")
        stop.set()
        if also is not None:
            also()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)


async def run_stages(specs: list[StageSpec], stop: asyncio.Event | None = None) -> None:
    """Set up the streams, then run the given stages until a stop signal."""
    stop = stop or asyncio.Event()
    install_stop_signals(stop)
    await ensure_streams()
    await asyncio.gather(*(task for spec in specs for task in stage_tasks(spec, stop)))
