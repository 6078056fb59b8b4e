"""Status events from the real pipeline to a local receiver: what arrives, signed how, retried
when, disabled when; the log and replay. Verification is the `standardwebhooks` package's."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from asgiref.sync import sync_to_async
from django.utils import timezone
from rest_framework.test import APIClient
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from deliveries.models import Delivery
from pipeline.scheduler import run_scheduler
from realtime.models import InboxMessage
from tests.conftest import wait_until
from tests.fakes.webhook import Answer, WebhookReceiver
from tests.providers.conftest import SendEvent, delivery_of
from tests.realtime.helpers import client_with, token_for
from tests.webhooks.conftest import create_endpoint, disabled_endpoint, logged, verified
from webhooks.models import StatusEvent, WebhookEndpoint, WebhookMessage

pytestmark = pytest.mark.django_db(transaction=True)


async def arrived(receiver: WebhookReceiver, path: str, count: int, timeout: float = 20) -> list[Any]:
    return await wait_until(lambda: receiver.at(path) if len(receiver.at(path)) >= count else None, timeout)


async def failing(load: Any) -> WebhookEndpoint | None:
    endpoint = await load()
    return endpoint if endpoint.failing_since is not None else None


async def attempted(api: APIClient, endpoint_id: int) -> list[dict[str, Any]]:
    messages = await logged(api, endpoint_id)
    return messages if messages and messages[0]["attemptLog"] else []


async def test_a_delivery_status_arrives_signed_with_the_documented_payload(
    pipeline: None, dispatcher: None, api: APIClient, receiver: WebhookReceiver, send_event: SendEvent
) -> None:
    endpoint = await create_endpoint(api, receiver.url("/status"), events=["delivery.sent"])

    event_id = await send_event("wh-user", ["in_app"])

    (request,) = await arrived(receiver, "/status", 1)
    delivery = await delivery_of(event_id, "in_app")
    body = verified(endpoint["secret"], request)
    assert body["type"] == "delivery.sent" and body["timestamp"]
    assert body["data"] == {
        "deliveryId": delivery.pk,
        "eventId": event_id,
        "userId": "wh-user",
        "channel": "in_app",
        "status": "sent",
        "reason": "",
    }
    assert request.headers["webhook-id"].startswith("msg_")
    # The 200 is recorded after the receiver answered it: wait for the record.
    (message,) = await wait_until(lambda: logged(api, endpoint["id"], "?status=delivered"))
    assert (message["status"], message["webhookId"], message["type"]) == (
        "delivered",
        request.headers["webhook-id"],
        "delivery.sent",
    )
    assert [a["statusCode"] for a in message["attemptLog"]] == [200]


async def test_an_inbox_read_is_a_status_event_too(
    pipeline: None, dispatcher: None, api: APIClient, receiver: WebhookReceiver, send_event: SendEvent
) -> None:
    endpoint = await create_endpoint(api, receiver.url("/inbox"), events=["message.read", "message.seen"])
    event_id = await send_event("wh-reader", ["in_app"])
    await delivery_of(event_id, "in_app")
    message = await sync_to_async(InboxMessage.objects.get)(delivery__notification__event__event_id=event_id)
    reader = client_with(await sync_to_async(token_for)("wh-reader"))

    response = await sync_to_async(reader.post)(f"/api/inbox/{message.pk}/read")

    assert response.status_code == 200, response.content
    (request,) = await arrived(receiver, "/inbox", 1)
    body = verified(endpoint["secret"], request)
    assert body["type"] == "message.read"
    assert body["data"]["messageId"] == message.pk and body["data"]["userId"] == "wh-reader"
    assert body["data"]["eventId"] == event_id


async def test_with_no_endpoint_nothing_is_written(
    pipeline: None, api: APIClient, send_event: SendEvent
) -> None:
    await delivery_of(await send_event("wh-none", ["in_app"]), "in_app")

    assert await sync_to_async(StatusEvent.objects.count)() == 0


async def test_an_endpoint_gets_only_the_types_it_subscribes_to(
    pipeline: None, dispatcher: None, api: APIClient, receiver: WebhookReceiver, send_event: SendEvent
) -> None:
    await create_endpoint(api, receiver.url("/failed-only"), events=["delivery.failed"])
    everything = await create_endpoint(api, receiver.url("/all"))

    await delivery_of(await send_event("wh-types", ["in_app"]), "in_app")

    (request,) = await arrived(receiver, "/all", 1)
    assert verified(everything["secret"], request)["type"] == "delivery.sent"
    await asyncio.sleep(0.5)
    assert receiver.at("/failed-only") == []


async def test_failures_retry_on_the_schedule_with_the_same_webhook_id(
    pipeline: None,
    dispatcher: None,
    api: APIClient,
    receiver: WebhookReceiver,
    send_event: SendEvent,
    fast_schedule: list[float],
) -> None:
    receiver.script("/flaky", Answer(500), Answer(503), Answer(429))
    endpoint = await create_endpoint(api, receiver.url("/flaky"), events=["delivery.sent"])

    await send_event("wh-flaky", ["in_app"])

    requests = await arrived(receiver, "/flaky", 4)
    assert len({r.headers["webhook-id"] for r in requests}) == 1
    for request in requests:
        verified(endpoint["secret"], request)
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(requests)]
    # Each retry waits its step of the schedule, less at most the jitter (10 %).
    assert all(gap >= step * 0.9 for gap, step in zip(gaps, fast_schedule, strict=False)), gaps
    # The 200 is recorded after the receiver answered it: wait for the record.
    (message,) = await wait_until(lambda: logged(api, endpoint["id"], "?status=delivered"))
    assert [a["statusCode"] for a in message["attemptLog"]] == [500, 503, 429, 200]
    assert message["attempts"] == 4


async def test_the_last_retry_failing_fails_the_message_and_replay_sends_it_again(
    pipeline: None,
    dispatcher: None,
    api: APIClient,
    receiver: WebhookReceiver,
    send_event: SendEvent,
    settings: Any,
) -> None:
    settings.RELAY_STATUS_WEBHOOK_RETRY_SECONDS = [0.05, 0.05]
    receiver.script("/down", Answer(500), Answer(500), Answer(500))
    endpoint = await create_endpoint(api, receiver.url("/down"), events=["delivery.sent"])
    await send_event("wh-down", ["in_app"])
    await arrived(receiver, "/down", 3)
    (message,) = await wait_until(lambda: logged(api, endpoint["id"], "?status=failed"))

    replayed = await sync_to_async(api.post)(
        f"/api/webhook-endpoints/{endpoint['id']}/messages/{message['id']}/replay"
    )

    assert replayed.status_code == 202
    requests = await arrived(receiver, "/down", 4)
    assert {r.headers["webhook-id"] for r in requests} == {message["webhookId"]}
    done = await wait_until(lambda: logged(api, endpoint["id"], "?status=delivered"))
    assert len(done) == 1


async def test_a_410_disables_the_endpoint_at_once_with_the_reason(
    pipeline: None, dispatcher: None, api: APIClient, receiver: WebhookReceiver, send_event: SendEvent
) -> None:
    receiver.script("/gone", Answer(410))
    endpoint = await create_endpoint(api, receiver.url("/gone"), events=["delivery.sent"])

    await send_event("wh-gone", ["in_app"])

    await arrived(receiver, "/gone", 1)
    disabled = await wait_until(lambda: disabled_endpoint(api, endpoint["id"]))
    assert "410" in disabled["disabledReason"]
    await send_event("wh-gone", ["in_app"])
    await asyncio.sleep(0.5)
    assert len(receiver.at("/gone")) == 1


async def test_an_endpoint_failing_for_five_days_is_disabled(
    pipeline: None, dispatcher: None, api: APIClient, receiver: WebhookReceiver, send_event: SendEvent
) -> None:
    receiver.script("/dead", *[Answer(500)] * 20)
    endpoint = await create_endpoint(api, receiver.url("/dead"), events=["delivery.sent"])
    await send_event("wh-dead", ["in_app"])
    await arrived(receiver, "/dead", 1)
    load = sync_to_async(lambda: WebhookEndpoint.objects.get(pk=endpoint["id"]))
    row = await wait_until(lambda: failing(load))
    assert row.enabled  # failing, but not for long

    # Five days of failures later (the clock moves, not the test), the next failure disables it.
    with time_machine.travel(timezone.now() + timedelta(days=5, minutes=1), tick=True):
        await send_event("wh-dead", ["in_app"])
        disabled = await wait_until(lambda: disabled_endpoint(api, endpoint["id"]))

    assert "5 days" in disabled["disabledReason"]


async def test_during_a_rotation_both_secrets_verify_and_after_24_hours_only_the_new(
    pipeline: None, dispatcher: None, api: APIClient, receiver: WebhookReceiver, send_event: SendEvent
) -> None:
    endpoint = await create_endpoint(api, receiver.url("/rotating"), events=["delivery.sent"])
    old = endpoint["secret"]
    new = (await sync_to_async(api.post)(f"/api/webhook-endpoints/{endpoint['id']}/rotate-secret")).json()[
        "secret"
    ]

    await send_event("wh-rotate", ["in_app"])
    (during,) = await arrived(receiver, "/rotating", 1)
    assert len(during.headers["webhook-signature"].split()) == 2
    assert verified(old, during) == verified(new, during)

    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=1), tick=True):
        await send_event("wh-rotate", ["in_app"])
        _, after = await arrived(receiver, "/rotating", 2)
        assert len(after.headers["webhook-signature"].split()) == 1
        verified(new, after)
        with pytest.raises(WebhookVerificationError):
            Webhook(old).verify(after.body, after.headers)


async def test_a_target_that_became_private_is_refused_at_send_time(
    pipeline: None,
    dispatcher: None,
    api: APIClient,
    receiver: WebhookReceiver,
    send_event: SendEvent,
    settings: Any,
) -> None:
    endpoint = await create_endpoint(api, receiver.url("/private"), events=["delivery.sent"])
    settings.RELAY_WEBHOOK_ALLOW_PRIVATE = False  # the guard is on again: loopback is refused

    await send_event("wh-ssrf", ["in_app"])

    (message,) = await wait_until(lambda: attempted(api, endpoint["id"]))
    assert "SSRF" in message["attemptLog"][0]["error"]
    assert message["attemptLog"][0]["statusCode"] is None
    assert receiver.at("/private") == []


async def test_a_status_event_left_unpublished_by_a_crash_is_published_by_the_scheduler(
    pipeline: None,
    dispatcher: None,
    api: APIClient,
    receiver: WebhookReceiver,
    send_event: SendEvent,
    settings: Any,
) -> None:
    settings.RELAY_STATUS_REPUBLISH_AFTER = 0.5
    endpoint = await create_endpoint(api, receiver.url("/sweep"), events=["delivery.sent"])
    delivery = await delivery_of(await send_event("wh-sweep", ["in_app"]), "in_app")
    await arrived(receiver, "/sweep", 1)
    # What a crash between the commit and the publish leaves: a row JetStream never saw.
    stranded = await sync_to_async(StatusEvent.objects.create)(
        type="delivery.sent",
        data={"deliveryId": delivery.pk, "status": "sent"},
        occurred_at=timezone.now() - timedelta(seconds=1),
    )
    stop = asyncio.Event()
    scheduler = asyncio.create_task(run_scheduler(stop, interval=0.1))
    try:
        _, request = await arrived(receiver, "/sweep", 2)
    finally:
        stop.set()
        await asyncio.wait_for(scheduler, timeout=10)

    assert request.headers["webhook-id"] == f"msg_{stranded.pk}_{endpoint['id']}"
    assert (await sync_to_async(StatusEvent.objects.get)(pk=stranded.pk)).published
    assert await sync_to_async(WebhookMessage.objects.filter(status_event=stranded).count)() == 1
    assert await sync_to_async(Delivery.objects.count)() == 1
