"""A receiver down for a while and then back: every status event arrives, each once answered
2xx, in the order their retries came due (the schedule scaled to tenths of seconds)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from rest_framework.test import APIClient

from tests.conftest import wait_until
from tests.fakes.webhook import Answer, WebhookReceiver
from tests.providers.conftest import SendEvent
from tests.webhooks.conftest import create_endpoint, verified
from webhooks.models import WebhookAttempt

pytestmark = pytest.mark.django_db(transaction=True)

EVENTS = 12


async def all_logged(load: Any) -> dict[str, Any] | None:
    due = await load()
    return due if len(due) == EVENTS else None


async def test_a_receiver_back_from_an_outage_gets_everything_in_order_of_retry(
    pipeline: None,
    dispatcher: None,
    api: APIClient,
    receiver: WebhookReceiver,
    send_event: SendEvent,
    settings: Any,
) -> None:
    settings.RELAY_STATUS_WEBHOOK_ENDPOINT_CONCURRENCY = 1  # one POST at a time: arrival order is claim order
    # The schedule scaled down (doubling from half a second, about a minute in all), so an
    # outage of a few seconds on a loaded machine outlasts no message's retries.
    settings.RELAY_STATUS_WEBHOOK_RETRY_SECONDS = [0.5, 1, 2, 4, 8, 16, 32]
    receiver.script("/outage", *[Answer(503)] * 1000)  # down
    endpoint = await create_endpoint(api, receiver.url("/outage"), events=["delivery.sent"])
    for i in range(EVENTS):
        await send_event(f"wh-outage-{i % 3}", ["in_app"])
    await wait_until(lambda: len(receiver.at("/outage")) >= EVENTS * 2, timeout=60)
    await asyncio.sleep(0.5)

    back = time.monotonic()
    receiver.script("/outage")  # back up: 200 from now on

    def answered() -> list[Any]:
        after = [r for r in receiver.at("/outage") if r.at > back]
        return after if len({r.headers["webhook-id"] for r in after}) >= EVENTS else []

    after = await wait_until(answered, timeout=90)
    ids = [r.headers["webhook-id"] for r in after]
    assert len(set(ids)) == len(ids) == EVENTS  # each once, none lost
    for request in after:
        assert verified(endpoint["secret"], request)["type"] == "delivery.sent"
    load = sync_to_async(
        lambda: {
            a.message.webhook_id: a.scheduled_at
            for a in WebhookAttempt.objects.filter(status_code=200).select_related("message")
        }
    )
    # When each answered attempt was due, from the log (written once the POSTs are recorded).
    due = await wait_until(lambda: all_logged(load))
    assert [due[i] for i in ids] == sorted(due[i] for i in ids)
