"""One event from the REST API through JetStream to an SMTP server and a live WebSocket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import websockets
from asgiref.sync import sync_to_async

from deliveries.models import Delivery
from notifications.models import ApiKey, Subscriber
from notifications.subscriber_tokens import mint_subscriber_token
from realtime.models import InboxMessage
from tests.conftest import wait_until
from tests.smtp_sink import SmtpSink

pytestmark = [pytest.mark.django_db(transaction=True)]

EventBody = Callable[..., dict[str, Any]]


@sync_to_async
def make_subscriber(user_id: str, **fields: Any) -> Subscriber:
    return Subscriber.objects.create(user_id=user_id, **fields)


@sync_to_async
def new_key() -> str:
    return ApiKey.issue("e2e")[1]


@sync_to_async
def deliveries_of(event_id: str) -> dict[str, Delivery]:
    return {d.channel: d for d in Delivery.objects.filter(notification__event__event_id=event_id)}


async def test_event_reaches_smtp_server_and_websocket(
    pipeline: None, asgi_server: str, smtp_sink: SmtpSink, event_body: EventBody
) -> None:
    subscriber = await make_subscriber("e2e-user", email="e2e@example.com")
    token = await sync_to_async(mint_subscriber_token)(subscriber)
    key = await new_key()
    body = event_body(
        userId="e2e-user", channels=["email", "in_app"], data={"title": "Hello", "body": "World"}
    )

    async with websockets.connect(f"ws://{asgi_server}/ws/inbox/?token={token}") as socket:
        hello = json.loads(await asyncio.wait_for(socket.recv(), 5))
        assert hello["type"] == "hello"
        assert hello["unreadCount"] == 0

        async with httpx.AsyncClient(base_url=f"http://{asgi_server}") as http:
            response = await http.post("/api/events", json=body, headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 202, response.text

        pushed = json.loads(await asyncio.wait_for(socket.recv(), 20))
        assert pushed["type"] == "notification"
        assert pushed["message"]["title"] == "Hello"
        assert pushed["message"]["body"] == "World"
        assert pushed["unreadCount"] == 1

    await wait_until(lambda: len(smtp_sink.messages) == 1)
    email = smtp_sink.messages[0]
    assert email["To"] == "e2e@example.com"
    assert email["Subject"] == "Hello"
    assert email["X-Relay-Event-Id"] == body["eventId"]

    deliveries = await wait_until(lambda: _all_sent(body["eventId"]), timeout=10)
    assert deliveries["email"].provider == "smtp"
    assert deliveries["in_app"].provider == "inbox"

    async with httpx.AsyncClient(base_url=f"http://{asgi_server}") as http:
        detail = (
            await http.get(f"/api/events/{body['eventId']}", headers={"Authorization": f"Bearer {key}"})
        ).json()
    statuses = {d["channel"]: d["status"] for d in detail["notifications"][0]["deliveries"]}
    assert statuses == {"email": "sent", "in_app": "sent"}


async def _all_sent(event_id: str) -> dict[str, Delivery] | None:
    deliveries = await deliveries_of(event_id)
    if deliveries and all(d.status == "sent" for d in deliveries.values()):
        return deliveries
    return None


async def test_duplicate_event_id_delivers_once(
    pipeline: None, smtp_sink: SmtpSink, event_body: EventBody, api: Any
) -> None:
    await make_subscriber("dup-user", email="dup@example.com")
    body = event_body(userId="dup-user", channels=["email", "in_app"])
    post = sync_to_async(lambda: api.post("/api/events", body, format="json").status_code)
    assert await post() == 202
    await wait_until(lambda: len(smtp_sink.messages) == 1)
    assert await post() == 200
    assert await post() == 200
    await asyncio.sleep(1.5)  # give a wrongly re-routed copy time to arrive before counting
    assert len(smtp_sink.messages) == 1
    assert await sync_to_async(InboxMessage.objects.filter(subscriber__user_id="dup-user").count)() == 1


async def test_unconfigured_channel_fails_with_a_reason_and_missing_address_is_suppressed(
    pipeline: None, event_body: EventBody, api: Any, settings: Any
) -> None:
    settings.RELAY_PROVIDERS = {**settings.RELAY_PROVIDERS, "sms": [], "email": ["smtp"]}
    await make_subscriber("no-sms", email="")
    body = event_body(userId="no-sms", channels=["sms", "email", "in_app"])
    assert await sync_to_async(lambda: api.post("/api/events", body, format="json").status_code)() == 202
    deliveries = await wait_until(lambda: _settled(body["eventId"], 3))
    assert (deliveries["sms"].status, deliveries["sms"].reason) == ("failed", "provider_not_configured")
    assert (deliveries["email"].status, deliveries["email"].reason) == ("suppressed", "no_address")
    assert deliveries["in_app"].status == "sent"


async def _settled(event_id: str, count: int) -> dict[str, Delivery] | None:
    deliveries = await deliveries_of(event_id)
    if len(deliveries) == count and all(d.status != "pending" for d in deliveries.values()):
        return deliveries
    return None


async def test_unknown_user_id_creates_the_subscriber(
    pipeline: None, event_body: EventBody, api: Any
) -> None:
    body = event_body(userId="brand-new-user", channels=["in_app"])
    assert await sync_to_async(lambda: api.post("/api/events", body, format="json").status_code)() == 202
    await wait_until(lambda: _settled(body["eventId"], 1))
    assert await sync_to_async(Subscriber.objects.filter(user_id="brand-new-user").exists)()
