"""(1) Deliver workers SIGKILLed every few seconds and restarted: nothing lost, nothing twice,
and each provider's raw resends no more than the calls in flight at the kills."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings

from deliveries.models import Delivery, DeliveryAttempt
from notifications.models import Device, Subscriber
from pipeline.acceptances import RECOVERED
from tests.fakes.fcm import FcmFake
from tests.fakes.twilio import TwilioFake
from tests.fakes.webhook import WebhookReceiver
from tests.reliability.conftest import (
    EVENTS,
    SUBSCRIBERS,
    PrivateNats,
    Worker,
    at_fcm,
    at_smtp_sink,
    at_twilio,
    at_webhook,
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
# Workers run with this many provider calls in flight (SMTP connections, Twilio, FCM and webhook
# requests), and the second test with batches ten times larger: re-sending a batch on a kill
# breaks the bound, re-sending the calls in flight does not.
CONCURRENCY = 4
MIN_ROUNDS = 2  # kills that land mid-stream whatever the machine's speed (kill_until_sent)


async def kill_until_sent(
    workers: list[Worker],
    target: int,
    timeout: float,
    every: tuple[float, float] = KILL_EVERY,
    rounds: int | None = None,
) -> tuple[int, int]:
    """SIGKILL and restart every worker until ``target`` deliveries are sent; the rounds and the
    seconds. Without ``rounds``, a random ``every`` seconds after they are all up again. Either
    way the kills are also spread over the stream by progress, the k-th once k/(n + 1) of
    ``target`` is sent (n: ``rounds``, else ``MIN_ROUNDS``) and the workers are up, so at least
    n kills land mid-stream however fast the machine delivers; ``rounds`` also caps them."""
    done = sync_to_async(lambda: Delivery.objects.filter(status="sent").count())
    loop = asyncio.get_running_loop()
    spread = rounds if rounds is not None else MIN_ROUNDS
    started, killed = loop.time(), 0
    next_kill: float | None = None
    while (sent := await done()) < target:
        assert loop.time() - started < timeout, "not everything was delivered in time"
        await asyncio.sleep(0.1)
        ready = all(w.ready() for w in workers)
        due = killed < spread and ready and sent >= target * (killed + 1) / (spread + 1)
        if rounds is None:
            if next_kill is None and ready:
                next_kill = loop.time() + random.uniform(*every)
            due = due or (next_kill is not None and loop.time() >= next_kill)
        if due:
            for worker in workers:
                worker.signal(signal.SIGKILL)
                worker.start()
            killed += 1
            next_kill = None
    return killed, round(loop.time() - started)


async def test_deliver_workers_killed_every_few_seconds_deliver_every_event_exactly_once(
    private_nats: PrivateNats,
    smtp_sink: SmtpSink,
    subscribers: list[str],
    event_body: Callable[..., dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = {
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_sink.port),
        "RELAY_FETCH_BATCH": "100",
        "RELAY_EMAIL_CONNECTIONS": str(CONCURRENCY),
    }
    workers = [Worker(channel, tmp_path, **env) for channel in ("email", "in_app")]
    for worker in workers:
        worker.start()
    async with stages("ingest", "route"):
        sent = await submit(event_bodies(event_body, subscribers, EVENTS, ["email", "in_app"], "kill"))
        assert len(sent) == EVENTS
        rounds, elapsed = await kill_until_sent(workers, 2 * EVENTS, timeout=300)
    kills = rounds * len(workers)
    await asyncio.sleep(4)  # longer than ack_wait: a copy redelivered after a kill would arrive now
    for worker in workers:
        worker.signal(signal.SIGTERM)

    email, inbox = count(sent, in_mailbox(smtp_sink)), count(sent, await sync_to_async(in_inbox)())
    resent = count(sent, at_smtp_sink(smtp_sink)).duplicated
    email.show("worker kills, email", capsys, kills=kills, smtp_resends=resent, seconds=elapsed)
    inbox.show("worker kills, in_app", capsys, kills=kills, seconds=elapsed)
    assert kills >= 2, "the workers must be killed mid-stream for this test to mean anything"
    assert (email.delivered, email.lost, email.duplicated) == (EVENTS, 0, 0)
    assert resent <= kills // 2 * CONCURRENCY, "an email worker's kill re-sends at most its emails in flight"
    assert (inbox.delivered, inbox.lost, inbox.duplicated) == (EVENTS, 0, 0)
    # One successful attempt recorded per delivery, whatever was resent before a kill.
    ok_attempts = await sync_to_async(DeliveryAttempt.objects.filter(outcome="ok").count)()
    assert ok_attempts == 2 * EVENTS


BATCH = 10 * CONCURRENCY
# Each round restarts four workers, which dominates the test's time on a loaded machine.
KILL_ROUNDS = 3


@dataclass
class Sink:
    """Where a channel's provider calls land: the worker's settings for it, the event of every
    call it accepted (resends included), and the calls one worker can have in flight."""

    channel: str
    env: dict[str, str]
    received: Callable[[], list[str]]
    in_flight: int


def sinks(smtp: SmtpSink, twilio: TwilioFake, fcm: FcmFake, webhook: WebhookReceiver) -> list[Sink]:
    """A channel joins the test with one more entry here (and its fake as a fixture)."""
    return [
        Sink(
            "email",
            {
                "EMAIL_HOST": "127.0.0.1",
                "EMAIL_PORT": str(smtp.port),
                "RELAY_EMAIL_CONNECTIONS": str(CONCURRENCY),
            },
            lambda: at_smtp_sink(smtp),
            CONCURRENCY,
        ),
        Sink(
            "sms",
            {
                "TWILIO_ACCOUNT_SID": twilio.account_sid,
                "TWILIO_AUTH_TOKEN": twilio.auth_token,
                "TWILIO_FROM_NUMBER": "+15005550006",
                "TWILIO_API_BASE": twilio.base_url,
                "TWILIO_CONCURRENCY": str(CONCURRENCY),
            },
            lambda: at_twilio(twilio),
            CONCURRENCY,
        ),
        Sink(
            "push",
            {
                "FCM_CREDENTIALS": json.dumps(fcm.service_account()),
                "FCM_API_BASE": fcm.base_url,
                "FCM_CONCURRENCY": str(CONCURRENCY),
            },
            lambda: at_fcm(fcm),
            CONCURRENCY,  # times each subscriber's devices: one here
        ),
        Sink(
            "webhook",
            {
                "RELAY_WEBHOOK_SECRET": settings.RELAY_WEBHOOK_SECRET,
                "RELAY_WEBHOOK_ALLOW_PRIVATE": "1",
                "RELAY_WEBHOOK_CONCURRENCY": str(CONCURRENCY),
            },
            lambda: at_webhook(webhook),
            CONCURRENCY,
        ),
    ]


@pytest.fixture
def reachable_subscribers(transactional_db: None, webhook_receiver: WebhookReceiver) -> list[str]:
    """An email address, a phone number, one device and a webhook URL each."""
    users = [f"rel-{i}" for i in range(SUBSCRIBERS)]
    subscribers = Subscriber.objects.bulk_create(
        [
            Subscriber(
                user_id=u,
                email=f"{u}@example.com",
                phone=f"+1555{i:07d}",
                addresses={"webhook": webhook_receiver.url(f"/hooks/{u}")},
            )
            for i, u in enumerate(users)
        ]
    )
    Device.objects.bulk_create([Device(subscriber=s, token=f"token-{s.user_id}") for s in subscribers])
    return users


async def test_killed_workers_resend_at_most_the_provider_calls_in_flight(
    private_nats: PrivateNats,
    smtp_sink: SmtpSink,
    twilio_fake: TwilioFake,
    fcm_fake: FcmFake,
    webhook_receiver: WebhookReceiver,
    reachable_subscribers: list[str],
    event_body: Callable[..., dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Email, SMS, push and webhook workers SIGKILLed together and restarted ``KILL_ROUNDS``
    times, spread over the stream; every call each provider's sink accepted is counted, not
    collapsed by Message-ID or event.

    Each acceptance is recorded before the provider's connection makes its next call
    (``pipeline.acceptances``), so a kill repeats only the calls in flight when it lands, and
    raw resends stay within kills x in-flight calls of one worker:

    - email: ``RELAY_EMAIL_CONNECTIONS`` SMTP connections (4 here), one message at a time on each:
      4 per kill;
    - SMS: ``TWILIO_CONCURRENCY`` Messages POSTs at once (4 here): 4 per kill;
    - push: ``FCM_CONCURRENCY`` deliveries at once (4), each to its subscriber's one device;
    - webhook: ``RELAY_WEBHOOK_CONCURRENCY`` POSTs at once (4): 4 per kill.

    A batch is ``BATCH`` (40) messages, so a kill that re-sent its batch would break them.
    """
    total = max(EVENTS // 4, 200)
    channels = sinks(smtp_sink, twilio_fake, fcm_fake, webhook_receiver)
    workers = [Worker(s.channel, tmp_path, RELAY_FETCH_BATCH=str(BATCH), **s.env) for s in channels]
    for worker in workers:
        worker.start()
    bodies = [
        event_body(
            eventId=f"inflight-{i}",
            userId=reachable_subscribers[i % SUBSCRIBERS],
            channels=[s.channel for s in channels],
            priority="normal",
            data={"actionUrl": f"https://relay.test/e/inflight-{i}"},
        )
        for i in range(total)
    ]
    async with stages("ingest", "route"):
        sent = await submit(bodies)
        assert len(sent) == total
        rounds, elapsed = await kill_until_sent(
            workers, len(channels) * total, timeout=150, rounds=KILL_ROUNDS
        )
    await asyncio.sleep(4)  # longer than ack_wait: a copy redelivered after a kill would arrive now
    for worker in workers:
        worker.signal(signal.SIGTERM)

    recovered = Counter(
        await sync_to_async(
            lambda: list(
                DeliveryAttempt.objects.filter(error=RECOVERED).values_list("delivery__channel", flat=True)
            )
        )()
    )
    for sink in channels:
        arrived = count(sent, sink.received())
        bound = rounds * sink.in_flight
        arrived.show(
            f"worker kills, {sink.channel}",
            capsys,
            kills=rounds,
            raw_resends=arrived.duplicated,
            bound=bound,
            recovered=recovered[sink.channel],
            seconds=elapsed,
        )
        assert (arrived.delivered, arrived.lost) == (total, 0), sink.channel
        assert arrived.duplicated <= bound, f"{sink.channel}: more re-sent than was in flight"
    assert rounds >= 2, "the workers must be killed mid-stream for this test to mean anything"
    ok_attempts = await sync_to_async(DeliveryAttempt.objects.filter(outcome="ok").count)()
    assert ok_attempts == len(channels) * total
