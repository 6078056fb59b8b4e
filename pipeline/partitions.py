"""Partitioned stages: each partition consumed by one worker at a time, strictly in order.

Why: a subscriber's in-app messages should be stored and pushed in the order they were
handed to the in-app stage, however many in-app workers run. Sharing one durable consumer
cannot give that: two workers take neighbouring batches and either may commit first, and a
nak'ed message comes back after later ones. So each subscriber's messages go to one of
``RELAY_IN_APP_PARTITIONS`` subjects (``core.names``), each with its own durable consumer,
and each partition has one owner, which handles one batch at a time and settles it
(acked, or retried in place) before it fetches the next. A worker hands the batches its
partitions hold at the same moment to the stage as one (``Combined``): ordered, yet batched
as one shared consumer would be.

Who owns a partition: a PostgreSQL advisory lock per partition, held at session level on a
connection of its own. The lease lasts exactly as long as the worker: the server drops the
lock with the connection, ``kill -9`` included, with no expiry to wait out and no renewal to
miss (a claimed row with ``FOR UPDATE SKIP LOCKED`` would need both, since a claim only lasts
a transaction). Each worker also holds a membership lock (keyed by its backend pid), so it
can count the live workers and keep its fair share, ``ceil(partitions / workers)``: above it,
it gives back its highest partitions once their batch is done; below it, it takes free ones.
On SQLite (``make run``: one process) nothing else can run, so the process owns them all.

Taking a partition over: a previous owner that died left its batch delivered but unacked.
JetStream hands such messages out again after ``ack_wait``, before any newer one; the new
owner therefore waits until the partition has nothing ack-pending (or ``ack_wait`` has
passed) before its first fetch, so none of them is overtaken.
"""

from __future__ import annotations

import asyncio
import math
import time
import zlib
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import structlog
from django.conf import settings
from django.db import connections
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from core import metrics, nats_client
from core.names import Names, names
from pipeline.context import RetryInOrder, StageContext
from pipeline.heartbeat import keep_alive
from pipeline.liveness import liveness
from pipeline.puller import Puller, nak_quietly

log = structlog.get_logger(__name__)

Handler = Callable[[list[Msg], StageContext], Awaitable[None]]
R = TypeVar("R")
ERROR_PAUSE = 1.0
IDLE_WAIT = 1.0


def lock_key(n: Names, what: str) -> int:
    """A positive 32-bit advisory-lock namespace, distinct per installation prefix."""
    return zlib.crc32(f"{n.prefix}relay.{what}".encode()) & 0x7FFFFFFF


class AdvisoryLeases:
    """This worker's partitions of one channel, as PostgreSQL session-level advisory locks.

    Every statement runs on one connection in one thread of its own: the locks belong to
    that session, and Django connections must stay in the thread that opened them.
    """

    def __init__(self, n: Names, channel: str) -> None:
        self.partitions = n.partitions(channel)
        self.held: set[int] = set()
        self._namespace = lock_key(n, f"partitions.{channel}")
        self._members = lock_key(n, f"members.{channel}")
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="relay-leases")
        self._db: Any = None

    async def _run(self, fn: Callable[..., R], *args: Any) -> R:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    def _query(self, sql: str, *params: Any) -> Any:
        if self._db is None:
            self._db = connections.create_connection("default")
            with self._db.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(%s::int, pg_backend_pid())", [self._members])
        with self._db.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()[0]

    async def fair_share(self) -> int:
        """``ceil(partitions / live workers)``; checks the session (and so the locks) is alive."""
        members = await self._run(
            self._query,
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2"
            " AND classid = %s::bigint::oid"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            self._members,
        )
        return math.ceil(self.partitions / max(int(members), 1))

    async def acquire(self, wanted: int) -> list[int]:
        """Take up to ``wanted`` partitions no other worker holds."""
        taken: list[int] = []
        for partition in range(self.partitions):
            if len(taken) >= wanted:
                break
            if partition in self.held:
                continue
            if await self._run(
                self._query, "SELECT pg_try_advisory_lock(%s::int, %s::int)", self._namespace, partition
            ):
                self.held.add(partition)
                taken.append(partition)
        return taken

    async def release(self, partition: int) -> None:
        self.held.discard(partition)
        await self._run(
            self._query, "SELECT pg_advisory_unlock(%s::int, %s::int)", self._namespace, partition
        )

    async def reset(self) -> None:
        """Drop the session, and every lock with it (also how a lost connection is cleaned up)."""
        self.held.clear()
        await self._run(self._close)

    async def close(self) -> None:
        await self.reset()
        self._thread.shutdown(wait=False)

    def _close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            try:
                db.close()
            except Exception:  # the connection is already gone: so are its locks
                pass


class AllPartitions:
    """One process and nothing else (SQLite): it owns every partition, without locks."""

    def __init__(self, n: Names, channel: str) -> None:
        self.partitions = n.partitions(channel)
        self.held: set[int] = set()

    async def fair_share(self) -> int:
        return self.partitions

    async def acquire(self, wanted: int) -> list[int]:
        taken = [p for p in range(self.partitions) if p not in self.held][:wanted]
        self.held.update(taken)
        return taken

    async def release(self, partition: int) -> None:
        self.held.discard(partition)

    async def reset(self) -> None:
        self.held.clear()

    async def close(self) -> None:
        self.held.clear()


def leases_for(n: Names, channel: str) -> AdvisoryLeases | AllPartitions:
    if connections["default"].vendor == "postgresql":
        return AdvisoryLeases(n, channel)
    return AllPartitions(n, channel)


async def pause(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass


async def previous_owner_done(js: JetStreamContext, stream: str, durable: str, stop: asyncio.Event) -> None:
    """Wait until nothing of the partition is ack-pending, or ``ack_wait`` has passed (a dead
    owner's batch is then due again, and JetStream redelivers it before anything newer)."""
    deadline = time.monotonic() + float(settings.RELAY_ACK_WAIT) + 1.0
    while not stop.is_set() and time.monotonic() < deadline:
        info = await js.consumer_info(stream, durable)
        if not info.num_ack_pending:
            return
        await pause(stop, 0.2)


Waiting = tuple[list[Msg], "asyncio.Future[None]"]  # a partition's batch, and how it ended


class Combined:
    """The batches of a worker's partitions handed to the stage together, as one batch.

    Each partition settles its batch before it fetches the next, so at a modest rate every
    partition holds a message or two and a stage call per partition would pay a batch's fixed
    cost (the database trips, the pushes) for each. Instead, whatever batches are waiting when
    the stage is free go to it as one (up to ``limit`` messages), each partition's messages
    together and in their order, and a partition learns how its own part ended: done, the
    part of a ``RetryInOrder`` that is its own, or the batch's error. Order holds because
    a subscriber's messages all come from one partition, and a partition hands over one batch
    at a time.
    """

    def __init__(self, handler: Handler, limit: int) -> None:
        self._handler = handler
        self._limit = limit
        self._waiting: list[Waiting] = []
        self._draining: asyncio.Task[None] | None = None

    async def handle(self, msgs: list[Msg], ctx: StageContext) -> None:
        """Hand ``msgs`` over with whatever else is waiting; returns (or raises) when settled."""
        settled: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((msgs, settled))
        if self._draining is None or self._draining.done():
            self._draining = asyncio.create_task(self._drain(ctx))
        await settled

    async def _drain(self, ctx: StageContext) -> None:
        structlog.contextvars.unbind_contextvars("consumer")  # it serves every partition
        while self._waiting:
            group: list[Waiting] = []
            count = 0
            while self._waiting and (not group or count + len(self._waiting[0][0]) <= self._limit):
                group.append(self._waiting.pop(0))
                count += len(group[-1][0])
            await self._settle(group, ctx)

    async def _settle(self, group: list[Waiting], ctx: StageContext) -> None:
        try:
            await self._handler([msg for msgs, _ in group for msg in msgs], ctx)
        except RetryInOrder as retry:
            held = {id(msg) for msg in retry.msgs}
            for msgs, settled in group:
                own = [msg for msg in msgs if id(msg) in held]
                _end(settled, RetryInOrder(own, retry.delay) if own else None)
        except Exception as error:
            for _, settled in group:
                _end(settled, error)
        else:
            for _, settled in group:
                _end(settled, None)


def _end(settled: asyncio.Future[None], error: BaseException | None) -> None:
    """Tell a partition how its part ended, unless it stopped waiting (cancelled)."""
    if settled.done():
        return
    if error is None:
        settled.set_result(None)
    else:
        settled.set_exception(error)


async def handle_in_order(
    label: str, batch: list[Msg], handler: Handler, ctx: StageContext, stop: asyncio.Event
) -> None:
    """Hand ``batch`` to the stage until all of it is settled; nothing later is fetched meanwhile.

    A retry the stage asks for (``RetryInOrder``) or a failed batch is kept ours (heartbeats)
    and handed over again after its delay, rather than nak'ed to come back after later
    messages. On stop, what is still unsettled is nak'ed, in order, for the next owner.
    """
    msgs = batch
    while True:
        try:
            async with keep_alive(msgs):
                await handler(msgs, ctx)
            return
        except RetryInOrder as retry:
            msgs, delay = retry.msgs, retry.delay
        except Exception:
            log.exception("stage_batch_failed", batch=len(msgs))
            metrics.EVENTS_FAILED.labels(label, "batch_error").inc(len(msgs))
            delay = ERROR_PAUSE * 2
        async with keep_alive(msgs):
            await pause(stop, delay)
        if stop.is_set():
            await nak_quietly(msgs)
            return


async def consume_partition(
    nc: NATS,
    label: str,
    stream: str,
    durable: str,
    handler: Handler,
    ctx: StageContext,
    stop: asyncio.Event,
    batch: int,
    consuming: Callable[[], None],
) -> None:
    """One partition's loop: fetch a batch, settle it, fetch the next, until ``stop``.
    ``consuming`` is called once the previous owner's batch no longer stands in the way."""
    loop_name = f"{label}:{durable}"
    structlog.contextvars.bind_contextvars(stage=label, consumer=durable)
    await previous_owner_done(ctx.js, stream, durable, stop)
    # Pull requests kept outstanding (as every stage does): a trickle's message is handed over
    # as it arrives, a busy partition's next batch gathers while this one is handled.
    puller = Puller(nc, stream, durable, batch, max_hold=float(settings.RELAY_ACK_WAIT) / 3, keep_order=True)
    await puller.start()
    consuming()
    processed = metrics.STAGE_MESSAGES.labels(label, metrics.replica_id())
    log.info("partition_started", batch=batch)
    try:
        while not stop.is_set():
            liveness().beat(loop_name)
            try:
                msgs = await puller.next_batch(timeout=IDLE_WAIT)
            except Exception as error:
                log.warning("stage_fetch_failed", error=str(error))
                await pause(stop, ERROR_PAUSE)
                continue
            if not msgs:
                continue
            await handle_in_order(label, msgs, handler, ctx, stop)
            processed.inc(len(msgs))
    finally:
        liveness().leave(loop_name)
        await puller.stop()
        log.info("partition_stopped")


async def run_partitioned(
    label: str, channel: str, stream: str, handler: Handler, stop: asyncio.Event, batch: int
) -> None:
    """Keep this worker's fair share of ``channel``'s partitions consumed until ``stop``.

    Each look (every ``RELAY_PARTITION_CHECK_INTERVAL`` seconds) gives back partitions above
    the share (after their batch), takes free ones below it, and restarts a partition loop
    that ended. If the lock session fails, every partition stops: another worker may own
    them now.
    """
    n = names()
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(stage=label)
    interval = float(settings.RELAY_PARTITION_CHECK_INTERVAL)
    nc = await nats_client.connect(f"relay-{label}")
    ctx = StageContext(js=nc.jetstream(), names=n, ordered=True)
    handler = Combined(handler, batch).handle
    leases = leases_for(n, channel)
    running: dict[int, tuple[asyncio.Event, asyncio.Task[None]]] = {}
    consuming_partitions, announced = 0, False

    def consuming() -> None:
        """``stage_started`` (what the bench and the fault tests wait for) once every partition
        first taken really consumes: after a kill, that is after the takeover wait."""
        nonlocal consuming_partitions, announced
        consuming_partitions += 1
        if not announced and consuming_partitions >= len(leases.held):
            announced = True
            log.info("stage_started", batch=batch, partitions=sorted(leases.held))

    def start(partition: int) -> None:
        own_stop = asyncio.Event()
        durable = n.partition_durable(channel, partition)
        task = asyncio.create_task(
            consume_partition(nc, label, stream, durable, handler, ctx, own_stop, batch, consuming)
        )
        running[partition] = (own_stop, task)

    async def finish(partitions: list[int]) -> None:
        stopping = [running.pop(p) for p in partitions if p in running]
        for own_stop, _ in stopping:
            own_stop.set()
        await asyncio.gather(*(task for _, task in stopping), return_exceptions=True)

    try:
        while not stop.is_set():
            liveness().beat(label)
            try:
                share = await leases.fair_share()
                excess = sorted(leases.held)[share:]
                await finish(excess)
                for partition in excess:
                    await leases.release(partition)
                taken = await leases.acquire(share - len(leases.held))
                for partition in taken:
                    start(partition)
                ended = [p for p, (_, task) in running.items() if task.done()]
                for partition in ended:
                    log.warning(
                        "partition_loop_ended",
                        partition=partition,
                        error=str(running[partition][1].exception()),
                    )
                    running.pop(partition)
                    start(partition)
                if excess or taken or ended:
                    log.info("partitions_rebalanced", owned=sorted(leases.held), share=share)
            except Exception as error:
                log.warning("partition_leases_lost", error=str(error))
                await finish(list(running))
                await leases.reset()
            await pause(stop, interval)
    finally:
        await finish(list(running))
        await leases.close()
        await nc.close()
        liveness().leave(label)
        log.info("stage_stopped")
