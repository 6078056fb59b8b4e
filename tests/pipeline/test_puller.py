"""The stages' puller against the real nats-server: batches, its prefetch bound, renewal, stop."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import nats
import pytest
from django.conf import settings
from nats.aio.client import Client as NATS
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig

from pipeline import puller as puller_module
from pipeline.puller import Puller

BATCH = 10


@dataclass
class Durable:
    nc: NATS
    stream: str
    subject: str
    durable: str
    published: int = 0

    async def publish(self, count: int) -> None:
        """``count`` more messages, numbered on from the last."""
        js = self.nc.jetstream()
        for _ in range(count):
            await js.publish(self.subject, str(self.published).encode())
            self.published += 1

    async def unacked(self) -> int:
        info = await self.nc.jetstream().consumer_info(self.stream, self.durable)
        return int(info.num_ack_pending)

    def puller(self, max_hold: float = 10.0) -> Puller:
        return Puller(self.nc, self.stream, self.durable, BATCH, max_hold=max_hold)


@pytest.fixture
async def durable() -> AsyncIterator[Durable]:
    """A stream and durable of this test's own, so no stage or other test shares them."""
    nc = await nats.connect(settings.NATS_URL)
    name = f"PULLER_{uuid.uuid4().hex[:10]}"
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name=name, subjects=[f"{name}.>"]))
    await js.add_consumer(
        name, ConsumerConfig(durable_name="stage", ack_policy=AckPolicy.EXPLICIT, ack_wait=30.0)
    )
    yield Durable(nc, name, f"{name}.work", "stage")
    await js.delete_stream(name)
    await nc.close()


async def _drain(puller: Puller, expected: int) -> list[bytes]:
    seen: list[bytes] = []
    while len(seen) < expected:
        batch = await puller.next_batch(timeout=2.0)
        assert batch, f"only {len(seen)} of {expected} messages arrived"
        assert len(batch) <= BATCH
        for msg in batch:
            seen.append(msg.data)
            await msg.ack()
    return seen


async def test_every_message_arrives_once_in_order_in_batches_of_at_most_batch(durable: Durable) -> None:
    await durable.publish(35)
    puller = durable.puller()
    await puller.start()
    seen = await _drain(puller, 35)
    assert seen == [str(i).encode() for i in range(35)]
    assert await puller.next_batch(timeout=0.3) == []
    await puller.stop()


async def test_what_gathers_while_a_stage_is_busy_comes_as_one_batch(durable: Durable) -> None:
    puller = durable.puller()
    await puller.start()
    await durable.publish(1)
    assert [m.data for m in await puller.next_batch(timeout=2.0)] == [b"0"]
    await durable.publish(4)  # while the stage handles the first one
    await asyncio.sleep(0.3)
    assert [m.data for m in await puller.next_batch(timeout=2.0)] == [b"1", b"2", b"3", b"4"]
    await puller.stop()


async def test_a_busy_stage_holds_at_most_one_batch_besides_the_one_in_hand(durable: Durable) -> None:
    await durable.publish(5 * BATCH)
    puller = durable.puller()
    await puller.start()
    in_hand = await puller.next_batch(timeout=2.0)
    assert len(in_hand) == BATCH
    await asyncio.sleep(0.3)  # the stage is busy; the next batch streams in meanwhile
    # Delivered and not acked: the batch in hand and one prefetched, nothing more.
    assert await durable.unacked() == 2 * BATCH
    await puller.stop()


async def test_stop_hands_prefetched_messages_back_at_once(durable: Durable) -> None:
    await durable.publish(3 * BATCH)
    first = durable.puller()
    await first.start()
    for msg in await first.next_batch(timeout=2.0):
        await msg.ack()
    await asyncio.sleep(0.3)  # the next batch is prefetched, never handled
    await first.stop()
    # ack_wait is 30 s: only a nak at stop lets another puller have them within the test.
    second = durable.puller()
    await second.start()
    assert sorted(await _drain(second, 2 * BATCH)) == sorted(str(i).encode() for i in range(BATCH, 3 * BATCH))
    await second.stop()


async def test_a_message_held_behind_a_slow_batch_is_handed_back_not_handled(durable: Durable) -> None:
    await durable.publish(2 * BATCH)
    puller = durable.puller(max_hold=0.2)
    await puller.start()
    for msg in await puller.next_batch(timeout=2.0):
        await msg.ack()
    await asyncio.sleep(0.5)  # a slow batch: the prefetched ones outstay max_hold
    # They went back to JetStream and come again as fresh deliveries, each exactly once.
    again = await puller.next_batch(timeout=2.0)
    assert [m.metadata.num_delivered for m in again] == [2] * len(again)
    rest = [m.data for m in again] + await _drain(puller, BATCH - len(again))
    assert sorted(rest) == sorted(str(i).encode() for i in range(BATCH, 2 * BATCH))
    await puller.stop()


async def test_an_idle_stage_still_receives_after_several_request_lifetimes(
    durable: Durable, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(puller_module, "REQUEST_EXPIRES", 0.6)
    monkeypatch.setattr(puller_module, "RENEW_BEFORE", 0.3)
    puller = durable.puller()
    await puller.start()
    for _ in range(6):  # several request lifetimes with nothing to deliver
        assert await puller.next_batch(timeout=0.25) == []
    await durable.publish(1)
    assert [m.data for m in await puller.next_batch(timeout=2.0)] == [b"0"]
    await puller.stop()
