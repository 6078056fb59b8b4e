"""The ceiling: raw nats-py JetStream through as many hops as the pipeline has, no Django.

A publisher process publishes N messages of the event's size (async, acked, with
``Nats-Msg-Id``), three hop processes each fetch a batch, republish it to the next subject
and ack it (as ingest, route and deliver do), and a last process consumes and acks. The
ceiling is N divided by the time from the first publish to the last consume: what the
pipeline could reach if its stages did no work of their own. On a cluster its stream keeps as
many copies as the pipeline's (``--cluster``), so the ceiling pays the same replication.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from dataclasses import dataclass
from multiprocessing.queues import Queue
from typing import Any

import nats
import nats.errors
from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy, StorageType, StreamConfig

HOPS = 3  # ingest, route, deliver: each fetches, publishes onward and acks
FETCH_BATCH = 200
PUBLISH_WINDOW = 500


@dataclass(frozen=True)
class Ceiling:
    messages: int
    publish_per_s: float
    end_to_end_per_s: float


def _subject(prefix: str, hop: int) -> str:
    return f"{prefix}ceil.{hop}"


def _stream(prefix: str) -> str:
    return prefix.upper().replace(".", "_") + "CEILING"


async def _setup(servers: list[str], prefix: str, replicas: int) -> None:
    nc = await nats.connect(servers)
    js = nc.jetstream()
    await js.add_stream(
        StreamConfig(
            name=_stream(prefix),
            subjects=[f"{prefix}ceil.>"],
            storage=StorageType.FILE,
            retention=RetentionPolicy.WORK_QUEUE,
            num_replicas=replicas,
            duplicate_window=120.0,
        )
    )
    for hop in range(HOPS + 1):
        await js.add_consumer(
            _stream(prefix),
            ConsumerConfig(
                durable_name=f"hop{hop}", filter_subject=_subject(prefix, hop), ack_policy=AckPolicy.EXPLICIT
            ),
        )
    await nc.close()


async def _teardown(servers: list[str], prefix: str) -> None:
    nc = await nats.connect(servers)
    await nc.jetstream().delete_stream(_stream(prefix))
    await nc.close()


async def _publish(servers: list[str], prefix: str, count: int, size: int) -> tuple[float, float]:
    nc = await nats.connect(servers)
    js = nc.jetstream()
    payload = b"x" * size
    started = time.time()
    for start in range(0, count, PUBLISH_WINDOW):
        futures = [
            await js.publish_async(_subject(prefix, 0), payload, headers={"Nats-Msg-Id": f"c{i}"})
            for i in range(start, min(count, start + PUBLISH_WINDOW))
        ]
        await asyncio.gather(*futures)
    finished = time.time()
    await nc.close()
    return started, finished


async def _hop(servers: list[str], prefix: str, hop: int, count: int, ready: Queue[Any]) -> float:
    """Consume ``count`` messages from subject ``hop``; republish them to ``hop + 1`` unless last."""
    nc = await nats.connect(servers)
    js = nc.jetstream()
    sub = await js.pull_subscribe_bind(durable=f"hop{hop}", stream=_stream(prefix))
    ready.put(("ready", hop))
    seen = 0
    while seen < count:
        try:
            batch = await sub.fetch(FETCH_BATCH, timeout=1.0)
        except (TimeoutError, nats.errors.TimeoutError):
            continue
        if hop < HOPS:
            futures = [
                await js.publish_async(
                    _subject(prefix, hop + 1), msg.data, headers={"Nats-Msg-Id": f"h{hop}-{seen + i}"}
                )
                for i, msg in enumerate(batch)
            ]
            await asyncio.gather(*futures)
        for msg in batch:
            await msg.ack()
        seen += len(batch)
    finished = time.time()
    await nc.flush()
    await nc.close()
    return finished


def _hop_main(servers: list[str], prefix: str, hop: int, count: int, results: Queue[Any]) -> None:
    results.put(("done", hop, asyncio.run(_hop(servers, prefix, hop, count, results))))


def _publisher_main(servers: list[str], prefix: str, count: int, size: int, results: Queue[Any]) -> None:
    results.put(("published", *asyncio.run(_publish(servers, prefix, count, size))))


def measure_ceiling(
    servers: list[str], prefix: str, count: int, size: int, replicas: int = 1, timeout: float = 120.0
) -> Ceiling:
    """Run the publisher and the hops as separate processes, like the pipeline's stages."""
    context = multiprocessing.get_context("spawn")
    results: Queue[Any] = context.Queue()
    asyncio.run(_setup(servers, prefix, replicas))
    hops = [
        context.Process(target=_hop_main, args=(servers, prefix, hop, count, results), daemon=True)
        for hop in range(HOPS + 1)
    ]
    try:
        for process in hops:
            process.start()
        for _ in hops:
            assert results.get(timeout=30)[0] == "ready"
        publisher = context.Process(
            target=_publisher_main, args=(servers, prefix, count, size, results), daemon=True
        )
        publisher.start()
        published: tuple[float, float] | None = None
        last_done = 0.0
        for _ in range(HOPS + 2):
            kind, *values = results.get(timeout=timeout)
            if kind == "published":
                published = (values[0], values[1])
            elif values[0] == HOPS:
                last_done = values[1]
        assert published is not None
        started, publish_done = published
        return Ceiling(
            messages=count,
            publish_per_s=count / max(publish_done - started, 1e-9),
            end_to_end_per_s=count / max(last_done - started, 1e-9),
        )
    finally:
        for process in hops:
            if process.is_alive():
                process.terminate()
        asyncio.run(_teardown(servers, prefix))
