"""Pull requests kept outstanding, so a stage's next batch arrives while it handles this one.

``PullSubscription.fetch`` asks the server for messages only once the stage is ready again:
each batch then waits a round trip for its request, and at a steady trickle a stage either
handles messages one by one or has to sleep to let a batch gather. Here a durable's
messages stream into a local buffer under pull requests that are topped up before they run
out or expire (what the Go client's ``Consume`` does), and a stage takes whatever gathered
while it was busy. Batches grow with the load by themselves; nothing sleeps.

The prefetch is bounded: messages buffered plus messages still owed by the server stay
within one batch (two in the last second of a request, once its successor is sent). Their
``ack_wait`` runs while they are buffered, and only the batch in hand is kept alive
(``pipeline/heartbeat.py``): a message buffered for longer than ``max_hold`` (a third of
``ack_wait`` in the stages) behind a slow batch is handed back with a nak rather than
handled, so no message is ever handled after JetStream may have given it to someone else.
A puller that ``keep_order`` (a partition's, ``pipeline/partitions.py``) hands back the whole
buffer then, so nothing newer overtakes the messages it returned.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from dataclasses import dataclass

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext

# Each pull request lives this long on the server; a new one is sent ``RENEW_BEFORE`` seconds
# before it expires, so there is never a moment without one. Requests lost to a reconnect
# are written off at their local deadline, so a stage resumes within ``REQUEST_EXPIRES``.
REQUEST_EXPIRES = 5.0
RENEW_BEFORE = 1.0


@dataclass
class _Request:
    owed: int
    deadline: float


class Puller:
    """Streams one durable pull consumer's messages into batches of at most ``batch`` messages."""

    def __init__(
        self, nc: NATS, stream: str, durable: str, batch: int, max_hold: float, keep_order: bool = False
    ) -> None:
        self._nc = nc
        self._keep_order = keep_order
        self._batch = batch
        self._max_hold = max_hold
        self._next_subject = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}"
        self._inbox = nc.new_inbox()
        self._requests: deque[_Request] = deque()
        self._buffer: deque[tuple[float, Msg]] = deque()  # (arrival, message), oldest first
        self._arrived = asyncio.Event()
        self._sub: Subscription | None = None

    async def start(self) -> None:
        self._sub = await self._nc.subscribe(self._inbox, cb=self._on_message)
        await self._top_up()

    async def next_batch(self, timeout: float) -> list[Msg]:
        """Up to ``batch`` messages: what is buffered, or the first to arrive within ``timeout``."""
        await self._hand_back_stale()
        if not self._buffer:
            self._arrived.clear()
            await self._top_up()
            try:
                await asyncio.wait_for(self._arrived.wait(), timeout)
            except TimeoutError:
                return []
        take = min(len(self._buffer), self._batch)
        batch = [self._buffer.popleft()[1] for _ in range(take)]
        await self._top_up()
        return batch

    async def stop(self) -> None:
        """Stop receiving; what was buffered but not handled goes back to the server at once."""
        if self._sub is not None:
            await self._sub.unsubscribe()
            self._sub = None
        await nak_quietly([msg for _, msg in self._buffer])
        self._buffer.clear()

    async def _hand_back_stale(self) -> None:
        stale_before = time.monotonic() - self._max_hold
        if self._keep_order and self._buffer and self._buffer[0][0] < stale_before:
            stale_before = float("inf")  # everything goes back, in order
        stale: list[Msg] = []
        while self._buffer and self._buffer[0][0] < stale_before:
            stale.append(self._buffer.popleft()[1])
        await nak_quietly(stale)

    async def _top_up(self) -> None:
        """Ask for more once what is held and owed drops to half a batch (or a request is ending)."""
        now = time.monotonic()
        while self._requests and self._requests[0].deadline <= now:
            self._requests.popleft()  # expired or lost; the server has written it off too
        renew_at = now + RENEW_BEFORE
        owed = sum(r.owed for r in self._requests if r.deadline > renew_at)
        wanted = self._batch - len(self._buffer) - owed
        if wanted <= 0 or (owed and wanted < self._batch // 2):
            return
        request = {"batch": wanted, "expires": int(REQUEST_EXPIRES * 1e9)}
        self._requests.append(_Request(owed=wanted, deadline=now + REQUEST_EXPIRES))
        await self._nc.publish(self._next_subject, json.dumps(request).encode(), reply=self._inbox)

    async def _on_message(self, msg: Msg) -> None:
        if JetStreamContext.is_status_msg(msg):
            # 100 is an idle heartbeat; 404/408/409 end the oldest request (all requests
            # live equally long and the server serves them in order).
            if msg.headers and msg.headers.get("Status") != "100" and self._requests:
                self._requests.popleft()
            return
        if self._requests:
            head = self._requests[0]
            head.owed -= 1
            if head.owed <= 0:
                self._requests.popleft()
        self._buffer.append((time.monotonic(), msg))
        self._arrived.set()


async def nak_quietly(msgs: list[Msg], delay: float | None = None) -> None:
    """Hand messages back for redelivery (after ``delay`` seconds) as far as NATS lets us."""
    for msg in msgs:
        try:
            await msg.nak(delay=delay)
        except Exception:  # already acked, or the connection is gone: ack_wait covers it
            pass
