"""Fault-injection harness: a private nats-server from the wheel (so killing or restarting it
touches no one else), the pipeline stages in this process or as killable worker processes,
events submitted through the real service, and the counts each test prints.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import nats
import pytest
from asgiref.sync import sync_to_async

from core import publisher
from core.embedded_nats import free_port, start_nats_server
from core.names import names
from deliveries.models import Delivery
from notifications.models import Subscriber
from notifications.services import accept_events
from pipeline import jetstream
from pipeline.runner import run_stage, stage_spec
from realtime.models import InboxMessage
from tests.conftest import ROOT, subprocess_env, wait_until
from tests.fakes.fcm import FcmFake
from tests.fakes.twilio import TwilioFake
from tests.fakes.webhook import WebhookReceiver
from tests.providers.conftest import fcm_fake, twilio_fake  # noqa: F401  (fixtures, shared)
from tests.smtp_sink import SmtpSink

# 10,000 takes several minutes on two shared cores; CI runs a smaller count (README, Reliability).
EVENTS = int(os.environ.get("RELAY_RELIABILITY_EVENTS", "2000"))
SUBSCRIBERS = 50


class PrivateNats:
    """nats-server with JetStream file storage on a free port, killable and restartable."""

    def __init__(self, store: Path) -> None:
        self.port = free_port()
        self.store = store
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = start_nats_server(self.port, self.store)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def private_nats(tmp_path: Path, settings: Any, transactional_db: None) -> Iterator[PrivateNats]:
    server = PrivateNats(tmp_path / "nats")
    server.start()
    settings.NATS_URL = server.url

    async def setup() -> None:
        nc = await nats.connect(server.url)
        await jetstream.setup_streams(nc.jetstream())
        await nc.close()

    asyncio.run(setup())
    yield server
    _close_publisher(server.url)
    server.stop()


def _close_publisher(url: str) -> None:
    """The API's publisher would otherwise keep reconnecting to the stopped server."""
    if publisher._publisher is not None and publisher._publisher.url == url:
        publisher._publisher.close()
        publisher._publisher = None


@pytest.fixture
def fast_retries(settings: Any) -> None:
    """Retries and breaker cool-downs in tenths of seconds instead of seconds."""
    settings.RELAY_BACKOFF_SECONDS = [0.05, 0.1, 0.2, 0.4]
    settings.RELAY_BREAKER_COOLDOWN = 0.5


@contextlib.asynccontextmanager
async def stages(*labels: str) -> AsyncIterator[None]:
    """Run stages ("ingest", "route", "email", "in_app", ...) in this event loop meanwhile."""
    stop = asyncio.Event()
    specs = [
        stage_spec(label, names()) if label in ("ingest", "route") else stage_spec("deliver", names(), label)
        for label in labels
    ]
    tasks = [asyncio.create_task(run_stage(spec, stop, batch_size=200)) for spec in specs]
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=30)


class Worker:
    """``manage.py consume deliver --channel X`` (or ``consume <stage>`` for a channel of None) as a
    child process that tests may SIGKILL; ``replica`` tells side-by-side copies' logs apart.
    Every process started is killed at the end of its test (``reap_workers``), passed or failed:
    one left behind would keep consuming (and owning partitions) in later tests."""

    started: ClassVar[list[subprocess.Popen[bytes]]] = []

    def __init__(
        self, channel: str | None, log_dir: Path, stage: str = "deliver", replica: int = 0, **env: str
    ) -> None:
        self.channel, self.env, self.log_dir = channel, env, log_dir
        self.args = [stage, "--channel", channel] if channel else [stage]
        self.name = "-".join(self.args[::2]) + (f"-r{replica}" if replica else "")
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def log_file(self) -> Path:
        return self.log_dir / f"{self.name}-{self.starts}.log"

    def start(self) -> None:
        self.starts += 1
        log = open(self.log_file, "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "consume", *self.args],
            env=subprocess_env(**self.env),
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        Worker.started.append(self.process)
        log.close()

    def ready(self) -> bool:
        """Consuming: a kill now lands mid-stream, not during start-up on a loaded machine."""
        return b'"stage_started"' in self.log_file.read_bytes()

    def signal(self, sig: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(sig)
        self.process.wait(timeout=30)


@pytest.fixture(autouse=True)
def reap_workers() -> Iterator[None]:
    yield
    while Worker.started:
        process = Worker.started.pop()
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


@pytest.fixture
def subscribers(transactional_db: None) -> list[str]:
    users = [f"rel-{i}" for i in range(SUBSCRIBERS)]
    Subscriber.objects.bulk_create([Subscriber(user_id=u, email=f"{u}@example.com") for u in users])
    return users


def event_bodies(
    event_body: Callable[..., dict[str, Any]], users: list[str], count: int, channels: list[str], prefix: str
) -> list[dict[str, Any]]:
    return [
        event_body(
            eventId=f"{prefix}-{i}", userId=users[i % len(users)], channels=channels, priority="normal"
        )
        for i in range(count)
    ]


async def submit(bodies: list[dict[str, Any]]) -> list[str]:
    """Accept events through the service the API uses; return the ids it has stored (a
    "duplicate" answers a retry of an event whose first, unconfirmed publish did arrive)."""
    accepted = []
    for start in range(0, len(bodies), 500):
        results = await sync_to_async(accept_events)(bodies[start : start + 500])
        accepted += [r.event_id for r in results if r.outcome in ("accepted", "duplicate")]
    return accepted


@dataclass
class Counts:
    sent: int
    delivered: int
    duplicated: int
    lost: int

    def show(self, name: str, capsys: pytest.CaptureFixture[str], **extra: Any) -> None:
        details = "".join(f" {k}={v}" for k, v in extra.items())
        with capsys.disabled():
            print(
                f"\n[reliability] {name}: sent={self.sent} delivered={self.delivered} "
                f"duplicated={self.duplicated} lost={self.lost}{details}"
            )


def count(sent: list[str], received: list[str]) -> Counts:
    """Compare the event ids sent with the event id of every copy that arrived."""
    copies = Counter(received)
    return Counts(
        sent=len(sent),
        delivered=len(set(sent) & set(copies)),
        duplicated=sum(n - 1 for n in copies.values()),
        lost=len(set(sent) - set(copies)),
    )


def at_smtp_sink(sink: SmtpSink) -> list[str]:
    """The event of every message the SMTP server accepted, resends included."""
    with sink.lock:
        return [str(message["X-Relay-Event-Id"]) for message in sink.messages]


def in_mailbox(sink: SmtpSink) -> list[str]:
    """What recipients see: copies with one Message-ID collapse into one, as mailboxes do."""
    with sink.lock:
        by_id = {str(message["Message-ID"]): str(message["X-Relay-Event-Id"]) for message in sink.messages}
    return list(by_id.values())


def at_twilio(fake: TwilioFake) -> list[str]:
    """The event of every SMS the Twilio fake accepted, resends included (the event's
    ``actionUrl``, ``.../e/<eventId>``, ends the text)."""
    with fake.lock:
        return [m["Body"].rpartition("/e/")[2] for m in fake.messages]


def at_fcm(fake: FcmFake) -> list[str]:
    """The event of every push the FCM fake accepted, resends included."""
    with fake.lock:
        return [str(m["data"]["eventId"]) for m in fake.sent]


@pytest.fixture
def webhook_receiver(settings: Any) -> Iterator[WebhookReceiver]:
    """A local receiver; the webhook channel is configured (by its secret) and may post to it."""
    settings.RELAY_WEBHOOK_SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    settings.RELAY_WEBHOOK_ALLOW_PRIVATE = True
    receiver = WebhookReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


def at_webhook(receiver: WebhookReceiver) -> list[str]:
    """The event of every webhook POST the receiver took whole, resends included."""
    events = []
    with receiver.lock:
        bodies = [r.body for r in receiver.received]
    for body in bodies:
        try:
            events.append(str(json.loads(body)["data"]["eventId"]))
        except ValueError:  # cut off by a worker killed mid-request: nothing was delivered
            continue
    return events


def in_inbox() -> list[str]:
    return list(InboxMessage.objects.values_list("delivery__notification__event__event_id", flat=True))


async def wait_for_status(channel: str, status: str, expected: int, timeout: float) -> None:
    counted = sync_to_async(lambda: Delivery.objects.filter(channel=channel, status=status).count())

    async def reached() -> bool:
        return await counted() >= expected

    await wait_until(reached, timeout=timeout, interval=0.5)
