"""(1) Deliver workers SIGKILLed every few seconds and restarted: nothing lost, nothing twice."""

from __future__ import annotations

import asyncio
import os
import random
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from deliveries.models import Delivery, DeliveryAttempt
from tests.reliability.conftest import (
    EVENTS,
    PrivateNats,
    Worker,
    at_smtp_sink,
    count,
    event_bodies,
    in_inbox,
    in_mailbox,
    stages,
    submit,
)
from tests.smtp_sink import SmtpSink

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]

KILL_EVERY = tuple(float(s) for s in os.environ.get("RELAY_RELIABILITY_KILL_EVERY", "2,4").split(","))


async def test_deliver_workers_killed_every_few_seconds_deliver_every_event_exactly_once(
    private_nats: PrivateNats,
    smtp_sink: SmtpSink,
    subscribers: list[str],
    event_body: Callable[..., dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(smtp_sink.port), "RELAY_FETCH_BATCH": "100"}
    workers = [Worker(channel, tmp_path, **env) for channel in ("email", "in_app")]
    for worker in workers:
        worker.start()
    done = sync_to_async(lambda: Delivery.objects.filter(status="sent").count())
    kills = 0
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with stages("ingest", "route"):
        sent = await submit(event_bodies(event_body, subscribers, EVENTS, ["email", "in_app"], "kill"))
        assert len(sent) == EVENTS
        next_kill: float | None = None
        while await done() < 2 * EVENTS:
            assert loop.time() - started < 300, "not everything was delivered in time"
            await asyncio.sleep(0.5)
            if next_kill is None and all(worker.ready() for worker in workers):
                next_kill = loop.time() + random.uniform(*KILL_EVERY)
            if next_kill is not None and loop.time() >= next_kill:
                for worker in workers:
                    worker.signal(signal.SIGKILL)
                    worker.start()
                    kills += 1
                next_kill = None
    elapsed = round(loop.time() - started)
    await asyncio.sleep(4)  # longer than ack_wait: a copy redelivered after a kill would arrive now
    for worker in workers:
        worker.signal(signal.SIGTERM)

    email, inbox = count(sent, in_mailbox(smtp_sink)), count(sent, await sync_to_async(in_inbox)())
    resent = count(sent, at_smtp_sink(smtp_sink)).duplicated
    email.show("worker kills, email", capsys, kills=kills, smtp_resends=resent, seconds=elapsed)
    inbox.show("worker kills, in_app", capsys, kills=kills, seconds=elapsed)
    assert kills >= 2, "the workers must be killed mid-stream for this test to mean anything"
    assert (email.delivered, email.lost, email.duplicated) == (EVENTS, 0, 0)
    assert (inbox.delivered, inbox.lost, inbox.duplicated) == (EVENTS, 0, 0)
    # One successful attempt recorded per delivery, whatever was resent before a kill.
    ok_attempts = await sync_to_async(DeliveryAttempt.objects.filter(outcome="ok").count)()
    assert ok_attempts == 2 * EVENTS
