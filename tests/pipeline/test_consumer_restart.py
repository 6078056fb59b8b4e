"""A deliver consumer stopped or killed mid-batch and restarted delivers each message once."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from core.names import names
from deliveries.models import Delivery, DeliveryAttempt
from notifications.models import Subscriber
from notifications.services import accept_events
from pipeline.acceptances import RECOVERED
from pipeline.runner import run_stage, stage_spec
from realtime.models import InboxMessage
from tests.conftest import purge_streams, start_manage, wait_until
from tests.smtp_sink import SmtpSink

pytestmark = [pytest.mark.django_db(transaction=True)]

EVENTS = 300


async def _route_events(event_body: Callable[..., dict[str, Any]], user_id: str, channel: str) -> None:
    """Accept EVENTS events and run ingest + route until every delivery waits to be sent."""
    await purge_streams()  # what earlier tests left in the shared streams is not this test's
    await sync_to_async(Subscriber.objects.create)(user_id=user_id, email=f"{user_id}@example.com")
    bodies = [event_body(userId=user_id, channels=[channel], priority="normal") for _ in range(EVENTS)]
    results = await sync_to_async(accept_events)(bodies)
    assert {r.outcome for r in results} == {"accepted"}
    stop = asyncio.Event()
    tasks = [asyncio.create_task(run_stage(stage_spec(s, names()), stop)) for s in ("ingest", "route")]
    count = sync_to_async(Delivery.objects.filter(channel=channel, status="pending").count)
    await wait_until(lambda: _equals(count, EVENTS), timeout=30)
    stop.set()
    await asyncio.gather(*tasks)


async def _equals(count: Callable[[], Any], expected: int) -> bool:
    return await count() == expected


def _stop(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    process.send_signal(sig)
    process.wait(timeout=20)


async def test_in_app_worker_killed_mid_batch_delivers_each_message_exactly_once(
    streams: None, event_body: Callable[..., dict[str, Any]]
) -> None:
    await _route_events(event_body, "killed-worker", "in_app")
    inbox = sync_to_async(InboxMessage.objects.filter(subscriber__user_id="killed-worker").count)

    # Small batches and a close watch: a fast worker must still be killed long before the end.
    worker = start_manage("consume", "deliver", "--channel", "in_app", RELAY_FETCH_BATCH="5")
    try:
        await wait_until(lambda: _at_least(inbox, 20), timeout=60, interval=0.01)
    finally:
        _stop(worker, signal.SIGKILL)
    assert await inbox() < EVENTS, "the worker must die before finishing for this test to mean anything"

    worker = start_manage("consume", "deliver", "--channel", "in_app", RELAY_FETCH_BATCH="20")
    try:
        sent = sync_to_async(Delivery.objects.filter(channel="in_app", status="sent").count)
        await wait_until(lambda: _equals(sent, EVENTS), timeout=60)
    finally:
        _stop(worker, signal.SIGTERM)
    assert await inbox() == EVENTS
    rows_per_delivery = await sync_to_async(
        lambda: set(
            InboxMessage.objects.filter(subscriber__user_id="killed-worker").values_list(
                "delivery_id", flat=True
            )
        )
    )()
    assert len(rows_per_delivery) == EVENTS


async def test_email_worker_stopped_mid_batch_sends_each_email_exactly_once(
    streams: None, event_body: Callable[..., dict[str, Any]], smtp_sink: SmtpSink
) -> None:
    await _route_events(event_body, "stopped-worker", "email")
    env = {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(smtp_sink.port), "RELAY_FETCH_BATCH": "20"}

    def received() -> int:
        return len(smtp_sink.messages)

    worker = start_manage("consume", "deliver", "--channel", "email", **env)
    try:
        await wait_until(lambda: received() >= 50, timeout=60)
    finally:
        _stop(worker, signal.SIGTERM)
    assert received() < EVENTS, "the worker must stop before finishing for this test to mean anything"

    worker = start_manage("consume", "deliver", "--channel", "email", **env)
    try:
        await wait_until(lambda: received() >= EVENTS, timeout=60)
        await asyncio.sleep(4)  # longer than ack_wait: a redelivered copy would arrive now
    finally:
        _stop(worker, signal.SIGTERM)
    per_delivery = smtp_sink.by_header("X-Relay-Delivery-Id")
    assert len(per_delivery) == EVENTS
    assert {len(copies) for copies in per_delivery.values()} == {1}
    sent = await sync_to_async(Delivery.objects.filter(channel="email", status="sent").count)()
    assert sent == EVENTS


async def _at_least(count: Callable[[], Any], expected: int) -> bool:
    return await count() >= expected


# The workers' acceptance records: in Redis, or on the delivery rows when REDIS_URL is unset.
LEDGERS = pytest.mark.parametrize("ledger_env", [{}, {"REDIS_URL": ""}], ids=["redis", "database"])


@LEDGERS
async def test_email_worker_killed_mid_batch_resends_only_the_emails_in_flight(
    streams: None, event_body: Callable[..., dict[str, Any]], smtp_sink: SmtpSink, ledger_env: dict[str, str]
) -> None:
    """Killed at the 30th email, mid-way through its second batch of 20 (over two SMTP
    connections): the ten emails of that batch the server had accepted are recorded, so the
    next worker settles them as sent without a second SMTP transaction; only the one in
    flight on each connection at the kill may go again."""
    await _route_events(event_body, "killed-email-worker", "email")
    env = {
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_sink.port),
        "RELAY_FETCH_BATCH": "20",
        "RELAY_EMAIL_CONNECTIONS": "2",
        **ledger_env,
    }
    smtp_sink.delay = 0.1  # a batch of 20 takes a second: the kill lands inside one

    worker = start_manage("consume", "deliver", "--channel", "email", **env)
    try:
        await wait_until(lambda: len(smtp_sink.messages) >= 30, timeout=60, interval=0.005)
    finally:
        _stop(worker, signal.SIGKILL)
    smtp_sink.delay = 0.0

    worker = start_manage("consume", "deliver", "--channel", "email", **env)
    try:
        sent = sync_to_async(Delivery.objects.filter(channel="email", status="sent").count)
        await wait_until(lambda: _equals(sent, EVENTS), timeout=60)
        await asyncio.sleep(4)  # longer than ack_wait: a redelivered copy would arrive now
    finally:
        _stop(worker, signal.SIGTERM)
    copies = smtp_sink.by_header("X-Relay-Delivery-Id")
    assert len(copies) == EVENTS
    assert sum(len(c) - 1 for c in copies.values()) <= 2  # raw resends: one in flight per connection
    attempts = DeliveryAttempt.objects.filter(delivery__channel="email", outcome="ok")
    assert await attempts.acount() == EVENTS
    recovered = await attempts.filter(error=RECOVERED).acount()
    assert recovered >= 1, "the kill must land after some of its batch was accepted"
