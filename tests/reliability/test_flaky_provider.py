"""(3) The provider fails half of all calls at random: every delivery gets through within its
attempts, each attempt is on record, and the circuit breaker opens and closes on the way."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from deliveries.models import Delivery, DeliveryAttempt
from pipeline import breaker
from tests.reliability.conftest import (
    EVENTS,
    PrivateNats,
    at_smtp_sink,
    count,
    event_bodies,
    stages,
    submit,
    wait_for_status,
)
from tests.smtp_sink import SmtpSink

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]


async def _watch_breaker(seen: list[str]) -> None:
    while True:
        state = (await asyncio.to_thread(breaker.states))["smtp"]["state"]
        if not seen or seen[-1] != state:
            seen.append(state)
        await asyncio.sleep(0.02)


async def test_provider_failing_half_the_calls_delivers_everything_and_trips_the_breaker(
    private_nats: PrivateNats,
    fast_retries: None,
    smtp_sink: SmtpSink,
    subscribers: list[str],
    event_body: Callable[..., dict[str, Any]],
    settings: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # 25 attempts at 50 % leave a delivery failed with odds of 3e-8: "within the attempts".
    settings.RELAY_MAX_ATTEMPTS = {**settings.RELAY_MAX_ATTEMPTS, "email": 25}
    smtp_sink.fail_ratio = 0.5
    total = max(EVENTS // 5, 100)
    seen: list[str] = []
    watcher = asyncio.create_task(_watch_breaker(seen))
    try:
        async with stages("ingest", "route", "email"):
            sent = await submit(event_bodies(event_body, subscribers, total, ["email"], "flaky"))
            await wait_for_status("email", "sent", total, timeout=120)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher

    email = count(sent, at_smtp_sink(smtp_sink))
    attempts = await sync_to_async(DeliveryAttempt.objects.count)()
    opened = (await asyncio.to_thread(breaker.states))["smtp"]["timesOpened"]
    email.show("flaky provider", capsys, smtp_calls=smtp_sink.transactions, attempts=attempts, opened=opened)
    assert (email.delivered, email.lost, email.duplicated) == (total, 0, 0)
    assert attempts == smtp_sink.transactions, "every provider call is a DeliveryAttempt row"
    assert not await sync_to_async(Delivery.objects.exclude(status="sent").exists)()
    assert opened >= 1
    assert "open" in seen and "closed" in seen[seen.index("open") :], seen
