"""The status webhooks worker (``consume webhooks``) SIGKILLed mid-run and started again: every
status event arrives (none lost), none under two webhook-ids, raw resends of one webhook-id
printed (at least once: the receiver dedups on the webhook-id). Signatures checked with
`standardwebhooks`."""

from __future__ import annotations

import signal
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.conftest import wait_until
from tests.fakes.webhook import WebhookReceiver
from tests.reliability.conftest import EVENTS, PrivateNats, Worker, event_bodies, stages, submit
from webhooks import services

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]

IN_FLIGHT = 64  # RELAY_STATUS_WEBHOOK_CONCURRENCY of the worker below


@pytest.fixture
def status_receiver(settings: Any) -> Iterator[WebhookReceiver]:
    settings.RELAY_WEBHOOK_ALLOW_PRIVATE = True
    receiver = WebhookReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


def arrivals(receiver: WebhookReceiver, secret: str) -> list[tuple[str, str]]:
    """(webhook-id, eventId) of every POST that arrived whole and verifies, resends included."""
    verifier = Webhook(secret)
    with receiver.lock:
        received = list(receiver.received)
    seen = []
    for request in received:
        try:
            body = verifier.verify(request.body, request.headers)
        except WebhookVerificationError:  # cut off by the kill: nothing was delivered
            continue
        seen.append((request.headers["webhook-id"], str(body["data"]["eventId"])))
    return seen


async def test_a_killed_webhooks_worker_loses_no_status_event_and_repeats_none(
    private_nats: PrivateNats,
    subscribers: list[str],
    event_body: Callable[..., dict[str, Any]],
    status_receiver: WebhookReceiver,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, secret = await sync_to_async(services.create_endpoint)(
        {"url": status_receiver.url("/status"), "events": ["delivery.sent"]}
    )
    worker = Worker(
        None,
        tmp_path,
        stage="webhooks",
        RELAY_WEBHOOK_ALLOW_PRIVATE="1",
        RELAY_STATUS_WEBHOOK_LEASE="5",
        RELAY_STATUS_WEBHOOK_POLL="0.1",
        RELAY_STATUS_WEBHOOK_CONCURRENCY=str(IN_FLIGHT),
    )
    worker.start()
    await wait_until(worker.ready, timeout=60)

    async with stages("ingest", "route", "in_app"):
        sent = await submit(event_bodies(event_body, subscribers, EVENTS, ["in_app"], "whk"))
        await wait_until(lambda: len(status_receiver.received) >= len(sent) // 3, timeout=300)
        worker.signal(signal.SIGKILL)
        at_kill = len(status_receiver.received)
        worker.start()
        await wait_until(
            lambda: len({e for _, e in arrivals(status_receiver, secret)}) >= len(sent), timeout=600
        )
    worker.signal(signal.SIGTERM)

    seen = arrivals(status_receiver, secret)
    ids_of_event: defaultdict[str, set[str]] = defaultdict(set)
    for webhook_id, event_id in seen:
        ids_of_event[event_id].add(webhook_id)
    copies = Counter(webhook_id for webhook_id, _ in seen)
    lost = set(sent) - set(ids_of_event)
    under_two_ids = [e for e, ids in ids_of_event.items() if len(ids) > 1]
    resends = sum(n - 1 for n in copies.values())
    with capsys.disabled():
        print(
            f"\n[reliability] webhooks worker kill -9: events={len(sent)} arrived={len(ids_of_event)} "
            f"lost={len(lost)} under_two_webhook_ids={len(under_two_ids)} raw_resends={resends} "
            f"(same webhook-id; at most {IN_FLIGHT} in flight) posts_before_kill={at_kill}"
        )
    assert not lost
    assert not under_two_ids
    # Raw resends (same webhook-id) are printed, not bounded here: at 2,000 events they were
    # 186, more than the POSTs in flight at the kill (README, Status webhooks; a follow-up).
