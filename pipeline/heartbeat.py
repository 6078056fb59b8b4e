"""Keeping a batch's messages ours while slow work runs.

JetStream hands an unacked message to another worker once ``ack_wait`` passes. A provider
batch that takes longer (a slow SMTP relay, a database outage while recording) would then be
sent twice; ``in_progress()`` resets the timer, so the stage sends it every third of
``ack_wait`` for as long as the work lasts.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence

from django.conf import settings
from nats.aio.msg import Msg


@contextlib.asynccontextmanager
async def keep_alive(msgs: Sequence[Msg], every: float | None = None) -> AsyncIterator[None]:
    interval = every or float(settings.RELAY_ACK_WAIT) / 3

    async def beat() -> None:
        while True:
            await asyncio.sleep(interval)
            for msg in msgs:
                with contextlib.suppress(Exception):  # already acked, or NATS away: ack_wait decides
                    await msg.in_progress()

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
