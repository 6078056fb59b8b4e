"""Relay on a 3-node JetStream cluster with R3 streams and two worker processes per stage, while
one NATS node and one worker of every stage are SIGKILLed mid-run: nothing accepted is lost,
the inbox gets each event once, email resends stay within what was in flight at the kills, and
the API never answers 500 (503 with Retry-After while JetStream cannot confirm, then retried).

``RELAY_CLUSTER_EVENTS`` sets the size: 1,000 by default (CI), 10,000 for the full run
(README, Reliability).
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from asgiref.sync import sync_to_async

from core.names import names
from core.nats_cluster import NatsCluster
from deliveries.models import Delivery
from notifications.models import ApiKey
from tests.conftest import serving, wait_until
from tests.reliability.conftest import (
    Worker,
    at_smtp_sink,
    count,
    in_inbox,
    in_mailbox,
    reap_workers,  # noqa: F401  (fixture, shared: no worker outlives its test)
    subscribers,  # noqa: F401  (fixture, shared)
)
from tests.smtp_sink import SmtpSink

pytestmark = [pytest.mark.cluster, pytest.mark.reliability, pytest.mark.django_db(transaction=True)]

EVENTS = int(os.environ.get("RELAY_CLUSTER_EVENTS", "1000"))
# SMTP connections per email worker: each can have one email in flight when its worker dies.
EMAIL_CONNECTIONS = 4
# Guards against a hang, not speed limits: generous for 10,000 events on two busy cores.
PHASE_TIMEOUT = 120 + EVENTS * 0.1
POSTERS = 8
# The stages an in-app and email event passes through, each run twice side by side.
STAGES: list[tuple[str, str | None]] = [
    ("ingest", None),
    ("route", None),
    ("deliver", "email"),
    ("deliver", "in_app"),
]
REPLICAS = 2
# The workers' ack_wait: production's 30 s, well above a leader election. A heartbeat sent while
# a consumer has no leader is lost, and the new leader redelivers ack_wait after the last one it
# saw, to the twin, while the first worker may still be sending (docs/ARCHITECTURE.md, "A NATS
# cluster"): with the suite's 3 s, 131 to 280 emails of 1,000 went out twice; with 15 s on a
# machine at a load average of 20, 27 of 1,000 once and 98 of 10,000 once.
WORKER_ACK_WAIT = 30


class Poster:
    """Clients posting events one by one; a 503 is retried after its Retry-After, as API.md asks."""

    def __init__(self, base_url: str, api_key: str, bodies: list[dict[str, Any]]) -> None:
        self.client = httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30
        )
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        for body in bodies:
            self.queue.put_nowait(body)
        self.accepted: list[str] = []
        self.statuses: Counter[int] = Counter()
        self.retry_after: set[str] = set()

    async def post_all(self) -> None:
        await asyncio.gather(*(self._poster() for _ in range(POSTERS)))
        await self.client.aclose()

    async def _poster(self) -> None:
        while not self.queue.empty():
            body = self.queue.get_nowait()
            while True:
                try:
                    response = await self.client.post("/api/events", json=body)
                except httpx.TimeoutException:
                    self.statuses[0] += 1  # no answer: the same eventId again is safe (deduplicated)
                    continue
                self.statuses[response.status_code] += 1
                if response.status_code in (200, 202):
                    self.accepted.append(body["eventId"])
                    break
                if response.status_code != 503:
                    return  # anything else is a failure the test reports
                self.retry_after.add(response.headers.get("Retry-After", ""))
                await asyncio.sleep(float(response.headers["Retry-After"]))


async def events_stream_leader(cluster: NatsCluster) -> int:
    """The node leading the events stream: killing it forces an election mid-run."""
    nc = await nats.connect(cluster.urls)
    try:
        info = await nc.jetstream().stream_info(names().events_stream)
    finally:
        await nc.close()
    assert info.cluster is not None
    return next(node.index for node in cluster.nodes if node.name == info.cluster.leader)


async def test_a_nats_node_and_one_worker_of_every_stage_killed_lose_nothing_and_never_answer_500(
    r3_streams: NatsCluster,
    smtp_sink: SmtpSink,
    subscribers: list[str],  # noqa: F811
    event_body: Callable[..., dict[str, Any]],
    tmp_path: Path,
    settings: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cluster = r3_streams
    settings.RELAY_RETRY_AFTER_SECONDS = 1  # the posters wait what the API says; keep it short
    env = {
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_sink.port),
        "RELAY_FETCH_BATCH": "100",
        "RELAY_STREAM_REPLICAS": "3",
        "RELAY_ACK_WAIT": str(WORKER_ACK_WAIT),
        "RELAY_EMAIL_CONNECTIONS": str(EMAIL_CONNECTIONS),
    }
    workers = [
        Worker(channel, tmp_path, stage=stage, replica=replica, **env)
        for stage, channel in STAGES
        for replica in range(REPLICAS)
    ]
    for worker in workers:
        worker.start()
    await wait_until(lambda: all(w.ready() for w in workers), timeout=120, interval=0.5)
    _, api_key = await sync_to_async(ApiKey.issue)("cluster")
    bodies = [
        event_body(eventId=f"cl-{i}", userId=subscribers[i % len(subscribers)], channels=["email", "in_app"])
        for i in range(EVENTS)
    ]
    sent_status = sync_to_async(lambda: Delivery.objects.filter(status="sent").count())

    async with serving("config.asgi:application") as address:
        poster = Poster(f"http://{address}", api_key, bodies)
        posting = asyncio.create_task(poster.post_all())

        # A NATS node dies while events are coming in and going out: the events stream's leader.
        await wait_until(lambda: len(poster.accepted) >= EVENTS // 5, timeout=PHASE_TIMEOUT, interval=0.1)
        node = await events_stream_leader(cluster)
        cluster.kill(node)
        killed_at = len(poster.accepted)
        await wait_until(
            lambda: len(poster.accepted) >= killed_at + EVENTS // 10, timeout=PHASE_TIMEOUT, interval=0.1
        )
        await sync_to_async(cluster.restart)(node)

        # Then one worker of every stage, restarted at once; its twin carries on meanwhile.
        await wait_until(sent_status, timeout=120, interval=0.2)  # deliveries are under way
        for worker in workers[::REPLICAS]:
            worker.signal(signal.SIGKILL)
            worker.start()
        email_kills = sum(1 for w in workers[::REPLICAS] if w.channel == "email")

        await asyncio.wait_for(posting, timeout=PHASE_TIMEOUT * 3)

    accepted = poster.accepted
    assert set(poster.statuses) <= {0, 200, 202, 503}, dict(poster.statuses)  # never a 500
    assert poster.retry_after <= {"1"}, "every 503 says when to retry"
    assert len(accepted) == EVENTS

    async def all_sent() -> bool:
        return await sent_status() >= 2 * len(accepted)

    await wait_until(all_sent, timeout=PHASE_TIMEOUT * 2, interval=0.5)
    await asyncio.sleep(WORKER_ACK_WAIT + 2)  # a redelivered copy would arrive by now
    for worker in workers:
        worker.signal(signal.SIGTERM)

    inbox = count(accepted, await sync_to_async(in_inbox)())
    mailbox = count(accepted, in_mailbox(smtp_sink))
    resends = count(accepted, at_smtp_sink(smtp_sink)).duplicated
    statuses = dict(sorted(poster.statuses.items()))
    inbox.show("cluster, in_app", capsys, node_kills=1, worker_kills=len(STAGES), api=statuses)
    mailbox.show(
        "cluster, email",
        capsys,
        smtp_resends=resends,
        bound=email_kills * EMAIL_CONNECTIONS,
        api=statuses,
    )

    assert (inbox.delivered, inbox.lost, inbox.duplicated) == (EVENTS, 0, 0)
    assert (mailbox.delivered, mailbox.lost, mailbox.duplicated) == (EVENTS, 0, 0)
    # One email in flight per SMTP connection of a killed email worker (acceptances recorded
    # before that connection's next send: pipeline/acceptances.py). A node's death re-sends
    # nothing while its elections end within WORKER_ACK_WAIT (docs/ARCHITECTURE.md, "A NATS cluster").
    assert resends <= email_kills * EMAIL_CONNECTIONS
